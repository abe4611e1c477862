/**
 * A redeploy of the worker during `helm upgrade --wait`: SIGTERM lets helm finish and hands the
 * job on; SIGKILL (the pod gone, helm with it) leaves "pending-upgrade", which the next run
 * recognises as its own interrupted upgrade and recovers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UpgradeQueue } from '../../src/jobs/queue.js';
import { RedisRequestStore } from '../../src/jobs/requests.js';
import { makeUpgradePlan } from '../../src/upgrade/planner/service.js';
import { deriveState, type Actor, type LogEntry, type UpgradeRequest } from '../../src/upgrade/requests.js';
import { REPO_ROOT } from '../harness/control-plane.js';
import { REDIS_URL, testRedis } from '../integration/redis.js';
import { processEnv, testEngine, until } from './engine.js';
import { helmStatus, imagesByComponent, installRelease, newNamespace } from './helpers.js';
import { pausedDeployments } from './rollout-watch.js';
import { sealApproved } from '../fixtures/test-sealer.js';

const alice: Actor = { id: 'U0ALICE', via: 'slack' };
const bob: Actor = { id: 'U0BOB', via: 'slack' };
// The new proxy pod becomes ready only after this: helm's --wait lasts at least as long.
const SLOW_PROXY = { 'proxy.annotations.fake-kubelet/start-delay-ms': '8000' };

/** A worker process in a process group of its own, so it can die with its helm like a pod. */
function startWorker(prefix: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'main.ts')], {
    env: processEnv(prefix, { ROLES: 'worker', SHUTDOWN_GRACE_SECONDS: '120' }),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout?.on('data', (d) => (output += String(d)));
  child.stderr?.on('data', (d) => (output += String(d)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

const starts = (log: LogEntry[], index: number) => log.filter((e) => e.type === 'run' && e.event.type === 'step-started' && e.event.index === index).length;

describe('worker shutdown during helm upgrade --wait', () => {
  let env: Awaited<ReturnType<typeof testRedis>>;
  let store: RedisRequestStore;
  let queue: UpgradeQueue;
  let queueConn: Redis;
  let ns: { name: string; cleanup: () => Promise<void> };
  const children: ChildProcess[] = [];
  beforeEach(async () => {
    env = await testRedis();
    store = new RedisRequestStore(env.redis, env.prefix);
    queueConn = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    queue = new UpgradeQueue({ connection: queueConn, prefix: env.prefix, backoffMs: 300 });
    ns = await newNamespace('e2e-shutdown');
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode !== null || c.signalCode !== null || !c.pid) continue;
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    await queue.close();
    queueConn.disconnect();
    await ns.cleanup();
    await env.cleanup();
  });

  async function queuedUpgrade(release: string, strategy: 'helm' | 'helm-parallel' = 'helm-parallel', slow: Record<string, string> = SLOW_PROXY): Promise<UpgradeRequest> {
    await installRelease(ns.name, release, '4.1.24', slow);
    // Plain helm by default: most of this is about a shutdown inside one long `helm upgrade --wait`.
    const plan = await makeUpgradePlan(testEngine().default(), { release, namespace: ns.name, version: '2.4.5', strategy });
    if (strategy === 'helm-parallel') expect(plan.steps.map((s) => s.kind)).toEqual(['helm-repo-update', 'helm-upgrade', 'wait-rollout', 'check-health']);
    const req = await store.create({ kind: 'upgrade', plan, requester: alice, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 3_600_000 });
    await store.approve(req.id, bob);
    await sealApproved(store, req.id);
    await queue.enqueue(req.id);
    return req;
  }

  const helmPending = (release: string) => until('helm upgrade to be under way', 60_000, async () => (await helmStatus(ns.name, release)).status === 'pending-upgrade', 100);
  const finished = (id: string) =>
    until('the request to end', 120_000, async () => {
      const r = await store.require(id);
      const s = deriveState(r, Date.now());
      return s === 'succeeded' || s === 'failed' ? r : null;
    }, 250);

  it('SIGTERM: helm completes, the job is handed on before its next step, the request succeeds', async () => {
    const req = await queuedUpgrade('graceful');
    const first = startWorker(env.prefix);
    children.push(first.child);
    await helmPending('graceful');
    first.child.kill('SIGTERM'); // only the process, as Kubernetes signals a container's PID 1
    expect(await first.exited, first.output()).toBe(0);
    // helm was not cut short: the release is deployed on the new chart, once.
    expect(await helmStatus(ns.name, 'graceful')).toMatchObject({ revision: 2, status: 'deployed', chart: 'milvus-4.1.36' });
    const between = await store.require(req.id);
    expect(deriveState(between, Date.now())).toBe('running');
    expect(between.completedSteps).toBe(2);
    expect((await store.log(req.id)).some((e) => e.type === 'audit' && e.action === 'interrupted')).toBe(true);

    const second = startWorker(env.prefix);
    children.push(second.child);
    const done = await finished(req.id);
    expect(done.error, second.output()).toBeNull();
    expect(deriveState(done, Date.now())).toBe('succeeded');
    const log = await store.log(req.id);
    expect(starts(log, 1)).toBe(1); // helm upgrade ran once
    expect(starts(log, 2)).toBe(1);
    expect((await helmStatus(ns.name, 'graceful')).revision).toBe(2);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('SIGKILL while the ordered path has Deployments paused: another worker goes on in order, and nothing is left paused', async () => {
    const req = await queuedUpgrade('paused', 'helm', { 'queryNode.annotations.fake-kubelet/start-delay-ms': '8000' });
    const resumeQuerynode = req.plan.steps.findIndex((s) => s.kind === 'resume-deployments' && s.component === 'querynode');
    expect(resumeQuerynode).toBeGreaterThan(3);
    const first = startWorker(env.prefix);
    children.push(first.child);
    // The querynode (slow to become ready) is rolling; the proxy, resumed after it, is still paused.
    await until('the querynode to be resumed', 90_000, async () => starts(await store.log(req.id), resumeQuerynode) > 0, 100);
    process.kill(-first.child.pid!, 'SIGKILL');
    const pausedAtKill = await pausedDeployments(ns.name);
    await first.exited;
    expect(deriveState(await store.require(req.id), Date.now())).toBe('running');

    const second = startWorker(env.prefix);
    children.push(second.child);
    const done = await finished(req.id);
    expect(done.error, second.output()).toBeNull();
    expect(deriveState(done, Date.now())).toBe('succeeded');
    const log = await store.log(req.id);
    expect(starts(log, 1)).toBe(1); // paused once
    expect(starts(log, 2)).toBe(1); // helm upgrade once
    expect(pausedAtKill).toContain('paused-milvus-proxy');
    expect(await pausedDeployments(ns.name)).toEqual([]);
    expect(await helmStatus(ns.name, 'paused')).toMatchObject({ revision: 2, status: 'deployed', chart: 'milvus-4.1.36' });
    expect(new Set(Object.values(await imagesByComponent(ns.name, 'paused')))).toEqual(new Set(['milvusdb/milvus:v2.4.5']));
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('SIGKILL inside helm: the next run recognises its own interrupted upgrade, rolls back and upgrades again', async () => {
    const req = await queuedUpgrade('killed');
    const first = startWorker(env.prefix);
    children.push(first.child);
    await helmPending('killed');
    process.kill(-first.child.pid!, 'SIGKILL'); // the whole pod: the worker and its helm
    await first.exited;
    expect(await helmStatus(ns.name, 'killed')).toMatchObject({ revision: 2, status: 'pending-upgrade' });

    const second = startWorker(env.prefix);
    children.push(second.child);
    const done = await finished(req.id);
    expect(done.error, second.output()).toBeNull();
    expect(deriveState(done, Date.now())).toBe('succeeded');
    // Rolled back to revision 1 (revision 3), then upgraded again (revision 4).
    expect(await helmStatus(ns.name, 'killed')).toMatchObject({ revision: 4, status: 'deployed', chart: 'milvus-4.1.36' });
    const images = Object.values(await imagesByComponent(ns.name, 'killed'));
    expect(new Set(images)).toEqual(new Set(['milvusdb/milvus:v2.4.5']));
    const said = (await store.log(req.id)).flatMap((e) => (e.type === 'run' && e.event.type === 'step-progress' ? [e.event.message] : []));
    expect(said.some((m) => /interrupted \(revision 2 left "pending-upgrade"\): rolling back to revision 1/.test(m))).toBe(true);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});
