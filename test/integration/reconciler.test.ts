/** Locks that never outlive their request: the reconciler and the worker's failure handling. */
import { UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EngineAccess } from '../../src/jobs/execute.js';
import { UpgradeQueue, QUEUE_NAME, bullPrefix } from '../../src/jobs/queue.js';
import { reconcileOnce } from '../../src/jobs/reconciler.js';
import { RedisRequestStore } from '../../src/jobs/requests.js';
import { createUpgradeWorker } from '../../src/jobs/worker.js';
import { createLogger } from '../../src/log.js';
import type { EngineDeps } from '../../src/upgrade/planner/service.js';
import type { Ports } from '../../src/upgrade/ports.js';
import { deriveState, type Actor } from '../../src/upgrade/requests.js';
import { fakePlan } from './plans.js';
import { REDIS_URL, testRedis } from './redis.js';
import { sealApproved, testSealer } from '../fixtures/test-sealer.js';

const alice: Actor = { id: 'U0ALICE', via: 'slack' };
const bob: Actor = { id: 'U0BOB', via: 'slack' };
const logger = createLogger({ level: 'silent' });
const conn = () => new Redis(REDIS_URL, { maxRetriesPerRequest: null });

async function until<T>(what: string, check: () => Promise<T | null | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('no release stays locked by a request that can no longer end', () => {
  let env: Awaited<ReturnType<typeof testRedis>>;
  let store: RedisRequestStore;
  let queue: UpgradeQueue;
  const closers: Array<() => Promise<unknown>> = [];
  beforeEach(async () => {
    env = await testRedis();
    store = new RedisRequestStore(env.redis, env.prefix);
    const c = conn();
    queue = new UpgradeQueue({ connection: c, prefix: env.prefix, attempts: 1 });
    closers.push(async () => {
      await queue.close();
      c.disconnect();
    });
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => {});
    await env.cleanup();
  });

  async function approved(release: string) {
    const r = await store.create({ kind: 'upgrade', plan: fakePlan(release), requester: alice, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 3_600_000 });
    await store.approve(r.id, bob);
    return r;
  }
  const reconcile = (now = Date.now()) => reconcileOnce({ store, queue: queue.queue, logger, graceMs: 60_000, now: () => now });
  const freed = (release: string) => store.create({ kind: 'upgrade', plan: fakePlan(release), requester: alice, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 3_600_000 });

  it('queued but never enqueued (the bot died in between): ended with a reason after the grace time', async () => {
    const r = await approved('never-enqueued');
    await store.setPhase(r.id, 'queued', alice);
    expect(await reconcile()).toEqual([]); // within the grace time the enqueue may still come
    const ended = await reconcile(Date.now() + 61_000);
    expect(ended.map((e) => e.id)).toEqual([r.id]);
    const after = await store.require(r.id);
    expect(deriveState(after, Date.now())).toBe('failed');
    expect(after.error).toMatch(/never handed to a worker/);
    await expect(freed('never-enqueued')).resolves.toMatchObject({ release: 'never-enqueued' });
  });

  it('what an ended request left half done is finished after its lock is freed (afterEnd), once', async () => {
    const r = await approved('half-done');
    await store.setPhase(r.id, 'running', alice);
    const seen: { id: string; lockFree: boolean }[] = [];
    const afterEnd = async (req: { id: string }) => {
      const other = await freed('half-done').then(() => true, () => false);
      seen.push({ id: req.id, lockFree: other });
    };
    await reconcileOnce({ store, queue: queue.queue, logger, graceMs: 60_000, now: () => Date.now() + 61_000, afterEnd });
    await reconcileOnce({ store, queue: queue.queue, logger, graceMs: 60_000, now: () => Date.now() + 122_000, afterEnd });
    expect(seen).toEqual([{ id: r.id, lockFree: true }]);
  });

  it('running, and its job removed from the queue: ended', async () => {
    const r = await approved('removed');
    await store.setPhase(r.id, 'running', alice);
    await queue.enqueue(r.id);
    expect(await reconcile(Date.now() + 61_000)).toEqual([]); // the job is there: nothing to do
    await queue.queue.remove(r.id);
    await reconcile(Date.now() + 61_000);
    expect((await store.require(r.id)).error).toMatch(/removed from the queue/);
    await expect(freed('removed')).resolves.toMatchObject({ release: 'removed' });
  });

  it('its job failed for good without the request knowing (stalled past maxStalledCount): ended with the job\'s reason', async () => {
    const r = await approved('stalled');
    await store.setPhase(r.id, 'running', alice);
    await queue.enqueue(r.id);
    // A processor that fails the job the way BullMQ does for a job stalled too often.
    const wc = conn();
    const w = new Worker(QUEUE_NAME, async () => {
      throw new UnrecoverableError('job stalled more than allowable limit');
    }, { connection: wc, prefix: bullPrefix(env.prefix) });
    closers.push(async () => {
      await w.close(true);
      wc.disconnect();
    });
    await until('the job to fail', async () => (await queue.queue.getJob(r.id))?.failedReason);
    expect(deriveState(await store.require(r.id), Date.now())).toBe('running');
    const ended = await reconcile();
    expect(ended).toEqual([{ id: r.id, reason: expect.stringMatching(/job failed for good: job stalled more than allowable limit/) }]);
    await expect(freed('stalled')).resolves.toMatchObject({ release: 'stalled' });
  });

  it('a request waiting for approval, or with its job waiting, is left alone', async () => {
    const pending = await store.create({ kind: 'upgrade', plan: fakePlan('pending'), requester: alice, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 3_600_000 });
    const waiting = await approved('waiting');
    await store.setPhase(waiting.id, 'queued', alice);
    await queue.enqueue(waiting.id);
    expect(await reconcile(Date.now() + 10 * 60_000)).toEqual([]);
    expect(deriveState(await store.require(pending.id), Date.now())).toBe('pending-approval');
    expect(deriveState(await store.require(waiting.id), Date.now())).toBe('queued');
  });

  it('an API error in the drift check (outside the steps) fails the request and frees the release', async () => {
    const r = await approved('drift-api-error');
    const failingObserver = {
      tooling: async () => {
        throw new Error('unused');
      },
      release: async () => {
        throw new Error('kube API: 500 Internal Server Error');
      },
    };
    const engine: EngineAccess = { forCluster: () => ({ deps: { observer: failingObserver } as unknown as EngineDeps, ports: {} as Ports }) };
    const wc = conn();
    const sub = conn();
    const worker = await createUpgradeWorker({ connection: wc, subscriber: sub, prefix: env.prefix, store, engine, sealer: testSealer, logger });
    closers.push(async () => {
      await worker.close();
      wc.disconnect();
      sub.disconnect();
    });
    await sealApproved(store, r.id);
    await queue.enqueue(r.id);
    const ended = await until('the request to end', async () => {
      const cur = await store.require(r.id);
      return deriveState(cur, Date.now()) === 'failed' ? cur : null;
    });
    expect(ended.error).toMatch(/500 Internal Server Error/);
    await expect(freed('drift-api-error')).resolves.toMatchObject({ release: 'drift-api-error' });
  });
});
