/**
 * Issue 25, item 4: a release whose last request ended (or whose record Redis lost) while the
 * bot's ordered path had Deployments paused stayed paused for good. The reconciler's sweep
 * resumes exactly the Deployments that carry the bot's pause mark, and only when no request acts
 * on the release. Real Redis, the real reconciler and runner; the cluster is the unit fake.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { UpgradeQueue } from '../../src/jobs/queue.js';
import { reconcileOnce } from '../../src/jobs/reconciler.js';
import { RedisRequestStore } from '../../src/jobs/requests.js';
import { createLogger } from '../../src/log.js';
import { resumeReleaseLeftPaused } from '../../src/upgrade/runner/run.js';
import type { Actor } from '../../src/upgrade/requests.js';
import { fakePorts, type FakePorts } from '../unit/fakes.js';
import { component } from '../unit/helpers.js';
import { fakePlan } from './plans.js';
import { REDIS_URL, testRedis } from './redis.js';

const alice: Actor = { id: 'U0ALICE', via: 'slack' };
const logger = createLogger({ level: 'silent' });

describe('the sweep of Deployments the bot left paused', () => {
  let env: Awaited<ReturnType<typeof testRedis>>;
  let store: RedisRequestStore;
  let queue: UpgradeQueue;
  let connection: Redis;
  beforeEach(async () => {
    env = await testRedis();
    store = new RedisRequestStore(env.redis, env.prefix);
    connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    queue = new UpgradeQueue({ connection, prefix: env.prefix, attempts: 1 });
  });
  afterEach(async () => {
    await queue.close();
    connection.disconnect();
    await env.cleanup();
  });

  /** proxy and querynode paused by the bot, datanode paused by a person. */
  function leftPaused(): FakePorts {
    const ports = fakePorts({ components: ['proxy', 'querynode', 'datanode'].map((c) => component(c, { version: '2.4.23' })) });
    for (const d of ports.cluster.deployments.values()) {
      d.paused = true;
      d.pausedBy = d.component === 'datanode' ? null : 'ordered-helm';
    }
    return ports;
  }
  const reconcile = (ports: FakePorts) =>
    reconcileOnce({ store, queue: queue.queue, logger, sweepPaused: (t) => resumeReleaseLeftPaused(t.namespace, t.release, ports, () => {}, 10) });
  const paused = (ports: FakePorts) => [...ports.cluster.deployments.values()].filter((d) => d.paused).map((d) => d.component).sort();

  it('after the release\'s last request ended: the bot\'s pauses are resumed, a person\'s is left, and the request\'s log says so', async () => {
    const r = await store.create({ kind: 'upgrade', plan: fakePlan('prod'), requester: alice, approvalsNeeded: 0, allowSelfApproval: true, ttlMs: 3_600_000 });
    await store.endIfActive(r.id, 'failed for the test', alice);
    const ports = leftPaused();
    await reconcile(ports);
    expect(paused(ports)).toEqual(['datanode']);
    // One at a time, in the rolling order.
    expect(ports.cluster.pauseLog).toEqual(['resume prod-milvus-querynode', 'resume prod-milvus-proxy']);
    const said = (await store.log(r.id)).filter((e) => e.type === 'audit' && e.action === 'resumed what was left paused');
    expect(said).toHaveLength(1);
    expect(said[0]!.type === 'audit' && said[0]!.detail).toMatch(/resumed .*proxy.*: the bot had left them paused and no request was acting on prod/);
  });

  it('after Redis lost the request\'s record (the lock is all that is left): resumed too', async () => {
    const r = await store.create({ kind: 'upgrade', plan: fakePlan('prod'), requester: alice, approvalsNeeded: 0, allowSelfApproval: true, ttlMs: 3_600_000 });
    await env.redis.del(store.key('req', r.id));
    const ports = leftPaused();
    await reconcile(ports);
    expect(paused(ports)).toEqual(['datanode']);
  });

  it('while a request acts on the release: nothing is touched', async () => {
    const r = await store.create({ kind: 'upgrade', plan: fakePlan('prod'), requester: alice, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 3_600_000 });
    await store.setPhase(r.id, 'running', alice);
    await queue.enqueue(r.id);
    const ports = leftPaused();
    await reconcile(ports);
    expect(paused(ports)).toEqual(['datanode', 'proxy', 'querynode']);
    expect(ports.cluster.pauseLog).toEqual([]);
  });

  /** The sweep as the worker wires it: also the releases Kubernetes shows paused by the bot. */
  const reconcileFromCluster = (ports: FakePorts) =>
    reconcileOnce({
      store,
      queue: queue.queue,
      logger,
      sweepPaused: (t) => resumeReleaseLeftPaused(t.namespace, t.release, ports, () => {}, 10),
      pausedReleases: async () => (await ports.cluster.releasesPausedByBot()).map((release) => ({ cluster: 'test', namespace: 'default', release })),
    });

  it('after Redis lost everything, locks included: found from the pause mark in Kubernetes and resumed', async () => {
    const ports = leftPaused();
    expect(await store.locks()).toEqual([]);
    await reconcileFromCluster(ports);
    expect(paused(ports)).toEqual(['datanode']);
    expect(ports.cluster.pauseLog).toEqual(['resume prod-milvus-querynode', 'resume prod-milvus-proxy']);
  });

  it('found in Kubernetes while a request acts on the release: nothing is touched', async () => {
    const r = await store.create({ kind: 'upgrade', plan: fakePlan('prod'), requester: alice, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 3_600_000 });
    await store.setPhase(r.id, 'running', alice);
    await queue.enqueue(r.id);
    const ports = leftPaused();
    await reconcileFromCluster(ports);
    expect(paused(ports)).toEqual(['datanode', 'proxy', 'querynode']);
  });
});
