/**
 * The use cases shared by the CLI, the jobs and the bot: observe, plan, check for drift, run.
 * Only ports are touched, so this stays free of any I/O library.
 */
import { availableVersions, type ChartEntry } from '../milvus/charts.js';
import { InputError, PreflightError, showInput } from '../errors.js';
import { queueInUse } from '../milvus/message-queue.js';
import { runningVersion, STRATEGIES, type Plan, type PlanSettings, type Strategy } from '../plan.js';
import { decideUpgrade, planUpgrade, type PlanInputs } from './upgrade.js';
import { joinRoute, stateAfter, waypoints } from './route.js';
import type { KubeObject } from '../objects.js';
import { withHelmChanges } from './plan-changes.js';
import type { BackupAccess, MilvusAccess, ReleaseManager, ReleaseObserver } from '../ports.js';
import { expectedCollections, withBackup, type BackupContext } from './backup-plan.js';
import { dataGateStep, readPlanData, withDataGate } from './data-gate.js';
import type { PlanData } from '../data-snapshot.js';
import { assertNoProblems, toolingProblems } from './preflight.js';
import { planRollback } from './rollback.js';
import type { ReleaseState, ToolingState } from '../state.js';
import { milvusFullname, validateNamespace, validateReleaseName } from '../milvus/names.js';
import { planRestore, type SourceRevision } from './restore-plan.js';
import { restoredName } from './backup-plan.js';
import { BACKUP_NAME, type ExpectedBackupCollection } from '../backup.js';
import { parseVersion } from '../milvus/version.js';

export interface EngineDeps {
  readonly clusterName: string;
  readonly observer: ReleaseObserver;
  readonly helm: ReleaseManager;
  readonly settings: PlanSettings;
  /** Milvus itself (issue 26); absent: plans say their data is not checked. */
  readonly milvus?: MilvusAccess;
  /** milvus-backup (issue 27); absent: no backups, and cards warn where one is wanted. */
  readonly backups?: BackupAccess;
}

export interface UpgradeRequestInput {
  readonly release: string;
  readonly namespace: string;
  readonly version: string;
  readonly strategy?: string;
  /** A chart version instead of the bot's choice (`--chart`). */
  readonly chart?: string;
  /** The audited override of the data guard: who gives it. Never the default. */
  readonly allowDataChanges?: { readonly by: string } | null;
  /** The audited override for a Milvus that cannot be read: who gives it (an approver). */
  readonly withoutDataChecks?: { readonly by: string } | null;
  /** Where to read Milvus for this plan instead of the config's address (`host:port`). */
  readonly milvusAddress?: string | null;
  /** The audited override for a plan that requires a backup and has no service: who gives it (an approver). */
  readonly withoutBackup?: { readonly by: string } | null;
}

const CHART_VERSION = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]{1,40})?$/;

export function parseChartVersion(chart: string | undefined): string | undefined {
  if (chart === undefined) return undefined;
  if (!CHART_VERSION.test(chart)) throw new InputError(`"${showInput(chart, 30)}" is not a chart version`, ['write it like 4.2.20']);
  return chart;
}

export async function observeRelease(deps: EngineDeps, namespace: string, release: string): Promise<ReleaseState> {
  validateReleaseName(release);
  validateNamespace(namespace);
  const state = await deps.observer.release(namespace, release);
  if (!state) {
    throw new PreflightError(`release ${release} not found in namespace ${namespace} (cluster ${deps.clusterName})`, [
      `check the name and namespace: helm list -n ${namespace}`,
    ]);
  }
  return state;
}

/** Refreshes the chart repository (adding it when missing) and lists its milvus charts. */
export async function chartIndex(deps: EngineDeps, tooling?: ToolingState): Promise<ChartEntry[]> {
  const t = tooling ?? (await deps.observer.tooling());
  assertNoProblems(toolingProblems(t, deps.settings.repoName, deps.settings.repoUrl), 'cannot read the chart repository');
  // Planning and `versions` read an index up to INDEX_MAX_AGE_MS old; the run's first step
  // refreshes it for real (helm upgrade says so plainly if a chart has gone meanwhile).
  await deps.helm.repoUpdate(deps.settings.repoName, deps.settings.repoUrl, undefined, { maxAgeMs: INDEX_MAX_AGE_MS });
  return deps.helm.searchCharts(deps.settings.repoName);
}

/** How old a chart index may be for reads (see chartIndex). */
export const INDEX_MAX_AGE_MS = 5 * 60_000;

export async function listVersions(deps: EngineDeps): Promise<ChartEntry[]> {
  return availableVersions(await chartIndex(deps));
}

export function parseStrategy(strategy: string | undefined): Strategy | undefined {
  if (strategy === undefined) return undefined;
  const known = STRATEGIES.find((s) => s === strategy);
  if (known) return known;
  throw new InputError(`unknown strategy "${showInput(strategy, 30)}"`, ['use --strategy helm, helm-parallel, rolling or migrate']);
}

export async function makeUpgradePlan(deps: EngineDeps, input: UpgradeRequestInput): Promise<Plan> {
  // Input first: a bad name or version is refused before anything is read.
  validateReleaseName(input.release);
  validateNamespace(input.namespace);
  const target = parseVersion(input.version);
  const strategy = parseStrategy(input.strategy);
  const chartVersion = parseChartVersion(input.chart);

  const tooling = await deps.observer.tooling();
  const state = await observeRelease(deps, input.namespace, input.release);
  const [charts, live, userValues, computedValues, data] = await Promise.all([
    chartIndex(deps, tooling),
    deps.observer.objects(input.namespace, input.release),
    deps.helm.values(input.namespace, input.release, { all: false }),
    deps.helm.values(input.namespace, input.release, { all: true }),
    readPlanData(deps.milvus, state, { address: input.milvusAddress ?? null, withoutChecksBy: input.withoutDataChecks?.by ?? null }),
  ]);
  const gate = dataGateStep(data, input.release, deps.settings.dataTimeoutSeconds);
  const backup: BackupContext = {
    url: deps.backups?.url(state) ?? null,
    policy: deps.backups?.policy ?? 'one-way',
    plannedAt: deps.backups?.now() ?? 0,
    collections: expectedCollections(data),
    timeoutSeconds: deps.settings.backupTimeoutSeconds,
  };
  const withoutBackup = input.withoutBackup ?? null;
  const inputs: PlanInputs = {
    request: { cluster: deps.clusterName, namespace: input.namespace, release: input.release, target, strategy, chartVersion, allowDataChanges: input.allowDataChanges ?? null },
    state,
    tooling,
    charts,
    settings: deps.settings,
    queue: queueInUse({ live, configQueue: state.messageQueue, computedValues }),
    userValues,
    computedValues,
  };
  const stops = waypoints(runningVersion(state), target, charts, { mode: state.mode, components: state.components.map((c) => c.component), chartVersion: state.helm.chartVersion });
  if (stops.length === 0) {
    const hop = await planHop(deps, inputs, { before: await deps.helm.manifest(input.namespace, input.release), live, carried: {} });
    return { ...withData(withDataGate(withBackup(hop, backup, state.helm.chartVersion), gate), data), withoutBackup };
  }
  if (strategy === 'rolling') {
    throw new InputError(`a rolling upgrade cannot take ${state.release} to ${target.text}: it goes through ${stops.map((s) => s.version.text).join(', ')} first, by helm`, [
      'leave out --strategy (or use helm-parallel): the route takes each hop by its documented path',
    ]);
  }
  if (chartVersion) throw new InputError(`--chart cannot be given for a route (${state.release} goes through ${stops.map((s) => s.version.text).join(', ')} first)`, ['leave out --chart: each hop uses the chart the docs name for it']);
  // Each hop is planned from the state the one before is expected to leave; helm renders each
  // from the live release with every earlier hop's values, as --reset-then-reuse-values will.
  const hops: Plan[] = [];
  let before = await deps.helm.manifest(input.namespace, input.release);
  let at = state;
  let carried: Record<string, string> = {};
  const legs = [...stops.map((s) => ({ version: s.version, set: s.set })), { version: target, set: {} }];
  // Only helm-parallel carries over: each hop otherwise takes its documented path.
  const hopStrategy = strategy === 'helm-parallel' ? strategy : undefined;
  for (const leg of legs) {
    const hop = await planHop(
      deps,
      { ...inputs, state: at, request: { ...inputs.request, target: leg.version, strategy: hopStrategy, chartVersion: null, extraSet: leg.set } },
      { before, live, carried },
    );
    hops.push(withDataGate(withBackup(hop, backup, at.helm.chartVersion), gate));
    const step = hop.steps.find((s) => s.kind === 'helm-upgrade');
    if (step && step.kind === 'helm-upgrade') {
      carried = { ...carried, ...step.set };
      before = await deps.helm.renderUpgrade({ namespace: input.namespace, release: input.release, chartRef: step.chartRef, chartVersion: step.chartVersion, set: carried });
    }
    at = stateAfter(at, hop);
  }
  return { ...withData(joinRoute(hops, stops.map((s) => s.why)), data), withoutBackup };
}

function withData(plan: Plan, data: PlanData): Plan {
  return { ...plan, data };
}

/** One hop: the plan, with the queue flags for its chart and helm's own rendering of its changes. */
async function planHop(
  deps: EngineDeps,
  inputs: PlanInputs,
  render: { readonly before: KubeObject[]; readonly live: KubeObject[]; readonly carried: Readonly<Record<string, string>> },
): Promise<Plan> {
  const decided = decideUpgrade(inputs);
  if (decided.path.path !== 'helm') return planUpgrade(inputs, decided);
  // The queue flags need the target chart's defaults: read them for the chart the plan chose.
  const targetDefaults = await deps.helm.chartDefaults(`${inputs.settings.repoName}/milvus`, decided.choice.chartVersion);
  const plan = planUpgrade({ ...inputs, targetDefaults }, decided);
  const step = plan.steps.find((s) => s.kind === 'helm-upgrade');
  if (!step || step.kind !== 'helm-upgrade') return plan;
  const { namespace, release } = inputs.request;
  const after = await deps.helm.renderUpgrade({ namespace, release, chartRef: step.chartRef, chartVersion: step.chartVersion, set: { ...render.carried, ...step.set } });
  const config = { name: inputs.state.configMapName, userKey: inputs.state.configUserKey ?? 'user.yaml' };
  return withHelmChanges(plan, { before: render.before, after, live: render.live, config }, { charts: inputs.charts, allowDataChanges: inputs.request.allowDataChanges ?? null, rolloutTimeoutSeconds: inputs.settings.rolloutTimeoutSeconds });
}

export async function makeRollbackPlan(deps: EngineDeps, namespace: string, release: string): Promise<Plan> {
  const tooling = await deps.observer.tooling();
  const state = await observeRelease(deps, namespace, release);
  const [history, data] = await Promise.all([deps.helm.history(namespace, release), readPlanData(deps.milvus, state)]);
  // A rollback is never held back for want of data checks: it is what a broken release needs.
  const plan = planRollback({ cluster: deps.clusterName, state, history, tooling, settings: deps.settings });
  return withData(withDataGate(plan, dataGateStep(data, release, deps.settings.dataTimeoutSeconds)), data);
}

export interface RestoreRequestInput {
  readonly namespace: string;
  /** The release the backup was taken of. */
  readonly release: string;
  readonly backup: string;
  /** The new release; default `<release>-restored`. */
  readonly into?: string;
  /** What the backup must bring back, with rows, when the upgrade that took it counted them. */
  readonly expected?: readonly ExpectedBackupCollection[] | null;
}

/** How many of the source's newest helm revisions are read for the one that ran the backup's version. */
const RESTORE_REVISIONS = 20;

/** A restore into a new release (issue 27), planned from the backup and the source's helm record. */
export async function makeRestorePlan(deps: EngineDeps, input: RestoreRequestInput): Promise<Plan> {
  validateNamespace(input.namespace);
  const into = validateReleaseName(input.into ?? restoredName(input.release));
  if (!BACKUP_NAME.test(input.backup)) throw new InputError(`"${showInput(input.backup, 60)}" is not a milvus-backup backup name`);
  const tooling = await deps.observer.tooling();
  const source = await observeRelease(deps, input.namespace, input.release);
  const backups = deps.backups;
  const backupUrl = backups?.url(source) ?? null;
  if (!backups || !backupUrl) throw new PreflightError(`no milvus-backup server is configured for ${input.release}: its backup cannot be read`, ['set BACKUP_URL (or --backup-url in the CLI)']);
  const target = { namespace: input.namespace, release: into, fullname: milvusFullname(into) };
  const [backup, intoRelease, history] = await Promise.all([
    backups.service.get(backupUrl, input.backup),
    deps.helm.release(input.namespace, into),
    deps.helm.history(input.namespace, input.release),
  ]);
  if (!backup) throw new InputError(`milvus-backup at ${backupUrl} has no backup ${input.backup}`, [`the backups it lists: GET ${backupUrl}/api/v1/list`]);
  const newest = history.slice(-RESTORE_REVISIONS);
  const revisions: SourceRevision[] = await Promise.all(
    newest.map(async (h) => ({ revision: h.revision, status: h.status, chart: h.chart, appVersion: h.appVersion, values: await deps.helm.values(input.namespace, input.release, { revision: h.revision }) })),
  );
  const reads = deps.milvus && deps.milvus.checks !== 'off' ? deps.milvus : null;
  return planRestore({
    cluster: deps.clusterName,
    namespace: input.namespace,
    source: input.release,
    into,
    intoExists: intoRelease !== null,
    backup,
    backupUrl,
    revisions,
    tooling,
    settings: deps.settings,
    restoreUrl: backups.url(target),
    milvusAddress: reads ? reads.address(target) : null,
    expected: input.expected ?? null,
    plannedAt: backups.now(),
  });
}
