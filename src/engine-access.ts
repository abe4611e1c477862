import { connectCluster, type Connection } from './cluster/connect.js';
import type { EngineAccess } from './jobs/execute.js';
import { runningVersion, type PlanSettings } from './upgrade/plan.js';
import type { UpgradeEngine } from './upgrade/ports.js';
import { listVersions, makeRollbackPlan, makeUpgradePlan, observeRelease } from './upgrade/service.js';

export interface EngineAccessOptions {
  readonly kubeconfig?: string;
  readonly defaultContext?: string;
  readonly helmBin?: string;
  readonly helmEnv?: Readonly<Record<string, string>>;
  readonly settings: PlanSettings;
}

/**
 * One set of adapters per cluster (kubeconfig context), made on first use. The plan records the
 * context name it was made for, so a job runs against the same cluster it was approved on.
 */
export function createEngineAccess(options: EngineAccessOptions): EngineAccess & { default(): Connection; forName(cluster?: string): Connection; close(): void } {
  const cache = new Map<string, Connection>();
  const forName = (cluster?: string): Connection => {
    const key = cluster ?? '';
    let conn = cache.get(key);
    if (!conn) {
      conn = connectCluster({
        kubeconfig: options.kubeconfig,
        context: cluster ?? options.defaultContext,
        helmBin: options.helmBin,
        helmEnv: options.helmEnv,
        settings: options.settings,
      });
      cache.set(key, conn);
      cache.set(conn.clusterName, conn);
    }
    return conn;
  };
  return {
    forCluster: (cluster) => {
      const conn = forName(cluster);
      return { deps: conn, ports: conn.ports };
    },
    default: () => forName(undefined),
    forName,
    close: () => {
      for (const conn of new Set(cache.values())) conn.close();
    },
  };
}

/** The engine as the bot uses it (read and plan), over the same per-cluster adapters. */
export function createUpgradeEngine(access: ReturnType<typeof createEngineAccess>): UpgradeEngine {
  return {
    clusterName: (cluster) => cluster ?? access.default().clusterName,
    versions: (cluster) => listVersions(access.forName(cluster)),
    status: async (cluster, namespace, release) => {
      const state = await observeRelease(access.forName(cluster), namespace, release);
      return { state, running: runningVersion(state).text };
    },
    planUpgrade: (cluster, input) => makeUpgradePlan(access.forName(cluster), input),
    planRollback: (cluster, namespace, release) => makeRollbackPlan(access.forName(cluster), namespace, release),
  };
}
