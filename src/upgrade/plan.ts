import { chooseChart, compareChartVersions, PULSAR_V2_UNSAFE_CHARTS, type ChartChoice, type ChartEntry } from './milvus/charts.js';
import type { DataRisk } from './planner/data-guard.js';
import type { RouteHop } from './planner/route.js';
import { InputError } from './errors.js';
import { QUEUE_NAMES, queueKeepingFlags, type QueueKind } from './milvus/message-queue.js';
import type { ObjectChange } from './objects.js';
import { changesOfSteps } from './planner/plan-changes.js';
import { choosePath, pathOfStrategy, type Strategy, type UpgradePath } from './planner/paths.js';
import { finalRolloutCheck, healthGate, orderedHelmRollbackSteps, orderedHelmSteps, resumeOrder } from './planner/ordered-plan.js';
import { assertNoProblems, releaseProblems, toolingProblems } from './planner/preflight.js';
import { migrationRollbackStepsFor, migrationSteps } from './planner/migration-plan.js';
import { revertDeploymentsSteps, rollingComponents, rollingSteps } from './planner/rolling-plan.js';
import { SEPARATE_COORDINATORS, type ReleaseState, type ToolingState } from './state.js';
import type { Step } from './steps.js';
import {
  compareVersions,
  FIRST_26,
  imageTag,
  parseVersion,
  tryParseVersion,
  versionOfImage,
  type MilvusVersion,
} from './milvus/version.js';

export interface PlanRequest {
  readonly cluster: string;
  readonly namespace: string;
  readonly release: string;
  readonly target: MilvusVersion;
  readonly strategy?: Strategy;
  /** A chart version the person asked for instead of the bot's choice. */
  readonly chartVersion?: string | null;
  /** The explicit, audited override of the data guard; never the default. */
  readonly allowDataChanges?: { readonly by: string } | null;
  /** `--set` values a route adds to this hop (the mixcoord switch on the 2.5.16 hop). */
  readonly extraSet?: Readonly<Record<string, string>>;
}

export interface PlanSettings {
  readonly repoName: string;
  readonly repoUrl: string;
  /** helm --timeout for one upgrade or rollback. */
  readonly helmTimeoutSeconds: number;
  /** How long one Deployment may take to roll out. */
  readonly rolloutTimeoutSeconds: number;
  /** rollingUpdate.sh sets minReadySeconds 30 on coordinators so a new one settles first. */
  readonly coordinatorMinReadySeconds: number;
  /** The health gate: how long every pod must stay Ready, without restarts, after a hop. */
  readonly healthSettleSeconds: number;
  readonly migration: {
    readonly image: string;
    readonly rootPath: string;
    readonly storageClass: string | null;
    /** Overrides the release's etcd Service (`host:port`). */
    readonly etcdEndpoint: string | null;
    readonly sessionFallbackSeconds: number;
    readonly deleteResourcesWhenDone: boolean;
    readonly podTimeoutSeconds: number;
  };
}

export const DEFAULT_PLAN_SETTINGS: PlanSettings = {
  repoName: 'zilliztech',
  repoUrl: 'https://zilliztech.github.io/milvus-helm',
  helmTimeoutSeconds: 1800,
  rolloutTimeoutSeconds: 600,
  coordinatorMinReadySeconds: 30,
  healthSettleSeconds: 30,
  migration: {
    // What today's migrate.sh and the Milvus Operator use (the plain v2.2.0 is older).
    image: 'milvusdb/meta-migration:v2.2.0-bugfix-20230112',
    rootPath: 'by-dev',
    storageClass: null,
    etcdEndpoint: null,
    sessionFallbackSeconds: 75,
    deleteResourcesWhenDone: false,
    podTimeoutSeconds: 1800,
  },
};

/** What the plan was made from: if any of it changes before the run, the plan is stale. */
export interface ObservedFingerprint {
  readonly helmRevision: number;
  readonly helmStatus: string;
  readonly chartVersion: string;
  readonly images: Readonly<Record<string, string>>;
}

export interface RollbackPlan {
  readonly path: UpgradePath;
  readonly summary: string;
  readonly steps: readonly Step[];
}

export interface Plan {
  readonly id: string;
  readonly kind: 'upgrade' | 'rollback';
  readonly cluster: string;
  readonly namespace: string;
  readonly release: string;
  readonly path: UpgradePath;
  readonly from: string;
  readonly to: string;
  readonly chart: { readonly ref: string; readonly version: string; readonly appVersion: string } | null;
  readonly image: string;
  /** Why this path and chart, one sentence each. */
  readonly reasons: readonly string[];
  readonly steps: readonly Step[];
  readonly warnings: readonly string[];
  readonly rollback: RollbackPlan | null;
  readonly observed: ObservedFingerprint;
  // Optional: plans stored by earlier versions of the bot have none of these.
  /** Every object the plan adds, removes or changes (helm path: from helm's own rendering). */
  readonly changes?: readonly ObjectChange[];
  /** The queue in use and what the plan does with it. */
  readonly messageQueue?: { readonly kind: QueueKind | null; readonly note: string };
  /** Set only when someone allowed changes to what holds data: who, and which. */
  readonly dataChanges?: { readonly allowedBy: string; readonly risks: readonly DataRisk[] } | null;
  /** A route (see route.ts): the hops whose steps `steps` runs in sequence. Absent: one hop. */
  readonly hops?: readonly RouteHop[];
}

export function planId(cluster: string, namespace: string, release: string, to: string): string {
  return `${cluster}/${namespace}/${release}@${to}`;
}

export function fingerprint(state: ReleaseState): ObservedFingerprint {
  const images: Record<string, string> = {};
  for (const c of state.components) images[c.deployment] = c.image;
  return {
    helmRevision: state.helm.revision,
    helmStatus: state.helm.status,
    chartVersion: state.helm.chartVersion,
    images,
  };
}

/** The version the release really runs: the proxy's image (SPEC §3), else the oldest component. */
export function runningVersion(state: ReleaseState): MilvusVersion {
  const byComponent = (name: string) => state.components.find((c) => c.component === name);
  const main = byComponent('proxy') ?? byComponent('standalone');
  const fromMain = main ? versionOfImage(main.image) : null;
  if (fromMain) return fromMain;
  const versions = state.components
    .map((c) => versionOfImage(c.image))
    .filter((v): v is MilvusVersion => v !== null)
    .sort(compareVersions);
  const fromApp = tryParseVersion(state.helm.appVersion);
  const oldest = versions[0] ?? fromApp;
  if (!oldest) {
    throw new InputError(`cannot tell which Milvus version ${state.release} runs`, [
      `no image tag of its Deployments is a version (${state.components.map((c) => c.image).join(', ')})`,
    ]);
  }
  return oldest;
}

function mixedVersionWarning(state: ReleaseState): string | null {
  const tags = new Set(state.components.map((c) => versionOfImage(c.image)?.text ?? c.image));
  if (tags.size <= 1) return null;
  return `components run different versions: ${state.components
    .map((c) => `${c.component}=${versionOfImage(c.image)?.text ?? c.image}`)
    .join(', ')}`;
}

export interface PlanInputs {
  readonly request: PlanRequest;
  readonly state: ReleaseState;
  readonly tooling: ToolingState;
  readonly charts: readonly ChartEntry[];
  readonly settings: PlanSettings;
  /** The message queue in use (see message-queue.ts); null when it cannot be told. */
  readonly queue?: QueueKind | null;
  /** The values the person gave the release (`helm get values`), for the queue flags. */
  readonly userValues?: Readonly<Record<string, unknown>>;
  /** The default values of the chart the plan uses (`helm show values`), for the queue flags. */
  readonly targetDefaults?: Readonly<Record<string, unknown>> | null;
}

/** The chart a helm-path plan would use, so its default values can be read before planning. */
export function chartForPlan(inputs: Pick<PlanInputs, 'request' | 'charts' | 'queue'>): ChartChoice {
  return chooseChart(inputs.charts, inputs.request.target, {
    exclude: inputs.queue === 'pulsar-v2' ? PULSAR_V2_UNSAFE_CHARTS : null,
    chartVersion: inputs.request.chartVersion ?? null,
  });
}


/** The 2.6 line (SPEC §9): reached only from 2.5.16+ with mixcoord, by helm, never left. */
function checkThe26Line(from: MilvusVersion, to: MilvusVersion, state: ReleaseState, strategy: UpgradePath | undefined): boolean {
  if (from.major === 2 && from.minor === 6 && from.patch === 0 && /^rc/i.test(from.suffix)) {
    throw new InputError(`Milvus ${from.text} cannot be upgraded`, [
      'the Milvus docs do not support upgrading from 2.6.0-rc1: install a new release of 2.6 and move the data',
    ]);
  }
  const crosses = compareVersions(from, FIRST_26) < 0 && compareVersions(to, FIRST_26) >= 0;
  if (!crosses) return false;
  if (compareVersions(from, parseVersion('2.5.16')) < 0) {
    throw new InputError(`Milvus ${from.text} cannot go straight to ${to.text}`, [
      'an upgrade to 2.6 must start from 2.5.16 or later with mixcoord: upgrade to 2.5.16 first',
    ]);
  }
  const separateCoordinators = state.components.filter((c) => (SEPARATE_COORDINATORS as readonly string[]).includes(c.component));
  if (!state.components.some((c) => c.component === 'mixcoord') || separateCoordinators.length > 0) {
    throw new InputError(`${state.release} must run mixcoord before it goes to ${to.text}`, [
      `it runs ${separateCoordinators.map((c) => c.component).join(', ') || 'no mixcoord'}`,
      'first: helm upgrade with image.all.tag=v2.5.16, mixCoordinator.enabled=true, rootCoordinator.enabled=false, indexCoordinator.enabled=false, queryCoordinator.enabled=false, dataCoordinator.enabled=false (Milvus docs, "Upgrade Milvus Cluster with Helm Chart", v2.6)',
    ]);
  }
  if (strategy === 'rolling') {
    throw new InputError(`a rolling upgrade cannot take ${from.text} to ${to.text}`, [
      '2.6 adds streamingnode and removes indexnode: swapping images cannot do that; use --strategy helm',
    ]);
  }
  return true;
}

/** Observed state + request -> Plan, or a PreflightError/InputError saying what is wrong. */
export function planUpgrade(inputs: PlanInputs): Plan {
  const { request, state, tooling, charts, settings } = inputs;
  assertNoProblems(
    [...toolingProblems(tooling, settings.repoName, settings.repoUrl), ...releaseProblems(state)],
    `cannot upgrade ${state.release}`,
  );
  const from = runningVersion(state);
  const to = request.target;
  // Also for rolling and migration: a version with no chart line at all is unknown, not a target.
  const choice = chartForPlan(inputs);
  const queue = inputs.queue ?? null;
  // The rollback of THIS upgrade goes back to what runs now, whatever older marks say.
  const now = withoutMarks(state);
  const requestedPath = pathOfStrategy(request.strategy);
  const crossesInto26 = checkThe26Line(from, to, state, requestedPath);
  const decision = choosePath(from, to, state, requestedPath, charts);
  const warnings: string[] = [];
  const mixed = mixedVersionWarning(state);
  if (mixed) warnings.push(mixed);
  if (crossesInto26) warnings.push('an upgrade from 2.5 to 2.6 cannot be rolled back: take a backup first');
  const repo = state.imageRepository || 'milvusdb/milvus';
  const image = `${repo}:${imageTag(to)}`;
  const base = {
    id: planId(request.cluster, state.namespace, state.release, to.text),
    kind: 'upgrade' as const,
    cluster: request.cluster,
    namespace: state.namespace,
    release: state.release,
    path: decision.path,
    from: from.text,
    to: to.text,
    image,
    observed: fingerprint(state),
    dataChanges: null,
  };
  if (decision.path === 'helm') {
    const chart = { ref: `${settings.repoName}/milvus`, version: choice.chartVersion, appVersion: choice.appVersion };
    if (choice.imageTagOverride) {
      warnings.push(
        `${choice.explanation}. The image ${image} must exist in your registry; later helm upgrades must keep image.all.tag or they will change the version`,
      );
    }
    warnings.push(...chartWarnings(state, choice));
    const queueFlags = queueKeepingFlags(queue, inputs.userValues ?? {}, inputs.targetDefaults ?? {});
    if (queue === null) warnings.push('cannot tell which message queue the release uses: check the changes below before approving');
    // The 2.6 docs set these explicitly: --reset-then-reuse-values could carry an older choice.
    const set = { ...queueFlags, ...(request.extraSet ?? {}), ...(crossesInto26 ? { 'streaming.enabled': 'true', 'indexNode.enabled': 'false' } : {}) };
    const ordered = state.mode === 'cluster' && request.strategy !== 'helm-parallel';
    const order = ordered ? resumeOrder(state, { into26: crossesInto26, mixcoordSwitch: switchesToMixcoord(state, choice) }) : null;
    const steps = helmUpgradeSteps(state, settings, choice, set, order);
    const rollbackStep = helmRollbackStep(state, state.helm.revision, settings, order !== null);
    return {
      ...base,
      chart,
      reasons: [decision.reason, choice.explanation, order ? `components roll one at a time in Milvus's order: ${order.join(', ')} (--strategy helm-parallel rolls them all at once)` : 'helm rolls every Deployment at once'],
      steps,
      changes: [],
      messageQueue: { kind: queue, note: queueNote(queue, queueFlags) },
      warnings,
      rollback: crossesInto26 ? null : {
        path: 'helm',
        summary: `helm rollback ${state.release} to revision ${state.helm.revision} (chart ${state.helm.chartVersion}, Milvus ${from.text})${order ? ', components in reverse order' : ''}`,
        steps: order ? orderedHelmRollbackSteps(rollbackStep, [...order, ...state.components.map((c) => c.component)], state.release, settings) : [rollbackStep],
      },
    };
  }
  if (decision.path === 'rolling') {
    warnings.push(
      `the rolling upgrade changes the Deployments directly: helm still records chart ${state.helm.chartVersion}, so a later helm upgrade must set image.all.tag=${imageTag(to)} or it will change the version back`,
    );
    const order = rollingComponents(state);
    const steps = rollingSteps(state, settings, order, to);
    return {
      ...base,
      chart: null,
      reasons: [decision.reason],
      steps,
      changes: changesOfSteps(steps, base.observed.images),
      messageQueue: { kind: queue, note: queueNote(queue, {}) },
      warnings,
      rollback: {
        path: 'rolling',
        summary: `put back the previous images one Deployment at a time, in reverse order`,
        steps: revertDeploymentsSteps(now.components, settings),
      },
    };
  }
  warnings.push(
    `Milvus is stopped during the migration (every Deployment scaled to 0); clients see an outage until the new version is ready`,
    `the migration changes the Deployments directly: helm still records chart ${state.helm.chartVersion}; follow with a helm upgrade to a ${to.major}.${to.minor} chart`,
  );
  const migration = migrationSteps(state, settings, from, to, image);
  if (settings.migration.deleteResourcesWhenDone) {
    warnings.push('the migration backup is deleted when done: the migration cannot be rolled back afterwards');
  }
  return {
    ...base,
    chart: null,
    reasons: [decision.reason],
    steps: migration,
    changes: changesOfSteps(migration, base.observed.images),
    messageQueue: { kind: queue, note: queueNote(queue, {}) },
    warnings,
    rollback: {
      path: 'migrate',
      summary: `restore the metadata from the backup taken before the migration, then start ${state.imageRepository}:${imageTag(from)} again`,
      steps: migrationRollbackStepsFor(now, settings, from, to),
    },
  };
}

function withoutMarks(state: ReleaseState): ReleaseState {
  return {
    ...state,
    components: state.components.map((c) => ({ ...c, previousImage: null, previousVersionLabel: null, markHelmRevision: null })),
  };
}

/** Chart 4.2.4 enables mixCoordinator by default: the separate coordinators go, one mixcoord comes. */
function switchesToMixcoord(state: ReleaseState, choice: ChartChoice): boolean {
  const hasMixcoord = state.components.some((c) => c.component === 'mixcoord');
  const newMixcoordDefault = compareChartVersions(choice.chartVersion, '4.2.4') >= 0;
  return !hasMixcoord && newMixcoordDefault && compareChartVersions(state.helm.chartVersion, '4.2.4') < 0;
}

function chartWarnings(state: ReleaseState, choice: ChartChoice): string[] {
  const out: string[] = [];
  if (switchesToMixcoord(state, choice)) {
    out.push(
      `chart ${choice.chartVersion} enables mixCoordinator by default: rootcoord, datacoord, querycoord and indexcoord are replaced by one mixcoord Deployment`,
    );
  }
  return out;
}

function queueNote(queue: QueueKind | null, flags: Readonly<Record<string, string>>): string {
  if (queue === null) return 'message queue unknown';
  const carried = Object.entries(flags).map(([k, v]) => `${k}=${v}`);
  return `message queue: ${QUEUE_NAMES[queue]}, kept${carried.length ? ` (carried: ${carried.join(', ')}, the target chart's defaults differ)` : ''}`;
}

/** `order`: the ordered path's resume order; null: plain helm, every Deployment at once. */
function helmUpgradeSteps(
  state: ReleaseState,
  settings: PlanSettings,
  choice: ChartChoice,
  flags: Readonly<Record<string, string>>,
  order: readonly string[] | null,
): Step[] {
  // Always set: --reset-then-reuse-values keeps a tag set by an earlier upgrade, which would
  // otherwise pin the release to that old version whatever the chart says.
  const set: Record<string, string> = { 'image.all.tag': choice.imageTagOverride ?? imageTag(parseVersion(choice.appVersion)), ...flags };
  const chartRef = `${settings.repoName}/milvus`;
  const setText = Object.entries(set)
    .map(([k, v]) => ` --set ${k}=${v}`)
    .join('');
  const wait = order === null;
  const upgrade: Step = {
    kind: 'helm-upgrade',
    chartRef,
    chartVersion: choice.chartVersion,
    set,
    fromRevision: state.helm.revision,
    timeoutSeconds: settings.helmTimeoutSeconds,
    ...(wait ? {} : { wait: false }),
    description:
      `helm upgrade ${state.release} ${chartRef} -n ${state.namespace} --version ${choice.chartVersion}` +
      `${setText} --reset-then-reuse-values${wait ? ' --wait' : ''} --timeout ${settings.helmTimeoutSeconds}s`,
  };
  const refresh: Step = {
    kind: 'helm-repo-update',
    repoName: settings.repoName,
    repoUrl: settings.repoUrl,
    description: `refresh the chart repository ${settings.repoName} (${settings.repoUrl})`,
  };
  if (order !== null) return [refresh, ...orderedHelmSteps(upgrade, order, state.release, settings), healthGate(state.release, settings, 0)];
  return [refresh, upgrade, finalRolloutCheck(state.release, settings), healthGate(state.release, settings, 0)];
}

export function helmRollbackStep(
  state: Pick<ReleaseState, 'release' | 'namespace'>,
  toRevision: number,
  settings: Pick<PlanSettings, 'helmTimeoutSeconds'>,
  /** The ordered path: helm only applies the templates, the paused Deployments roll after. */
  ordered = false,
): Step {
  return {
    kind: 'helm-rollback',
    toRevision,
    timeoutSeconds: settings.helmTimeoutSeconds,
    ...(ordered ? { wait: false } : {}),
    description: `helm rollback ${state.release} ${toRevision} -n ${state.namespace}${ordered ? '' : ' --wait'} --timeout ${settings.helmTimeoutSeconds}s`,
  };
}

