/**
 * Builders for the plain-data state the domain plans from, and the real chart index fixture.
 * Pure data only: nothing here touches a network or a cluster.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ChartEntry } from '../../src/upgrade/milvus/charts.js';
import { milvusFullname } from '../../src/upgrade/milvus/names.js';
import { DEFAULT_PLAN_SETTINGS, runningVersion, type Plan, type PlanSettings, type Strategy } from '../../src/upgrade/plan.js';
import { planUpgrade } from '../../src/upgrade/planner/upgrade.js';
import { joinRoute, stateAfter, waypoints } from '../../src/upgrade/planner/route.js';
import { parseVersion } from '../../src/upgrade/milvus/version.js';
import type { UpgradeRequest } from '../../src/upgrade/requests.js';
import { isCoordinator } from '../../src/upgrade/milvus/components.js';
import type { ComponentState, HelmReleaseInfo, HelmRevisionInfo, MigrationState, ReleaseState, ToolingState } from '../../src/upgrade/state.js';

export const INDEX_PATH = fileURLToPath(new URL('../fixtures/milvus-helm-index.tsv', import.meta.url));

export interface IndexRow {
  readonly chart: string;
  readonly chartVersion: string;
  readonly appVersion: string;
}

/** Every data row of the fixture (all charts of the repository: milvus, minio, pulsarv2, tei). */
export function readIndexRows(): IndexRow[] {
  return readFileSync(INDEX_PATH, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => {
      const [chart = '', chartVersion = '', appVersion = ''] = line.split('\t');
      return { chart, chartVersion, appVersion };
    });
}

/** The milvus chart's entries only, as `helm search repo zilliztech/milvus` would give them. */
export function milvusIndex(): ChartEntry[] {
  return readIndexRows()
    .filter((r) => r.chart === 'milvus')
    .map((r) => ({ chartVersion: r.chartVersion, appVersion: r.appVersion }));
}

/** The fixture as helm-search-shaped JSON rows (`name`, `version`, `app_version`, `description`). */
export function helmSearchRows(repoName = 'zilliztech'): Array<Record<string, unknown>> {
  return readIndexRows().map((r) => ({
    name: `${repoName}/${r.chart}`,
    version: r.chartVersion,
    app_version: r.appVersion,
    description: `${r.chart} chart`,
  }));
}

export interface ComponentOptions {
  readonly fullname?: string;
  readonly version?: string;
  readonly image?: string;
  readonly replicas?: number;
  readonly previousImage?: string | null;
  readonly previousVersionLabel?: string | null;
  readonly markHelmRevision?: number | null;
  readonly rolledOut?: boolean;
}

/** A Deployment of the chart, rolled out unless `rolledOut: false`. */
export function component(name: string, o: ComponentOptions = {}): ComponentState {
  const version = o.version ?? '2.4.5';
  const replicas = o.replicas ?? 1;
  const rolledOut = o.rolledOut ?? true;
  return {
    component: name,
    deployment: `${o.fullname ?? 'prod-milvus'}-${name}`,
    image: o.image ?? `milvusdb/milvus:v${version}`,
    versionLabel: version,
    strategy: isCoordinator(name) ? 'Recreate' : 'RollingUpdate',
    replicas,
    readyReplicas: rolledOut ? replicas : 0,
    updatedReplicas: rolledOut ? replicas : 0,
    availableReplicas: rolledOut ? replicas : 0,
    currentReplicas: replicas,
    generation: 2,
    observedGeneration: 2,
    previousImage: o.previousImage ?? null,
    previousVersionLabel: o.previousVersionLabel ?? null,
    markHelmRevision: o.markHelmRevision ?? null,
  };
}

export const OLD_CLUSTER_COMPONENTS = [
  'proxy',
  'rootcoord',
  'datacoord',
  'querycoord',
  'indexcoord',
  'datanode',
  'querynode',
  'indexnode',
] as const;

export interface ReleaseOptions {
  readonly release?: string;
  readonly namespace?: string;
  /** Milvus version every component runs (image tag and label). */
  readonly version?: string;
  /** Component names (built with `component`) or ready-made states. */
  readonly components?: ReadonlyArray<string | ComponentState>;
  /** Labelled Deployments that do not run Milvus (Attu...). */
  readonly others?: readonly ComponentState[];
  readonly chartVersion?: string;
  readonly revision?: number;
  readonly status?: string;
  readonly mode?: 'cluster' | 'standalone';
  readonly messageQueue?: string | null;
  readonly etcdEndpoint?: string | null;
  readonly imageRepository?: string;
  readonly migration?: MigrationState | null;
  readonly savedReplicas?: Record<string, number> | null;
}

/** A healthy, deployed cluster-mode release unless told otherwise. */
export function releaseState(o: ReleaseOptions = {}): ReleaseState {
  const release = o.release ?? 'prod';
  const namespace = o.namespace ?? 'milvus';
  const version = o.version ?? '2.4.5';
  const fullname = milvusFullname(release);
  const chartVersion = o.chartVersion ?? '4.1.36';
  const names = o.components ?? (o.mode === 'standalone' ? ['standalone'] : OLD_CLUSTER_COMPONENTS);
  const components = names.map((c) => (typeof c === 'string' ? component(c, { fullname, version }) : c));
  const helm: HelmReleaseInfo = {
    name: release,
    namespace,
    revision: o.revision ?? 3,
    status: o.status ?? 'deployed',
    chart: `milvus-${chartVersion}`,
    chartVersion,
    appVersion: version,
  };
  return {
    cluster: 'test',
    namespace,
    release,
    helm,
    fullname,
    mode: o.mode ?? 'cluster',
    components,
    others: o.others ?? [],
    configMapName: fullname,
    messageQueue: o.messageQueue === undefined ? 'pulsar' : o.messageQueue,
    etcdEndpoint: o.etcdEndpoint === undefined ? `${release}-etcd.${namespace}:2379` : o.etcdEndpoint,
    imageRepository: o.imageRepository ?? 'milvusdb/milvus',
    migration: o.migration ?? null,
    savedReplicas: o.savedReplicas ?? null,
  };
}

export function tooling(o: Partial<ToolingState> = {}): ToolingState {
  return {
    helmVersion: o.helmVersion ?? 'v3.16.2',
    kubernetesVersion: o.kubernetesVersion ?? 'v1.29.4',
    repos: o.repos ?? { zilliztech: 'https://zilliztech.github.io/milvus-helm' },
  };
}

export function revision(n: number, status: string, chartVersion: string, appVersion: string, description = ''): HelmRevisionInfo {
  return { revision: n, status, chart: `milvus-${chartVersion}`, appVersion, description };
}

export function planSettings(o: Partial<Omit<PlanSettings, 'migration'>> & { migration?: Partial<PlanSettings['migration']> } = {}): PlanSettings {
  return {
    ...DEFAULT_PLAN_SETTINGS,
    ...o,
    migration: { ...DEFAULT_PLAN_SETTINGS.migration, ...o.migration },
  };
}

/** Runs `fn` and returns what it threw (fails the test when it throws nothing). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw, got none');
}

/** Same for async functions. */
export async function rejected(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection, got none');
}

/**
 * An upgrade request as the store creates it: one approval needed, nothing approved, run or
 * rolled back yet; it expires an hour after `createdAt`. `over` sets the rest.
 */
export function upgradeRequest(over: Partial<UpgradeRequest> & Pick<UpgradeRequest, 'id' | 'cluster' | 'namespace' | 'release' | 'plan' | 'requester' | 'createdAt'>): UpgradeRequest {
  return {
    kind: 'upgrade',
    place: null,
    expiresAt: over.createdAt + 3_600_000,
    approvalsNeeded: 1,
    allowSelfApproval: false,
    approvals: [],
    rejection: null,
    phase: null,
    cancelRequested: null,
    completedSteps: 0,
    startedAt: null,
    finishedAt: null,
    error: null,
    rollbackOf: null,
    rollbackRequest: null,
    ...over,
  };
}

/** One hop planned as the service plans it, without its I/O: the fixture index, default settings. */
export function planHop(state: ReleaseState, target: string, o: { strategy?: Strategy; extraSet?: Record<string, string> } = {}): Plan {
  return planUpgrade({
    request: { cluster: 'test', namespace: state.namespace, release: state.release, target: parseVersion(target), strategy: o.strategy, extraSet: o.extraSet },
    state,
    tooling: tooling(),
    charts: milvusIndex(),
    settings: planSettings(),
  });
}

/**
 * What the service does for a target no single hop reaches, without its I/O: each hop planned
 * from the state the one before is expected to leave. `plan` is the joined route (the hop itself
 * when there are no waypoints); `end` the state the last hop leaves.
 */
export function planRoute(state: ReleaseState, target: string): { plan: Plan; end: ReleaseState } {
  const stops = waypoints(runningVersion(state), parseVersion(target), milvusIndex(), { mode: state.mode, components: state.components.map((c) => c.component) });
  const hops: Plan[] = [];
  let at = state;
  for (const leg of [...stops.map((s) => ({ v: s.version.text, set: s.set })), { v: target, set: {} }]) {
    const hop = planHop(at, leg.v, { extraSet: leg.set });
    hops.push(hop);
    at = stateAfter(at, hop);
  }
  return { plan: stops.length ? joinRoute(hops, stops.map((s) => s.why)) : hops[0]!, end: at };
}
