/**
 * Issue 25, item 4: a cancel that arrives between two runs of a request (during a retry's
 * backoff, a shutdown hand-over, or after its worker died) found the request running with its
 * Deployments paused by the first run; the next run marked it cancelled and left them paused for
 * good. Real Redis, the real executeRequest; the cluster and helm are the unit fakes.
 */
import { describe, expect, it } from 'vitest';
import { executeRequest, type EngineAccess } from '../../src/jobs/execute.js';
import { UpgradeError } from '../../src/upgrade/errors.js';
import type { HelmUpgradeArgs } from '../../src/upgrade/ports.js';
import { parseVersion } from '../../src/upgrade/milvus/version.js';
import { planUpgrade } from '../../src/upgrade/planner/upgrade.js';
import type { EngineDeps } from '../../src/upgrade/planner/service.js';
import { deriveState, type Actor } from '../../src/upgrade/requests.js';
import { FakeHelm, fakePorts } from '../unit/fakes.js';
import { component, milvusIndex, planSettings, releaseState, tooling } from '../unit/helpers.js';
import { sealApproved, testSealer } from '../fixtures/test-sealer.js';
import { storePerTest } from './store-per-test.js';

const alice: Actor = { id: 'U0ALICE', via: 'slack' };
const bob: Actor = { id: 'U0BOB', via: 'slack' };

/** helm that cannot be reached the first time: a transient error the queue would retry. */
class FlakyHelm extends FakeHelm {
  failures = 1;
  override async upgrade(args: HelmUpgradeArgs): Promise<void> {
    if (this.failures-- > 0) throw new UpgradeError('transient', 'helm: the API server did not answer');
    await super.upgrade(args);
  }
}

describe('a cancel between two runs of a started request', () => {
  const t = storePerTest();

  function orderedUpgrade() {
    const state = releaseState({ version: '2.4.5', chartVersion: '4.1.36', revision: 1, components: ['proxy', 'querynode', 'datanode'].map((c) => component(c, { version: '2.4.5' })) });
    const plan = planUpgrade({ request: { cluster: 'test', namespace: 'milvus', release: 'prod', target: parseVersion('2.4.23') }, state, tooling: tooling(), charts: milvusIndex(), settings: planSettings() });
    const helm = new FlakyHelm({ name: 'prod', namespace: 'milvus', revision: 1, status: 'deployed', chart: 'milvus-4.1.36', chartVersion: '4.1.36', appVersion: '2.4.5' });
    const ports = fakePorts({ components: state.components, helm });
    const observer = { tooling: async () => tooling(), release: async () => state, objects: async () => [] } as unknown as EngineDeps['observer'];
    const engine: EngineAccess = { forCluster: () => ({ deps: { observer, settings: planSettings() } as EngineDeps, ports }) };
    return { plan, ports, engine };
  }

  it('resumes what the first run paused, then ends the request cancelled, saying so', async () => {
    const { plan, ports, engine } = orderedUpgrade();
    expect(plan.steps.slice(0, 3).map((s) => s.kind)).toEqual(['helm-repo-update', 'pause-deployments', 'helm-upgrade']);
    const req = await t.store.create({ kind: 'upgrade', plan, requester: alice, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 3_600_000 });
    await t.store.approve(req.id, bob);
    await sealApproved(t.store, req.id);

    // The first attempt pauses every Deployment, then helm fails transiently: left for a retry.
    const first = await executeRequest(t.store, engine, req.id, { sealer: testSealer, mayRetry: true, pollIntervalMs: 10 }).catch((e: unknown) => e);
    expect(first).toMatchObject({ code: 'transient' });
    const between = await t.store.require(req.id);
    expect(deriveState(between, Date.now())).toBe('running');
    expect(between.completedSteps).toBe(2);
    const paused = [...ports.cluster.deployments.values()].filter((d) => d.paused).map((d) => d.component);
    expect(paused.sort()).toEqual(['datanode', 'proxy', 'querynode']);

    // Cancelled during the backoff; the retry is the run that finds it.
    await t.store.requestCancel(req.id, alice);
    await expect(executeRequest(t.store, engine, req.id, { sealer: testSealer, mayRetry: true, pollIntervalMs: 10 })).resolves.toBe('cancelled');

    expect([...ports.cluster.deployments.values()].filter((d) => d.paused || d.pausedBy).map((d) => d.deployment)).toEqual([]);
    expect(ports.helm.upgrades).toEqual([]);
    const ended = await t.store.require(req.id);
    expect(deriveState(ended, Date.now())).toBe('cancelled');
    expect(ended.error).toBeNull();
    const log = await t.store.log(req.id);
    const resumed = log.find((e) => e.type === 'audit' && e.action === 'resumed what the run paused');
    expect(resumed, JSON.stringify(log)).toBeDefined();
    for (const d of paused) expect(resumed!.type === 'audit' && resumed!.detail).toContain(d);
  });

  it('a request cancelled before any run paused anything ends without touching the cluster', async () => {
    const { plan, ports, engine } = orderedUpgrade();
    const req = await t.store.create({ kind: 'upgrade', plan, requester: alice, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 3_600_000 });
    await t.store.approve(req.id, bob);
    await sealApproved(t.store, req.id);
    await t.store.requestCancel(req.id, alice);
    await expect(executeRequest(t.store, engine, req.id, { sealer: testSealer })).resolves.toBe('cancelled');
    expect(ports.cluster.pauseLog).toEqual([]);
  });
});
