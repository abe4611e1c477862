import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { executeRequest, DriftError } from '../../src/jobs/execute.js';
import { deriveState, type Actor } from '../../src/upgrade/requests.js';
import { UpgradeQueue } from '../../src/jobs/queue.js';
import { RedisRequestStore } from '../../src/jobs/requests.js';
import { createUpgradeWorker } from '../../src/jobs/worker.js';
import { createLogger } from '../../src/log.js';
import { makeUpgradePlan } from '../../src/upgrade/planner/service.js';
import { kubectl } from '../harness/control-plane.js';
import { REDIS_URL, testRedis } from '../integration/redis.js';
import { spawnWorker, testEngine, until } from './engine.js';
import { cluster, deployments, installRelease, newNamespace, snapshot } from './helpers.js';
import { sealApproved, testSealer } from '../fixtures/test-sealer.js';

const alice: Actor = { id: 'U0ALICE', name: 'alice', via: 'slack' };
const bob: Actor = { id: 'U0BOB', name: 'bob', via: 'slack' };

describe('jobs on the control plane and real Redis', () => {
  let env: Awaited<ReturnType<typeof testRedis>>;
  let store: RedisRequestStore;
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeEach(async () => {
    env = await testRedis();
    store = new RedisRequestStore(env.redis, env.prefix);
    ns = await newNamespace('e2e-jobs');
  });
  afterEach(async () => {
    await ns.cleanup();
    await env.cleanup();
  });

  async function approvedRequest(release: string, version: string, strategy?: string, engine = testEngine()) {
    const plan = await makeUpgradePlan(engine.default(), { release, namespace: ns.name, version, strategy });
    const req = await store.create({ kind: 'upgrade', plan, requester: alice, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 3_600_000 });
    await store.approve(req.id, bob);
    return sealApproved(store, req.id);
  }

  it('refuses to run when the release changed after approval, saying what changed, and changes nothing', async () => {
    await installRelease(ns.name, 'drifty', '4.0.31');
    const engine = testEngine();
    const req = await approvedRequest('drifty', '2.4.23', 'rolling', engine);
    // Someone else touches the release between approval and run.
    await kubectl(cluster(), ['set', 'image', '-n', ns.name, 'deployment/drifty-milvus-proxy', 'proxy=milvusdb/milvus:v2.2.14']);
    const before = await snapshot(ns.name, 'drifty');
    const err = await executeRequest(store, engine, req.id, { sealer: testSealer }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriftError);
    expect((err as DriftError).explain()).toMatch(/drifty changed since the plan was approved/);
    expect((err as DriftError).explain()).toMatch(/drifty-milvus-proxy: milvusdb\/milvus:v2\.2\.13 -> milvusdb\/milvus:v2\.2\.14/);
    const after = await store.require(req.id);
    expect(deriveState(after, Date.now())).toBe('failed');
    expect(after.error).toMatch(/changed since the plan was approved/);
    expect(await snapshot(ns.name, 'drifty')).toBe(before);
  });

  it('a worker SIGKILLed mid-rollout: a new worker resumes from the first unfinished step and finishes', async () => {
    await installRelease(ns.name, 'crashy', '4.0.31', { 'queryNode.replicas': '3' });
    const req = await approvedRequest('crashy', '2.4.23', 'rolling');
    const queue = new UpgradeQueue({ connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }), prefix: env.prefix, backoffMs: 200 });
    try {
      await queue.enqueue(req.id);
      const first = spawnWorker(env.prefix);
      // Kill it while the third Deployment (datacoord) is rolling.
      await until('the third step to start', 60_000, async () => (await store.require(req.id)).completedSteps >= 2 && (await store.log(req.id)).some((e) => e.type === 'run' && e.event.type === 'step-started' && e.event.index === 2));
      first.child.kill('SIGKILL');
      await new Promise((r) => first.child.once('exit', r));
      const killedAt = (await store.require(req.id)).completedSteps;
      expect(deriveState(await store.require(req.id), Date.now())).toBe('running');

      const second = spawnWorker(env.prefix);
      try {
        const done = await until('the request to finish', 120_000, async () => {
          const r = await store.require(req.id);
          const s = deriveState(r, Date.now());
          return s === 'succeeded' || s === 'failed' ? r : null;
        }, 250);
        expect(done.error, second.output()).toBeNull();
        expect(deriveState(done, Date.now())).toBe('succeeded');
        expect(done.completedSteps).toBe(done.plan.steps.length);
      } finally {
        second.child.kill('SIGTERM');
      }
      const log = await store.log(req.id);
      expect(log.some((e) => e.type === 'audit' && e.action === 'resumed')).toBe(true);
      // Steps finished before the kill were not started again.
      for (let i = 0; i < killedAt; i++) {
        const starts = log.filter((e) => e.type === 'run' && e.event.type === 'step-started' && e.event.index === i);
        expect(starts, `step ${i + 1}`).toHaveLength(1);
      }
      // No harmful second patch: every Deployment is on the new image, recorded the ORIGINAL image
      // as the one to roll back to, and has exactly one new ReplicaSet beside the old one.
      for (const d of await deployments(ns.name, 'crashy')) {
        expect(d.image).toBe('milvusdb/milvus:v2.4.23');
        expect(d.annotations['milvus-upgrade-bot.io/previous-image']).toBe('milvusdb/milvus:v2.2.13');
        expect(d.readyReplicas).toBe(d.replicas);
      }
      const rs = JSON.parse(await kubectl(cluster(), ['get', 'replicasets', '-n', ns.name, '-l', 'app.kubernetes.io/instance=crashy', '-o', 'json'])) as { items: Array<{ metadata: { ownerReferences: Array<{ name: string }> } }> };
      const perDeployment = new Map<string, number>();
      for (const r of rs.items) {
        const owner = r.metadata.ownerReferences[0]!.name;
        perDeployment.set(owner, (perDeployment.get(owner) ?? 0) + 1);
      }
      expect([...perDeployment.values()].every((n) => n === 2)).toBe(true);
    } finally {
      await queue.close();
    }
  });

  it('through the queue: progress in the log, then cancel interrupts a stuck rollout and records it', async () => {
    await installRelease(ns.name, 'stuck', '4.0.31');
    const engine = testEngine({ rolloutTimeoutSeconds: 600 });
    const req = await approvedRequest('stuck', '2.4.23-never-ready', 'rolling', engine);
    const subscriber = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new UpgradeQueue({ connection, prefix: env.prefix });
    const worker = await createUpgradeWorker({
      connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }),
      subscriber,
      prefix: env.prefix,
      store,
      engine,
      sealer: testSealer,
      logger: createLogger({ level: 'silent' }),
      pollIntervalMs: 200,
    });
    try {
      await queue.enqueue(req.id);
      await queue.enqueue(req.id); // a repeated enqueue is a no-op (same job id)
      const depth = await queue.depth();
      expect((depth.waiting ?? 0) + (depth.active ?? 0) + (depth.completed ?? 0)).toBe(1);
      await until('the rootcoord rollout to hang', 30_000, async () => (await store.log(req.id)).some((e) => e.type === 'run' && e.event.type === 'step-progress' && /rootcoord/.test(e.event.message)));
      const t0 = Date.now();
      await store.requestCancel(req.id, alice);
      const ended = await until('cancel', 15_000, async () => {
        const r = await store.require(req.id);
        // The phase and its audit entry are two writes: wait for both.
        const audited = (await store.log(req.id)).some((e) => e.type === 'audit' && e.action === 'cancelled');
        return deriveState(r, Date.now()) === 'cancelled' && audited ? r : null;
      });
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(ended.error).toMatch(/cancelled/);
      const actions = (await store.log(req.id)).filter((e) => e.type === 'audit').map((e) => (e.type === 'audit' ? e.action : ''));
      expect(actions).toEqual(expect.arrayContaining(['requested upgrade', 'approved', 'queued', 'running', 'cancel requested', 'cancelled']));
      // Nothing beyond the interrupted step was touched.
      const deps = await deployments(ns.name, 'stuck');
      expect(deps.find((d) => d.component === 'proxy')!.image).toBe('milvusdb/milvus:v2.2.13');
    } finally {
      await worker.close();
      await queue.close();
      connection.disconnect();
      subscriber.disconnect();
    }
  });
});
