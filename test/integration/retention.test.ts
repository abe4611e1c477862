/**
 * Retention (REQUEST_RETENTION_DAYS): ended requests' records and logs expire and their ids leave
 * the per-release indexes, so Redis does not grow forever; a request that may still act, and the
 * latest change of each release (rollback consent needs it), never expire. Real Redis, with a
 * retention of about a second.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { UpgradeQueue } from '../../src/jobs/queue.js';
import { reconcileOnce } from '../../src/jobs/reconciler.js';
import { RedisRequestStore } from '../../src/jobs/requests.js';
import { createLogger } from '../../src/log.js';
import type { UpgradeRequest } from '../../src/upgrade/requests.js';
import { fakePlan } from './plans.js';
import { REDIS_URL, testRedis } from './redis.js';

const RETENTION_MS = 1_000;
const WORKER = { id: 'worker', via: 'worker' } as const;
const ASKER = { id: 'U0ASK00001', via: 'slack' } as const;
const APPROVER = { id: 'U0APP00001', via: 'slack' } as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('retention of requests, their logs and indexes', () => {
  let env: Awaited<ReturnType<typeof testRedis>>;
  let store: RedisRequestStore;
  beforeEach(async () => {
    env = await testRedis();
    store = new RedisRequestStore(env.redis, env.prefix, {}, { retentionMs: RETENTION_MS });
  });
  afterEach(async () => env.cleanup());

  const ask = (release: string, ttlMs = 3_600_000) =>
    store.create({ kind: 'upgrade', plan: fakePlan(release), requester: ASKER, approvalsNeeded: 1, allowSelfApproval: false, ttlMs });
  /** Milliseconds the record and the log of `id` have left: -1 kept for good, -2 gone. */
  const ttls = async (id: string) => [await env.redis.pttl(`${env.prefix}req:${id}`), await env.redis.pttl(`${env.prefix}log:${id}`)];
  const started = async (r: UpgradeRequest) => {
    await store.approve(r.id, APPROVER);
    return store.setPhase(r.id, 'running', WORKER, { startedAt: Date.now() });
  };
  const historyIds = (release: string) => env.redis.zrange(`${env.prefix}history:test/default/${release}`, '0', '-1');

  it('an ended request expires with its log; the trim then drops its id from the history', async () => {
    const r = await ask('rejected');
    await store.reject(r.id, APPROVER, 'not now');
    await store.audit(r.id, APPROVER, 'a later note');
    for (const ttl of await ttls(r.id)) expect(ttl).toBeGreaterThan(0);
    for (const ttl of await ttls(r.id)) expect(ttl).toBeLessThanOrEqual(RETENTION_MS);
    await sleep(RETENTION_MS + 200);
    expect(await ttls(r.id)).toEqual([-2, -2]);
    expect(await historyIds('rejected')).toEqual([r.id]);
    expect(await store.trimIndexes()).toBe(1);
    expect(await historyIds('rejected')).toEqual([]);
    expect(await store.history('test', 'default', 'rejected')).toEqual([]);
    // A line written after the record is gone (the sweep's note) does not live on forever.
    await store.audit(r.id, WORKER, 'resumed what was left paused');
    for (const ttl of await ttls(r.id)) expect(ttl).toBeGreaterThan(0);
  });

  it('the reconciler\'s periodic pass is what trims the indexes', async () => {
    const r = await ask('reconciled');
    await store.reject(r.id, APPROVER, 'not now');
    await sleep(RETENTION_MS + 200);
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new UpgradeQueue({ connection, prefix: env.prefix, attempts: 1 });
    try {
      await reconcileOnce({ store, queue: queue.queue, logger: createLogger({ level: 'silent' }) });
    } finally {
      await queue.close();
      connection.disconnect();
    }
    expect(await historyIds('reconciled')).toEqual([]);
  });

  it('a request waiting for votes is kept until its deadline plus the retention', async () => {
    const r = await ask('pending', 60_000);
    const [record, log] = await ttls(r.id);
    expect(record).toBeGreaterThan(60_000);
    expect(record).toBeLessThanOrEqual(60_000 + RETENTION_MS);
    expect(log).toBeGreaterThan(60_000);
  });

  it('a request that may still act never expires, however old', async () => {
    const approved = await ask('approved');
    await store.approve(approved.id, APPROVER);
    expect(await ttls(approved.id)).toEqual([-1, -1]);
    const running = await started(await ask('running'));
    expect(await ttls(running.id)).toEqual([-1, -1]);
    await sleep(RETENTION_MS + 200);
    await store.trimIndexes();
    expect(await store.get(approved.id)).not.toBeNull();
    expect((await store.get(running.id))?.phase).toBe('running');
    expect(await historyIds('running')).toEqual([running.id]);
  });

  it('the latest change of a release is kept after it ended, until a newer change starts', async () => {
    const first = await started(await ask('changed'));
    await store.setPhase(first.id, 'succeeded', WORKER, { finishedAt: Date.now() });
    await store.audit(first.id, APPROVER, 'a later note');
    expect(await ttls(first.id)).toEqual([-1, -1]);
    // Later requests that change nothing do not take its place.
    const refused = await ask('changed');
    await store.reject(refused.id, APPROVER, 'no');
    expect(await ttls(first.id)).toEqual([-1, -1]);
    const second = await started(await ask('changed'));
    for (const ttl of await ttls(first.id)) expect(ttl).toBeGreaterThan(0);
    await store.setPhase(second.id, 'failed', WORKER, { finishedAt: Date.now(), error: 'boom' });
    expect(await ttls(second.id)).toEqual([-1, -1]);
    await sleep(RETENTION_MS + 200);
    await store.trimIndexes();
    expect((await store.latestChange('test', 'default', 'changed'))?.id).toBe(second.id);
    expect(await historyIds('changed')).toEqual([second.id]);
    expect(await env.redis.zrange(`${env.prefix}changes:test/default/changed`, '0', '-1')).toEqual([second.id]);
  });

  it('records written before retention existed get one from the trim, the latest change excepted', async () => {
    const change = await started(await ask('legacy'));
    await store.setPhase(change.id, 'succeeded', WORKER, { finishedAt: Date.now() });
    const later = await ask('legacy');
    await store.reject(later.id, APPROVER, 'no');
    // As an older version left them: no expiry, no changes index.
    for (const id of [change.id, later.id]) {
      await env.redis.persist(`${env.prefix}req:${id}`);
      await env.redis.persist(`${env.prefix}log:${id}`);
    }
    await env.redis.del(`${env.prefix}changes:test/default/legacy`);
    await sleep(RETENTION_MS + 200);
    await store.trimIndexes();
    expect(await ttls(change.id)).toEqual([-1, -1]);
    for (const ttl of await ttls(later.id)) expect(ttl).toBeGreaterThan(0);
  });
});
