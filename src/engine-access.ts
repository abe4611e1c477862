import { connectCluster, type Connection } from './cluster/connect.js';
import type { EngineAccess } from './jobs/execute.js';
import { runningVersion, type PlanSettings } from './upgrade/plan.js';
import type { UpgradeEngine } from './upgrade/ports.js';
import type { HelmReleaseInfo } from './upgrade/state.js';
import { listVersions, makeRollbackPlan, makeUpgradePlan, observeRelease } from './upgrade/planner/service.js';

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
      const conn = access.forName(cluster);
      const [state, restarts] = await Promise.all([observeRelease(conn, namespace, release), restartsOf(conn, namespace, release)]);
      return { state, running: runningVersion(state).text, ...(restarts ? { restarts } : {}) };
    },
    releases: async (cluster, namespace) => (await access.forName(cluster).releases(namespace)).filter(isMilvusChart),
    planUpgrade: (cluster, input) => makeUpgradePlan(access.forName(cluster), input),
    planRollback: (cluster, namespace, release) => makeRollbackPlan(access.forName(cluster), namespace, release),
  };
}

/** Releases of the Milvus chart (`milvus-<version>`); helm keeps every other release too. */
function isMilvusChart(r: HelmReleaseInfo): boolean {
  return r.chart === `milvus-${r.chartVersion}`;
}

/** Restarts per component, for status; a status without them beats no status, so a failed read gives none. */
async function restartsOf(conn: Connection, namespace: string, release: string): Promise<Record<string, number> | null> {
  try {
    const pods = await conn.kube.podsHealth(namespace, release);
    const out: Record<string, number> = {};
    for (const p of pods) out[p.component] = (out[p.component] ?? 0) + p.containers.reduce((n, c) => n + c.restartCount, 0);
    return out;
  } catch {
    return null;
  }
}
