import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createEngineAccess } from '../../src/engine-access.js';
import { DEFAULT_PLAN_SETTINGS, type PlanSettings } from '../../src/upgrade/plan.js';
import { REPO_ROOT } from '../harness/control-plane.js';
import { REDIS_URL } from '../integration/redis.js';
import { cluster } from './helpers.js';
import { TEST_SEAL_KEY } from '../fixtures/test-sealer.js';

/** Settings for the test cluster: its chart repo, short waits. */
export function testSettings(over: Partial<PlanSettings> = {}): PlanSettings {
  return { ...DEFAULT_PLAN_SETTINGS, repoUrl: cluster().chartRepoUrl, coordinatorMinReadySeconds: 1, rolloutTimeoutSeconds: 120, healthSettleSeconds: 1, ...over };
}

export function testEngine(over: Partial<PlanSettings> = {}) {
  return createEngineAccess({ kubeconfig: cluster().kubeconfig, helmEnv: cluster().helmEnv, settings: testSettings(over) });
}

/** The env a bot/worker process gets in tests: the test cluster, the test's Redis prefix. */
export function processEnv(prefix: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const info = cluster();
  return {
    ...process.env,
    ...info.helmEnv,
    KUBECONFIG: info.kubeconfig,
    REDIS_URL,
    KEY_PREFIX: prefix,
    MILVUS_CHART_REPO_URL: info.chartRepoUrl,
    COORDINATOR_MIN_READY_SECONDS: '1',
    HEALTH_SETTLE_SECONDS: '1',
    // The releases of most tests have no Milvus to read (no fake serves them): the data gate's
    // own tests turn the checks on and point MILVUS_ADDRESS at a fake Milvus.
    MILVUS_DATA_CHECKS: 'off',
    POLL_INTERVAL_MS: '200',
    JOB_LOCK_MS: '2000',
    JOB_STALLED_INTERVAL_MS: '1000',
    JOB_BACKOFF_MS: '500',
    LOG_LEVEL: 'info',
    // One key for every process of a test and for the test's own seals (the chart's Secret in production).
    APPROVAL_SEAL_KEY: TEST_SEAL_KEY,
    // Every process its own free port for /healthz and /metrics.
    PORT: '0',
    ...extra,
  };
}

/** A worker as its own OS process (so it can be SIGKILLed like a crashed pod). */
export function spawnWorker(prefix: string, extra: Record<string, string> = {}): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'main.ts')], {
    env: processEnv(prefix, { ROLES: 'worker', ...extra }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d) => (output += String(d)));
  child.stderr?.on('data', (d) => (output += String(d)));
  return { child, output: () => output };
}

export async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | null | undefined | false>, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
