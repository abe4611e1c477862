import { connectCluster, type Connection } from './cluster/connect.js';
import type { MilvusAccessSettings } from './cluster/milvus-access.js';
import type { BackupAccessSettings } from './cluster/backup-access.js';
import type { EngineAccess } from './jobs/execute.js';
import { runningVersion, type PlanSettings } from './upgrade/plan.js';
import type { UpgradeEngine } from './upgrade/ports.js';
import { isMilvusRelease } from './upgrade/milvus/charts.js';
import { listVersions, makeRestorePlan, makeRollbackPlan, makeUpgradePlan, observeRelease } from './upgrade/planner/service.js';
import { readPlanData } from './upgrade/planner/data-gate.js';

export interface EngineAccessOptions {
  readonly kubeconfig?: string;
  readonly defaultContext?: string;
  readonly helmBin?: string;
  readonly helmEnv?: Readonly<Record<string, string>>;
  readonly settings: PlanSettings;
  /** Milvus's address and credentials per cluster (context name; '' for every other one). */
  readonly milvus?: (cluster: string | undefined) => MilvusAccessSettings | undefined;
  /** The milvus-backup server template and policy per cluster. */
  readonly backups?: (cluster: string | undefined) => BackupAccessSettings | undefined;
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
        milvus: options.milvus?.(cluster ?? options.defaultContext),
        backups: options.backups?.(cluster ?? options.defaultContext),
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
      const state = await observeRelease(conn, namespace, release);
      const [restarts, data] = await Promise.all([restartsOf(conn, namespace, release), conn.milvus?.checks === 'required' ? readPlanData(conn.milvus, state, { withCanaries: false }) : null]);
      const milvus = data ? (data.snapshot ?? { notRead: data.notChecked ?? 'not read' }) : null;
      return { state, running: runningVersion(state).text, ...(restarts ? { restarts } : {}), ...(milvus ? { milvus } : {}) };
    },
    releases: async (cluster, namespace) => (await access.forName(cluster).releases(namespace)).filter(isMilvusRelease),
    planUpgrade: (cluster, input) => makeUpgradePlan(access.forName(cluster), input),
    planRollback: (cluster, namespace, release) => makeRollbackPlan(access.forName(cluster), namespace, release),
    planRestore: (cluster, input) => makeRestorePlan(access.forName(cluster), input),
  };
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
