import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEngineAccess } from '../../src/engine-access.js';
import { UpgradeQueue } from '../../src/jobs/queue.js';
import { RedisRequestStore } from '../../src/jobs/requests.js';
import { createUpgradeWorker } from '../../src/jobs/worker.js';
import { createLogger } from '../../src/log.js';
import { deriveState, type Actor, type LogEntry } from '../../src/upgrade/requests.js';
import { makeUpgradePlan } from '../../src/upgrade/planner/service.js';
import { HELM_BIN, startExtraApiserver } from '../harness/control-plane.js';
import { REDIS_URL, testRedis } from '../integration/redis.js';
import { testSettings, until } from './engine.js';
import { cluster, deployments, installRelease, newNamespace } from './helpers.js';
import { freePort, ping, startRedis } from './private-redis.js';
import { sealApproved, testSealer } from '../fixtures/test-sealer.js';

const alice: Actor = { id: 'U0ALICE', via: 'slack' };
const bob: Actor = { id: 'U0BOB', via: 'slack' };

type Engine = ReturnType<typeof createEngineAccess>;

/** An approved request run by an in-process worker on the given Redis and engine. */
async function runThroughQueue(redisUrl: string, prefix: string, engine: Engine, input: { release: string; namespace: string; version: string; strategy?: string }) {
  const conn = () => new Redis(redisUrl, { maxRetriesPerRequest: null }).on('error', () => {});
  const storeConn = conn();
  const store = new RedisRequestStore(storeConn, prefix);
  const plan = await makeUpgradePlan(engine.default(), input);
  const req = await store.create({ kind: 'upgrade', plan, requester: alice, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 3_600_000 });
  await store.approve(req.id, bob);
  const queueConn = conn();
  const queue = new UpgradeQueue({ connection: queueConn, prefix, backoffMs: 300 });
  const workerConn = conn();
  const subscriber = conn();
  const worker = await createUpgradeWorker({ connection: workerConn, subscriber, prefix, store, engine, sealer: testSealer, logger: createLogger({ level: 'silent' }), pollIntervalMs: 200 });
  await sealApproved(store, req.id);
  await queue.enqueue(req.id);
  return {
    store,
    id: req.id,
    finished: () =>
      until('the request to end', 150_000, async () => {
        const r = await store.require(req.id);
        const s = deriveState(r, Date.now());
        return s === 'succeeded' || s === 'failed' ? r : null;
      }, 250),
    close: async () => {
      await worker.close();
      await queue.close();
      for (const c of [storeConn, queueConn, workerConn, subscriber]) c.disconnect();
    },
  };
}

const stepStarted = (log: LogEntry[], index: number) => log.some((e) => e.type === 'run' && e.event.type === 'step-started' && e.event.index === index);

describe('faults on the control plane', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  let dir: string;
  beforeEach(async () => {
    ns = await newNamespace('e2e-fault');
    dir = mkdtempSync(join(tmpdir(), 'mub-fault-'));
  });
  afterEach(async () => {
    await ns.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('kube-apiserver gone for a few seconds mid-rollout: the job waits, retries and finishes', async () => {
    await installRelease(ns.name, 'apifault', '4.0.31');
    const extra = await startExtraApiserver(cluster(), dir);
    const redis = await testRedis();
    const engine = createEngineAccess({ kubeconfig: extra.kubeconfig, helmEnv: cluster().helmEnv, settings: testSettings() });
    const run = await runThroughQueue(REDIS_URL, redis.prefix, engine, { release: 'apifault', namespace: ns.name, version: '2.4.23', strategy: 'rolling' });
    try {
      await until('the third Deployment to start rolling', 60_000, async () => stepStarted(await run.store.log(run.id), 3));
      await extra.stop();
      await new Promise((r) => setTimeout(r, 4000));
      await extra.start();
      const done = await run.finished();
      expect(done.error).toBeNull();
      expect(deriveState(done, Date.now())).toBe('succeeded');
      const log = await run.store.log(run.id);
      const noticed = log.some((e) => (e.type === 'run' && e.event.type === 'step-progress' && /unreachable|retrying/.test(e.event.message)) || (e.type === 'audit' && e.action === 'transient error, will retry'));
      expect(noticed).toBe(true);
      for (const d of await deployments(ns.name, 'apifault')) expect(d.image).toBe('milvusdb/milvus:v2.4.23');
    } finally {
      await run.close();
      await extra.stop();
      await redis.cleanup();
    }
  });

  it('Redis restarted mid-job (persisting, on its own port): nothing is lost and the work goes on', async () => {
    await installRelease(ns.name, 'redisfault', '4.0.31');
    const port = await freePort();
    const redisUrl = `redis://127.0.0.1:${port}`;
    let server = startRedis(port, dir);
    await until('redis to answer', 10_000, async () => ping(port));
    const engine = createEngineAccess({ kubeconfig: cluster().kubeconfig, helmEnv: cluster().helmEnv, settings: testSettings() });
    const run = await runThroughQueue(redisUrl, 'faults:', engine, { release: 'redisfault', namespace: ns.name, version: '2.4.23', strategy: 'rolling' });
    try {
      await until('the second Deployment to start rolling', 60_000, async () => stepStarted(await run.store.log(run.id), 2));
      server.kill('SIGKILL');
      await new Promise((r) => server.once('exit', r));
      await new Promise((r) => setTimeout(r, 1500));
      server = startRedis(port, dir);
      const done = await run.finished();
      expect(done.error).toBeNull();
      expect(deriveState(done, Date.now())).toBe('succeeded');
      expect(done.approvals.map((v) => v.by.id)).toEqual(['U0BOB']);
      const log = await run.store.log(run.id);
      // Every step's start and end are in the log, in order.
      const events = log.flatMap((e) => (e.type === 'run' && (e.event.type === 'step-started' || e.event.type === 'step-finished') ? [`${e.event.type}:${e.event.index}`] : []));
      const steps = done.plan.steps.length;
      for (let i = 0; i < steps; i++) {
        expect(events.indexOf(`step-started:${i}`), `step ${i} started`).toBeGreaterThanOrEqual(0);
        expect(events.lastIndexOf(`step-finished:${i}`)).toBeGreaterThan(events.indexOf(`step-started:${i}`));
      }
      expect(log.filter((e) => e.type === 'audit').map((e) => (e.type === 'audit' ? e.action : ''))).toEqual(expect.arrayContaining(['requested upgrade', 'approved', 'queued', 'running', 'succeeded']));
      for (const d of await deployments(ns.name, 'redisfault')) expect(d.image).toBe('milvusdb/milvus:v2.4.23');
    } finally {
      await run.close();
      server.kill('SIGKILL');
    }
  });

  it('helm "another operation is in progress" is retried; a --wait timeout is not, and says why', async () => {
    await installRelease(ns.name, 'helmfault', '4.1.24');
    // A helm that fails its first two upgrades the way a concurrent operation makes it fail
    // (the plan's dry-run rendering is not an upgrade: it passes).
    const counter = join(dir, 'failures');
    writeFileSync(counter, '0');
    const wrapper = join(dir, 'helm');
    writeFileSync(wrapper, `#!/usr/bin/env bash
if [ "$1" = upgrade ] && [[ "$*" != *--dry-run* ]] && [ "$(cat '${counter}')" -lt 2 ]; then
  echo $(( $(cat '${counter}') + 1 )) > '${counter}'
  echo "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress" >&2
  exit 1
fi
exec '${HELM_BIN}' "$@"
`);
    chmodSync(wrapper, 0o755);
    const redis = await testRedis();
    const engine = createEngineAccess({ kubeconfig: cluster().kubeconfig, helmEnv: cluster().helmEnv, helmBin: wrapper, settings: testSettings({ helmTimeoutSeconds: 60 }) });
    const run = await runThroughQueue(REDIS_URL, redis.prefix, engine, { release: 'helmfault', namespace: ns.name, version: '2.4.5' });
    try {
      const done = await run.finished();
      expect(done.error).toBeNull();
      expect(readFileSync(counter, 'utf8').trim()).toBe('2');
      const retries = (await run.store.log(run.id)).filter((e) => e.type === 'audit' && e.action === 'transient error, will retry');
      expect(retries).toHaveLength(2);
    } finally {
      await run.close();
    }

    const stuck = await runThroughQueue(REDIS_URL, redis.prefix, createEngineAccess({ kubeconfig: cluster().kubeconfig, helmEnv: cluster().helmEnv, settings: testSettings({ helmTimeoutSeconds: 3 }) }), { release: 'helmfault', namespace: ns.name, version: '2.4.23-never-ready', strategy: 'helm-parallel' });
    try {
      const failed = await stuck.finished();
      expect(deriveState(failed, Date.now())).toBe('failed');
      expect(failed.error).toMatch(/helm upgrade failed: .*(context deadline exceeded|timed out)/);
      const retries = (await stuck.store.log(stuck.id)).filter((e) => e.type === 'audit' && e.action === 'transient error, will retry');
      expect(retries).toHaveLength(0);
    } finally {
      await stuck.close();
      await redis.cleanup();
    }
  });
});
