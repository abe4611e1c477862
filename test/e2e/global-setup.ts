import type { TestProject } from 'vitest/node';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { down, status, up, type ClusterInfo } from '../harness/control-plane.js';
import { REDIS_URL, deleteKeys } from '../integration/redis.js';

/** Removes what the CLI processes of THIS run wrote to Redis (their audit trails): another
 * run on the same machine and Redis keeps its own. */
async function deleteCliKeys(runId: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    await deleteKeys(redis, `e2e-cli-${runId}-*`);
  } finally {
    redis.disconnect();
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: ClusterInfo;
    runId: string;
  }
}

/** Starts the control plane unless one is already running; stops it after only if it started it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const before = await status();
  const info = await up();
  project.provide('cluster', info);
  const runId = randomBytes(4).toString('hex');
  project.provide('runId', runId);
  return async () => {
    await deleteCliKeys(runId);
    if (!before.running && !process.env.KEEP_CLUSTER) await down();
  };
}
