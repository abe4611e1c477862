/**
 * Fencing: when BullMQ's lock on a job is lost (Redis away longer than lockDuration), a second
 * run of the same request starts while the first is still inside a step. The first must stop
 * before its next action and write nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { executeRequest, type EngineAccess } from '../../src/jobs/execute.js';
import { RedisRequestStore } from '../../src/jobs/requests.js';
import type { EngineDeps } from '../../src/upgrade/planner/service.js';
import { DEFAULT_PLAN_SETTINGS } from '../../src/upgrade/plan.js';
import type { Ports } from '../../src/upgrade/ports.js';
import { deriveState, type Actor } from '../../src/upgrade/requests.js';
import type { Step } from '../../src/upgrade/steps.js';
import type { HelmUpgradeArgs } from '../../src/upgrade/ports.js';
import { systemClock } from '../../src/cluster/clock.js';
import { releaseState, tooling } from '../unit/helpers.js';
import { FakeClock, FakeCluster, FakeHelm, FakeSessions } from '../unit/fakes.js';
import { fakePlan } from './plans.js';
import { testRedis } from './redis.js';
import { sealApproved, testSealer } from '../fixtures/test-sealer.js';

const alice: Actor = { id: 'U0ALICE', via: 'slack' };
const bob: Actor = { id: 'U0BOB', via: 'slack' };

/** A helm whose repo updates wait for a gate the test opens (the "long helm run"). */
class GatedHelm extends FakeHelm {
  calls = 0;
  gate: Promise<void> | null = null;
  override async repoUpdate(name: string, url: string): Promise<void> {
    this.calls++;
    const g = this.gate;
    if (g) await g;
    await super.repoUpdate(name, url);
  }
}

/** The release exactly as the plan saw it, so the run's drift check passes. */
const unchanged = releaseState({ release: 'fenced', namespace: 'default', chartVersion: '4.0.31', revision: 1, components: [] });

function engineWith(helm: FakeHelm, clock: Ports['clock'] = new FakeClock()): EngineAccess {
  const ports: Ports = { helm, cluster: new FakeCluster(), sessions: new FakeSessions(), clock };
  const observer = { tooling: async () => tooling(), release: async () => unchanged, objects: async () => [] } as unknown as EngineDeps['observer'];
  return { forCluster: () => ({ deps: { observer, settings: DEFAULT_PLAN_SETTINGS } as EngineDeps, ports }) };
}

describe('fencing a run with a token kept in the request', () => {
  let env: Awaited<ReturnType<typeof testRedis>>;
  let store: RedisRequestStore;
  beforeEach(async () => {
    env = await testRedis();
    store = new RedisRequestStore(env.redis, env.prefix);
  });
  afterEach(async () => env.cleanup());

  it('two runs of one job: the old one stops before its next step and writes nothing', async () => {
    // The configured repository: a worker refuses to refresh any other (run-guard.ts).
    const { repoName, repoUrl } = DEFAULT_PLAN_SETTINGS;
    const steps: Step[] = [1, 2, 3].map((n) => ({ kind: 'helm-repo-update', repoName, repoUrl, description: `step ${n}` }));
    // A rollback request; the fake observer shows the release as planned, so the drift check passes.
    const req = await store.create({ kind: 'rollback', plan: { ...fakePlan('fenced'), steps }, requester: alice, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 3_600_000 });
    await store.approve(req.id, bob);
    await sealApproved(store, req.id);

    const oldHelm = new GatedHelm(null);
    let open!: () => void;
    oldHelm.gate = new Promise<void>((r) => (open = r));
    const oldRun = executeRequest(store, engineWith(oldHelm), req.id, { sealer: testSealer }).then(
      (outcome) => ({ outcome, error: null as unknown }),
      (error: unknown) => ({ outcome: null, error }),
    );
    // The old run is inside its first step.
    for (const deadline = Date.now() + 5000; oldHelm.calls === 0; ) {
      if (Date.now() > deadline) throw new Error('the old run never started its first step');
      await new Promise((r) => setTimeout(r, 10));
    }

    // BullMQ hands the job to a second run: it resumes and finishes.
    const newHelm = new GatedHelm(null);
    await expect(executeRequest(store, engineWith(newHelm), req.id, { sealer: testSealer })).resolves.toBe('rolled-back');
    const record = await store.require(req.id);
    const logBefore = await store.log(req.id);
    expect(deriveState(record, Date.now())).toBe('rolled-back');

    // The old run's helm call returns now.
    open();
    const old = await oldRun;
    expect(old.outcome ?? (old.error as Error).message).toBe('superseded');
    // It did not go on to step 2, and wrote nothing: record and log are as the new run left them.
    expect(oldHelm.calls).toBe(1);
    expect(oldHelm.repoUpdates).toHaveLength(1);
    expect(await store.require(req.id)).toEqual(record);
    expect(await store.log(req.id)).toEqual(logBefore);
    expect(newHelm.repoUpdates.map((u) => u.name)).toEqual([repoName, repoName, repoName]);
  });

  it('a run that lost the request inside a long helm upgrade has its helm stopped before the new run touches the release', async () => {
    const events: string[] = [];
    /** One release shared by both runs' helm; the first upgrade hangs until its signal aborts, as a long `--wait` would. */
    class HangingHelm extends FakeHelm {
      hang = true;
      override async upgrade(args: HelmUpgradeArgs): Promise<void> {
        this.upgrades.push(args);
        const revision = this.info!.revision + 1;
        this.info = { ...this.info!, revision, chartVersion: args.chartVersion, chart: `milvus-${args.chartVersion}`, status: 'pending-upgrade' };
        this.valuesByRevision.set(revision, { image: { all: { tag: args.set['image.all.tag'] } } });
        this.historyRows.push({ revision, status: 'pending-upgrade', chart: `milvus-${args.chartVersion}`, appVersion: '2.4.23', description: 'Preparing upgrade' });
        if (!this.hang) {
          this.info = { ...this.info, status: 'deployed' };
          events.push(`upgrade ${revision} deployed`);
          return;
        }
        this.hang = false;
        events.push(`upgrade ${revision} started`);
        await new Promise<void>((_resolve, reject) => {
          const late = setTimeout(() => reject(new Error('the superseded run never stopped its helm')), 10_000);
          args.signal?.addEventListener('abort', () => {
            clearTimeout(late);
            events.push(`upgrade ${revision} stopped`);
            reject(new Error('helm was killed'));
          });
        });
      }
      override async rollback(args: { revision: number }): Promise<void> {
        await super.rollback(args);
        const revision = this.info!.revision + 1;
        this.info = { ...this.info!, revision, chartVersion: '4.0.31', chart: 'milvus-4.0.31', status: 'deployed' };
        events.push(`rollback to ${args.revision}`);
      }
    }
    const helm = new HangingHelm(
      { name: 'fenced', namespace: 'default', revision: 1, status: 'deployed', chart: 'milvus-4.0.31', chartVersion: '4.0.31', appVersion: '2.3.11' },
      [{ revision: 1, status: 'deployed', chart: 'milvus-4.0.31', appVersion: '2.3.11', description: 'Install complete' }],
    );
    const steps: Step[] = [
      { kind: 'helm-upgrade', chartRef: 'zilliztech/milvus', chartVersion: '4.2.25', set: { 'image.all.tag': 'v2.4.23' }, fromRevision: 1, timeoutSeconds: 1800, description: 'helm upgrade' },
    ];
    const req = await store.create({ kind: 'rollback', plan: { ...fakePlan('fenced'), steps }, requester: alice, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 3_600_000 });
    await store.approve(req.id, bob);
    await sealApproved(store, req.id);
    const options = { sealer: testSealer, fenceCheckMs: 50, handoverMs: 500 };

    const oldRun = executeRequest(store, engineWith(helm, systemClock), req.id, options).then(
      (outcome) => ({ outcome, error: null as unknown }),
      (error: unknown) => ({ outcome: null, error }),
    );
    for (const deadline = Date.now() + 5000; !events.includes('upgrade 2 started'); ) {
      if (Date.now() > deadline) throw new Error('the old run never started helm');
      await new Promise((r) => setTimeout(r, 10));
    }

    // The job is handed to a second run (BullMQ's lock was lost): it takes the request over.
    const newOutcome = await executeRequest(store, engineWith(helm, systemClock), req.id, options);
    const old = await oldRun;
    expect(old.outcome ?? (old.error as Error).message).toBe('superseded');
    expect(newOutcome).toBe('rolled-back');
    // The old helm was stopped before the new run read the release as interrupted and rolled it back.
    expect(events).toEqual(['upgrade 2 started', 'upgrade 2 stopped', 'rollback to 1', 'upgrade 4 deployed']);
    expect(helm.info).toMatchObject({ status: 'deployed', chartVersion: '4.2.25' });
    const log = await store.log(req.id);
    expect(log.filter((e) => e.type === 'audit' && /fail|interrupt/.test(e.action))).toEqual([]);
    expect(deriveState(await store.require(req.id), Date.now())).toBe('rolled-back');
  });
});
