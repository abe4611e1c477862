/**
 * The attack of issue 25, item 1, on real Redis with a real worker: a request approved through
 * the bot, then its record rewritten with one HSET (an attacker's chart and image, phase
 * `running` so it passes for a resume) and a job added to the queue. Before, the worker ran
 * `helm upgrade` with the attacker's chart. Now the approval seal (a key outside Redis) no longer
 * matches and it refuses before any step, saying why; and so for every other forgery below.
 */
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EngineAccess } from '../../src/jobs/execute.js';
import { UpgradeQueue } from '../../src/jobs/queue.js';
import { RedisRequestStore } from '../../src/jobs/requests.js';
import { createUpgradeWorker } from '../../src/jobs/worker.js';
import { createLogger } from '../../src/log.js';
import { DEFAULT_PLAN_SETTINGS } from '../../src/upgrade/plan.js';
import type { EngineDeps } from '../../src/upgrade/planner/service.js';
import type { Ports } from '../../src/upgrade/ports.js';
import { deriveState, type Actor, type UpgradeRequest } from '../../src/upgrade/requests.js';
import type { ReleaseState } from '../../src/upgrade/state.js';
import type { Step } from '../../src/upgrade/steps.js';
import { FakeClock, FakeCluster, FakeHelm, FakeSessions } from '../unit/fakes.js';
import { component, releaseState, tooling } from '../unit/helpers.js';
import { fakePlan } from './plans.js';
import { hmacSealer } from '../../src/approval-seal.js';
import { approvalContent } from '../../src/upgrade/seal.js';
import { sealApproved, testSealer } from '../fixtures/test-sealer.js';
import { REDIS_URL, testRedis } from './redis.js';

const alice: Actor = { id: 'U0ALICE', via: 'slack' };
const bob: Actor = { id: 'U0BOB', via: 'slack' };
const conn = () => new Redis(REDIS_URL, { maxRetriesPerRequest: null });

describe('a request record rewritten in Redis', () => {
  let env: Awaited<ReturnType<typeof testRedis>>;
  let store: RedisRequestStore;
  const closers: Array<() => Promise<unknown>> = [];
  beforeEach(async () => {
    env = await testRedis();
    store = new RedisRequestStore(env.redis, env.prefix);
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => {});
    await env.cleanup();
  });

  /** A queue holding a job for `id`, as anyone who can write to Redis can add one. */
  async function queuedJob(id: string): Promise<UpgradeQueue> {
    const qc = conn();
    const queue = new UpgradeQueue({ connection: qc, prefix: env.prefix, attempts: 1 });
    closers.push(async () => {
      await queue.close();
      qc.disconnect();
    });
    await queue.enqueue(id);
    return queue;
  }

  /** A real worker over the live release `live`, with a helm that records what it is asked. */
  async function workerOver(live: ReleaseState, helm: FakeHelm): Promise<void> {
    const ports: Ports = { helm, cluster: new FakeCluster(live.components), sessions: new FakeSessions(), clock: new FakeClock() };
    const observer = { tooling: async () => tooling(), release: async () => live, objects: async () => [] } as unknown as EngineDeps['observer'];
    const engine: EngineAccess = { forCluster: () => ({ deps: { observer, settings: DEFAULT_PLAN_SETTINGS } as EngineDeps, ports }) };
    const wc = conn();
    const sub = conn();
    const worker = await createUpgradeWorker({ connection: wc, subscriber: sub, prefix: env.prefix, store, engine, sealer: testSealer, logger: createLogger({ level: 'silent' }) });
    closers.push(async () => {
      await worker.close();
      wc.disconnect();
      sub.disconnect();
    });
  }

  const live = (release: string) => releaseState({ release, namespace: 'default', version: '2.3.11', components: [component('proxy', { image: 'milvusdb/milvus:v2.3.11' })] });
  const honest: Step[] = [
    { kind: 'helm-repo-update', repoName: DEFAULT_PLAN_SETTINGS.repoName, repoUrl: DEFAULT_PLAN_SETTINGS.repoUrl, description: 'refresh' },
    { kind: 'helm-upgrade', chartRef: `${DEFAULT_PLAN_SETTINGS.repoName}/milvus`, chartVersion: '4.2.20', set: { 'image.all.tag': 'v2.4.23' }, fromRevision: 1, timeoutSeconds: 60, description: 'helm upgrade' },
  ];
  const evil: Step[] = [
    { kind: 'helm-upgrade', chartRef: 'oci://attacker.example/charts/evil', chartVersion: '6.6.6', set: { 'image.all.repository': 'attacker.example/evil' }, fromRevision: 1, timeoutSeconds: 60, description: 'helm upgrade' },
  ];
  const deployedHelm = () => new FakeHelm({ name: 'prod', namespace: 'default', revision: 1, status: 'deployed', chart: 'milvus-4.1.24', chartVersion: '4.1.24', appVersion: '2.3.11' });

  /** A request approved by bob and sealed, as the bot hands it to the workers. */
  async function approvedThroughTheBot(release: string, steps: Step[]): Promise<UpgradeRequest> {
    const req = await store.create({ kind: 'upgrade', plan: { ...fakePlan(release), steps }, requester: alice, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 3_600_000 });
    await store.approve(req.id, bob);
    return sealApproved(store, req.id);
  }

  /** The attacker's one HSET. */
  async function rewrite(id: string, change: (r: UpgradeRequest) => UpgradeRequest): Promise<void> {
    const record = JSON.parse((await env.redis.hget(store.key('req', id), 'json'))!) as UpgradeRequest;
    await env.redis.hset(store.key('req', id), 'json', JSON.stringify(change(record)));
  }

  async function failedRequest(id: string): Promise<UpgradeRequest> {
    for (const deadline = Date.now() + 15_000; ; await new Promise((r) => setTimeout(r, 50))) {
      const r = await store.require(id);
      if (deriveState(r, Date.now()) === 'failed') return r;
      if (Date.now() > deadline) throw new Error(`the request did not end: ${deriveState(r, Date.now())}`);
    }
  }

  it('a sealed record rewritten with an attacker\'s chart and image, queued as a resume: the seal does not match, nothing runs', async () => {
    const req = await approvedThroughTheBot('prod', honest);
    await rewrite(req.id, (r) => ({ ...r, phase: 'running', plan: { ...r.plan, steps: evil } }));
    await queuedJob(req.id);
    const helm = deployedHelm();
    await workerOver(live('prod'), helm);
    const ended = await failedRequest(req.id);
    expect(helm.upgrades).toEqual([]);
    expect(helm.repoUpdates).toEqual([]);
    expect(ended.error).toContain(`the approval seal of request ${req.id} does not match the request`);
    expect(ended.error).toContain('nothing was run');
    // The release is free again for an honest request.
    await expect(store.create({ kind: 'upgrade', plan: fakePlan('prod'), requester: alice, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 3_600_000 })).resolves.toMatchObject({ release: 'prod' });
  });

  it('votes written into a pending record, and a job: no seal, nothing runs', async () => {
    const req = await store.create({ kind: 'upgrade', plan: { ...fakePlan('voted'), steps: honest }, requester: alice, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 3_600_000 });
    await rewrite(req.id, (r) => ({ ...r, approvals: [{ by: bob, at: Date.now() }] }));
    await queuedJob(req.id);
    const helm = deployedHelm();
    await workerOver(live('voted'), helm);
    const ended = await failedRequest(req.id);
    expect(helm.repoUpdates).toEqual([]);
    expect(ended.error).toContain(`request ${req.id} carries no approval seal`);
  });

  it('a record sealed with a key of the attacker\'s own: refused like a forged one', async () => {
    const req = await store.create({ kind: 'upgrade', plan: { ...fakePlan('own-key'), steps: honest }, requester: alice, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 3_600_000 });
    await store.approve(req.id, bob);
    const theirs = hmacSealer(Buffer.from('the attacker has a key of 32 bytes too'));
    await store.sealForRun(req.id, bob, (r) => theirs.seal(approvalContent(r)));
    await queuedJob(req.id);
    const helm = deployedHelm();
    await workerOver(live('own-key'), helm);
    const ended = await failedRequest(req.id);
    expect(helm.repoUpdates).toEqual([]);
    expect(ended.error).toMatch(/does not match the request: .* or it was sealed with another key/);
  });

  it('an honest sealed record claimed as a resume past its first step: no worker recorded that run, nothing runs', async () => {
    const req = await approvedThroughTheBot('skipped', honest);
    // Passing for a resume would skip the drift check and the step it says is done.
    await rewrite(req.id, (r) => ({ ...r, phase: 'running', startedAt: Date.now(), completedSteps: 1 }));
    await queuedJob(req.id);
    const helm = deployedHelm();
    await workerOver(live('skipped'), helm);
    const ended = await failedRequest(req.id);
    expect(helm.repoUpdates).toEqual([]);
    expect(helm.upgrades).toEqual([]);
    expect(ended.error).toContain(`request ${req.id} claims a run already started (1 step(s) done), but no worker of this deployment recorded that`);
  });

  it('a plan the bot was fooled into sealing (a forged planner answer) still meets the run guard: nothing runs', async () => {
    const req = await approvedThroughTheBot('fooled', evil);
    await queuedJob(req.id);
    const helm = deployedHelm();
    await workerOver(live('fooled'), helm);
    const ended = await failedRequest(req.id);
    expect(helm.upgrades).toEqual([]);
    expect(ended.error).toContain(`request ${req.id} holds steps this worker will not run: nothing was run`);
    expect(ended.error).toContain('a step upgrades with chart oci://attacker.example/charts/evil, not zilliztech/milvus');
    expect(ended.error).toContain('a step sets image.all.repository, which no plan of this bot sets');
  });

  it('a job added for a request nobody approved: the worker runs nothing and ends the request, saying why', async () => {
    const live = releaseState({ release: 'unvoted', namespace: 'default', version: '2.3.11', components: [component('proxy', { image: 'milvusdb/milvus:v2.3.11' })] });
    const steps: Step[] = [{ kind: 'helm-repo-update', repoName: DEFAULT_PLAN_SETTINGS.repoName, repoUrl: DEFAULT_PLAN_SETTINGS.repoUrl, description: 'refresh' }];
    const req = await store.create({ kind: 'upgrade', plan: { ...fakePlan('unvoted'), steps }, requester: alice, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 3_600_000 });
    const queue = await queuedJob(req.id);
    const helm = new FakeHelm(null);
    await workerOver(live, helm);
    // The job ends, failed and not retried.
    const job = await queue.queue.getJob(req.id);
    for (const deadline = Date.now() + 15_000; !(await job!.isFailed()); await new Promise((r) => setTimeout(r, 50))) {
      if (Date.now() > deadline) throw new Error(`the job did not fail: ${await job!.getState()}`);
    }
    expect((await queue.queue.getJob(req.id))!.failedReason).toBe(`request ${req.id} is not approved`);
    expect(helm.repoUpdates).toEqual([]);
    const after = await store.require(req.id);
    expect(after.approvals).toEqual([]);
    expect(after.startedAt).toBeNull();
    // Its job is gone for good, so the request is ended (its release freed) rather than left pending.
    expect(deriveState(after, Date.now())).toBe('failed');
    expect(after.error).toContain('is not approved');
  });
});
