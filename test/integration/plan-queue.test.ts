/**
 * Plans rendered by workers, over real Redis and BullMQ: the bot's RemotePlanner adds a job and
 * gets the plan or the engine's own refusal back; with no worker it says so within its timeout and
 * takes the job back. The engine here is a stand-in (the rendering itself is tested end to end).
 */
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { Redis } from 'ioredis';
import type { QueueEvents, Queue, Worker } from 'bullmq';
import { RemotePlanner, createPlanWorker, planQueue, planQueueEvents, type PlanJobData, type PlanJobResult } from '../../src/jobs/plan-queue.js';
import { PreflightError, UpgradeError } from '../../src/upgrade/errors.js';
import type { UpgradeEngine } from '../../src/upgrade/ports.js';
import { fakePlan } from './plans.js';
import { REDIS_URL, testRedis } from './redis.js';

const logger = pino({ level: 'silent' });
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function setUp(engine: (Pick<UpgradeEngine, 'planUpgrade' | 'planRollback'> & Partial<Pick<UpgradeEngine, 'status' | 'releases'>>) | null, timeoutMs = 10_000) {
  const redis = await testRedis();
  const conns = [0, 1, 2].map(() => new Redis(REDIS_URL, { maxRetriesPerRequest: null }));
  const queue: Queue<PlanJobData, PlanJobResult> = planQueue(conns[0]!, redis.prefix);
  const events: QueueEvents = planQueueEvents(conns[1]!, redis.prefix);
  await events.waitUntilReady();
  let worker: Worker | null = null;
  if (engine) {
    worker = createPlanWorker({ connection: conns[2]!, prefix: redis.prefix, engine, logger, concurrency: 2 });
    await worker.waitUntilReady();
  }
  closers.push(async () => {
    await worker?.close(true);
    await events.close();
    await queue.close();
    for (const c of conns) c.disconnect();
    await redis.cleanup();
  });
  return { planner: new RemotePlanner({ queue, events, timeoutMs }), queue };
}

const input = { release: 'my-release', namespace: 'ns1', version: '2.4.23', strategy: 'rolling', allowDataChanges: null };

describe('plans rendered on a worker', () => {
  it('returns the plan the worker rendered, for the cluster and input asked', async () => {
    const seen: unknown[] = [];
    const { planner } = await setUp({
      planUpgrade: async (cluster, i) => {
        seen.push({ cluster, i });
        return fakePlan(i.release, i.namespace, cluster ?? 'default');
      },
      planRollback: async () => {
        throw new Error('not asked');
      },
    });
    const plan = await planner.planUpgrade('second', input);
    expect(plan.id).toBe('second/ns1/my-release@2.4.23');
    expect(seen).toEqual([{ cluster: 'second', i: input }]);
  });

  it('a refusal comes back with its code, message and details (not flattened into one string)', async () => {
    const { planner } = await setUp({
      planUpgrade: async () => {
        throw new PreflightError('my-release is not healthy', ['querynode 0/2 ready', 'fix it first']);
      },
      planRollback: async () => {
        throw new UpgradeError('not-found', 'release gone is not installed');
      },
    });
    const err = await planner.planUpgrade(undefined, input).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpgradeError);
    expect(err).toMatchObject({ code: 'preflight', message: 'my-release is not healthy', details: ['querynode 0/2 ready', 'fix it first'] });
    await expect(planner.planRollback(undefined, 'ns1', 'gone')).rejects.toMatchObject({ code: 'not-found', message: 'release gone is not installed' });
  });

  it('an unexpected error on the worker is shown by its message, not as a refusal code', async () => {
    const { planner } = await setUp({
      planUpgrade: async () => {
        throw new TypeError('boom inside the engine');
      },
      planRollback: async () => fakePlan(),
    });
    const err = await planner.planUpgrade(undefined, input).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(UpgradeError);
    expect((err as Error).message).toBe('boom inside the engine');
  });

  it('renders several plans side by side (any worker may take any plan)', async () => {
    let inFlight = 0;
    let most = 0;
    const { planner } = await setUp({
      planUpgrade: async (cluster, i) => {
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 200));
        inFlight--;
        return fakePlan(i.release, i.namespace, cluster ?? 'default');
      },
      planRollback: async () => fakePlan(),
    });
    const plans = await Promise.all(['a', 'b', 'c', 'd'].map((r) => planner.planUpgrade(undefined, { ...input, release: r })));
    expect(plans.map((p) => p.release)).toEqual(['a', 'b', 'c', 'd']);
    expect(most).toBe(2);
  });

  it('with no worker running: says so at once, and queues nothing (issue 25: no slot held for the whole timeout)', async () => {
    const { planner, queue } = await setUp(null, 30_000);
    const t0 = Date.now();
    const err = await planner.planUpgrade(undefined, input).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(err).toMatchObject({ code: 'transient' });
    expect((err as Error).message).toBe('no worker or planner is running to render the plan of my-release to 2.4.23: nothing was changed');
    expect(await queue.getJobCounts('waiting', 'active', 'delayed')).toEqual({ waiting: 0, active: 0, delayed: 0 });
  });

  it('with every worker busy: says so after the timeout, and takes the job back so nobody renders it later', async () => {
    const { planner, queue } = await setUp(
      {
        planUpgrade: async (cluster, i) => {
          await new Promise((r) => setTimeout(r, 4000));
          return fakePlan(i.release, i.namespace, cluster ?? 'default');
        },
        planRollback: async () => fakePlan(),
      },
      1500,
    );
    // The worker renders two at once: the third waits, and nobody takes it in time.
    const busy = ['a', 'b'].map((r) => planner.planUpgrade(undefined, { ...input, release: r }).catch(() => null));
    await new Promise((r) => setTimeout(r, 300));
    const err = await planner.planUpgrade(undefined, input).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'transient' });
    expect((err as Error).message).toMatch(/no worker took the plan of my-release to 2\.4\.23 within 2 s: nothing was changed/);
    expect((await queue.getJobCounts('waiting')).waiting).toBe(0);
    await Promise.all(busy);
  });
});

/**
 * Split mode: the bot's ServiceAccount reads no Secret, and helm keeps its release records in
 * Secrets, so the reads that need them (status, the App Home's releases) are a worker's too.
 */
describe('reads of helm\'s records done by a worker for the bot', () => {
  const notAsked = async (): Promise<never> => {
    throw new Error('not asked');
  };
  const helmInfo = { name: 'my-release', namespace: 'ns1', revision: 3, status: 'deployed', chart: 'milvus-4.2.20', chartVersion: '4.2.20', appVersion: '2.4.23' };

  it('status and the releases of a namespace come back as the worker read them', async () => {
    const seen: unknown[] = [];
    const { planner } = await setUp({
      planUpgrade: notAsked,
      planRollback: notAsked,
      status: async (cluster, namespace, release) => {
        seen.push(['status', cluster, namespace, release]);
        return { state: { release, namespace } as never, running: '2.4.23', restarts: { proxy: 1 } };
      },
      releases: async (cluster, namespace) => {
        seen.push(['releases', cluster, namespace]);
        return [helmInfo] as never;
      },
    });
    expect(await planner.status('second', 'ns1', 'my-release')).toEqual({ state: { release: 'my-release', namespace: 'ns1' }, running: '2.4.23', restarts: { proxy: 1 } });
    expect(await planner.releases(undefined, 'ns1')).toEqual([helmInfo]);
    expect(seen).toEqual([['status', 'second', 'ns1', 'my-release'], ['releases', undefined, 'ns1']]);
  });

  it('a refusal of a read comes back with its code and message', async () => {
    const { planner } = await setUp({
      planUpgrade: notAsked,
      planRollback: notAsked,
      status: async () => {
        throw new UpgradeError('not-found', 'release gone not found in namespace ns1');
      },
      releases: notAsked,
    });
    await expect(planner.status(undefined, 'ns1', 'gone')).rejects.toMatchObject({ code: 'not-found', message: 'release gone not found in namespace ns1' });
  });

  it('with no worker running: a read is refused at once, saying why', async () => {
    const { planner, queue } = await setUp(null, 30_000);
    const t0 = Date.now();
    const err = await planner.status(undefined, 'ns1', 'my-release').catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(err).toMatchObject({ code: 'transient', message: 'no worker or planner is running to read the status of my-release: nothing was changed' });
    await expect(planner.releases(undefined)).rejects.toMatchObject({ message: 'no worker or planner is running to read the releases of every namespace: nothing was changed' });
    expect(await queue.getJobCounts('waiting', 'active', 'delayed')).toEqual({ waiting: 0, active: 0, delayed: 0 });
  });
});
