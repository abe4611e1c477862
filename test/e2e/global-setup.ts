import type { TestProject } from 'vitest/node';
import { down, status, up, type ClusterInfo } from '../harness/control-plane.js';

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
    if (!before.running && !process.env.KEEP_CLUSTER) await down();
  };
}
