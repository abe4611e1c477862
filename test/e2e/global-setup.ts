import type { TestProject } from 'vitest/node';
import { Redis } from 'ioredis';
import { down, status, up, type ClusterInfo } from '../harness/control-plane.js';
import { REDIS_URL, deleteKeys } from '../integration/redis.js';

/** Removes what the CLI processes of the e2e tests wrote to Redis (their audit trails). */
async function deleteCliKeys(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    await deleteKeys(redis, 'e2e-cli-*');
  } finally {
    redis.disconnect();
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: ClusterInfo;
  }
}

/** Starts the control plane unless one is already running; stops it after only if it started it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const before = await status();
  const info = await up();
  project.provide('cluster', info);
  return async () => {
    await deleteCliKeys();
    if (!before.running && !process.env.KEEP_CLUSTER) await down();
  };
}
