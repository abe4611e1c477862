/**
 * An upgrade plan for one hop: observed state + request -> Plan, by the path the rules allow
 * (helm, rolling or the metadata migration), or a PreflightError/InputError saying what is wrong.
 */
import { chooseChart, type ChartChoice, type ChartEntry } from '../milvus/charts.js';
import { chartMakes, crossesInto26, INTO_26, MIXCOORD, setMakes, type Shift } from '../milvus/components.js';
import { InputError } from '../errors.js';
import { queueKeepingFlags, queueName, unsafeChartsFor, type QueueKind } from '../milvus/message-queue.js';
import { fingerprint, pathOfStrategy, planId, runningFlavour, runningVersion, type Plan, type PlanSettings, type Strategy, type UpgradePath } from '../plan.js';
import { changesOfSteps } from './plan-changes.js';
import { choosePath, type PathDecision } from './paths.js';
import { helmRollbackStep, helmUpgradeSteps, orderedHelmRollbackSteps, orderedRoll, rollComponents, rollText } from './helm-plan.js';
import { assertNoProblems, releaseProblems, toolingProblems } from './preflight.js';
import { migrationRollbackStepsFor, migrationSteps } from './migration-plan.js';
import { revertDeploymentsSteps, rollingComponents, rollingSteps } from './rolling-plan.js';
import type { ReleaseState, ToolingState } from '../state.js';
import type { RestoredDeployment } from '../steps.js';
import { compareVersions, imageTag, versionOfImage, type MilvusVersion } from '../milvus/version.js';
import { AFTER_30, BASELINE_30, chartCarries30, crossesInto30, GUIDE_30, isLine30, NO_ROLLBACK_FROM_30, topologyProblems, versionCarries30, woodpeckerMode } from '../milvus/line-30.js';

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
  /** Every value the release renders with (`helm get values --all`): how Woodpecker runs. */
  readonly computedValues?: Readonly<Record<string, unknown>>;
}

/** The chart a helm-path plan would use, so its default values can be read before planning. */
export function chartForPlan(inputs: Pick<PlanInputs, 'request' | 'charts' | 'queue' | 'state'>): ChartChoice {
  if (isLine30(inputs.request.target)) return keepInstalledChart(inputs.state, inputs.request.target, inputs.request.chartVersion ?? null);
  return chooseChart(inputs.charts, inputs.request.target, {
    exclude: unsafeChartsFor(inputs.queue ?? null),
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
  if (!crossesInto26(from, to)) return false;
  const via = INTO_26.from;
  if (compareVersions(from, via) < 0) {
    throw new InputError(`Milvus ${from.text} cannot go straight to ${to.text}`, [
      `an upgrade to 2.6 must start from ${via.text} or later with mixcoord: upgrade to ${via.text} first`,
    ]);
  }
  const separateCoordinators = state.components.filter((c) => MIXCOORD.removes.includes(c.component));
  const runsMixcoord = MIXCOORD.adds.every((a) => state.components.some((c) => c.component === a));
  // Standalone has no coordinators of its own to merge (the chart renders mixcoord only in cluster mode).
  if (state.mode === 'cluster' && (!runsMixcoord || separateCoordinators.length > 0)) {
    const flags = Object.entries(MIXCOORD.set).map(([k, v]) => `${k}=${v}`).join(', ');
    throw new InputError(`${state.release} must run mixcoord before it goes to ${to.text}`, [
      `it runs ${separateCoordinators.map((c) => c.component).join(', ') || 'no mixcoord'}`,
      `first: helm upgrade with image.all.tag=${imageTag(via)}, ${flags} (Milvus docs, "Upgrade Milvus Cluster with Helm Chart", v2.6)`,
    ]);
  }
  if (strategy === 'rolling') {
    throw new InputError(`a rolling upgrade cannot take ${from.text} to ${to.text}`, [
      '2.6 adds streamingnode and removes indexnode: swapping images cannot do that; use --strategy helm',
    ]);
  }
  return true;
}

/**
 * No 3.0 chart exists: the guide keeps the chart the release runs ("do not change or downgrade
 * it") and changes only image.all.tag.
 */
function keepInstalledChart(state: ReleaseState, target: MilvusVersion, asked: string | null): ChartChoice {
  const installed = state.helm.chartVersion;
  if (asked && asked !== installed) {
    throw new InputError(`--chart ${asked} cannot be used for Milvus ${target.text}`, [
      `no ${target.major}.x chart exists: ${GUIDE_30} keeps the installed chart (${installed}) and changes only image.all.tag; leave out --chart`,
    ]);
  }
  return {
    chartVersion: installed,
    appVersion: state.helm.appVersion,
    imageTagOverride: imageTag(target),
    explanation: `no ${target.major}.x chart exists: the installed chart ${installed} is kept and only image.all.tag changes to ${imageTag(target)} (${GUIDE_30})`,
  };
}

/** The 3.0 line: only from the docs' baseline, on its chart, with its topology; by helm; kept embedded. */
function checkThe30Line(from: MilvusVersion, to: MilvusVersion, state: ReleaseState, strategy: UpgradePath | undefined, values: Readonly<Record<string, unknown>> | undefined): boolean {
  if (!isLine30(to)) return false;
  const baseline = `Milvus ${BASELINE_30.milvus.text} on chart ${BASELINE_30.chart}`;
  if (crossesInto30(from, to)) {
    if (!versionCarries30(from) || !chartCarries30(state.helm.chartVersion)) {
      throw new InputError(`Milvus ${from.text} on chart ${state.helm.chartVersion} cannot go straight to ${to.text}`, [
        `${GUIDE_30} is validated from ${baseline} or later: upgrade to the newest 2.6 on a chart ${BASELINE_30.chart} or later first`,
      ]);
    }
  }
  const topology = topologyProblems(state.mode, state.components.map((c) => c.component));
  if (topology.length > 0) {
    throw new InputError(`${state.release} cannot take the image-only upgrade to ${to.text}: ${topology.join(', ')}`, [
      `${GUIDE_30}: the release must use MixCoord and StreamingNode and run no IndexNode, otherwise "do not run this image-only upgrade"`,
      ...(state.components.some((c) => c.component === 'indexnode')
        ? [`first: helm upgrade ${state.release} zilliztech/milvus -n ${state.namespace} --version ${state.helm.chartVersion} --reset-then-reuse-values --set indexNode.enabled=false (2.6 builds indexes on the datanodes), then plan again`]
        : []),
    ]);
  }
  if (values && woodpeckerMode(values) === 'service') {
    throw new InputError(`${state.release} runs Woodpecker as a service (streaming.woodpecker.embedded=false, woodpecker.enabled=true): the upgrade to ${to.text} is not validated so`, [
      `${GUIDE_30} keeps Woodpecker embedded (streaming.woodpecker.embedded=true, woodpecker.enabled=false); switching between the two during 2.6 -> 3.0 panics (zilliztech/woodpecker#216), and the queue type cannot change once data exists (milvus-io/milvus#50217)`,
      'nothing was changed; move the data to a release that keeps Woodpecker embedded, or wait for a procedure validated for the service mode',
    ]);
  }
  if (strategy === 'rolling' || strategy === 'migrate') {
    throw new InputError(`the ${strategy} strategy cannot take ${from.text} to ${to.text}`, [`${GUIDE_30} is a helm upgrade of the installed chart: use --strategy helm (or helm-parallel)`]);
  }
  return true;
}

/** Everything that can refuse an upgrade, in the order it is checked, and what it decided. */
export interface UpgradeDecision {
  readonly from: MilvusVersion;
  readonly choice: ChartChoice;
  readonly into26: boolean;
  /** An image-only upgrade to 3.x on the installed chart. */
  readonly line30: boolean;
  readonly path: PathDecision;
}

export function decideUpgrade(inputs: PlanInputs): UpgradeDecision {
  const { request, state, tooling, settings } = inputs;
  assertNoProblems(
    [...toolingProblems(tooling, settings.repoName, settings.repoUrl), ...releaseProblems(state)],
    `cannot upgrade ${state.release}`,
  );
  const from = runningVersion(state);
  // Also for rolling and migration: a version with no chart line at all is unknown, not a target.
  const choice = chartForPlan(inputs);
  const requestedPath = pathOfStrategy(request.strategy);
  const into26 = checkThe26Line(from, request.target, state, requestedPath);
  const line30 = checkThe30Line(from, request.target, state, requestedPath, inputs.computedValues);
  // A route's mixcoord switch stays on the running version (a 2.5.16+ cluster on its way to 2.6).
  const switchOnly = state.mode === 'cluster' && setMakes(MIXCOORD, request.extraSet ?? {}) && state.components.some((c) => MIXCOORD.removes.includes(c.component));
  return { from, choice, into26, line30, path: choosePath(from, request.target, state, requestedPath, { sameVersionSwitch: switchOnly }) };
}

/**
 * Observed state + request -> Plan, or a PreflightError/InputError saying what is wrong.
 * `decided`: a decision already made for these inputs (the service reads the chosen chart's
 * defaults between the two), so the chart is chosen once.
 */
export function planUpgrade(inputs: PlanInputs, decided: UpgradeDecision = decideUpgrade(inputs)): Plan {
  const { request, state, settings } = inputs;
  const { from, choice, into26, line30, path: decision } = decided;
  const into30 = crossesInto30(from, request.target);
  const to = request.target;
  const queue = inputs.queue ?? null;
  // The rollback of THIS upgrade goes back to what runs now, whatever older marks say.
  const now = withoutMarks(state);
  const warnings: string[] = [];
  const mixed = mixedVersionWarning(state);
  if (mixed) warnings.push(mixed);
  if (into26) warnings.push('an upgrade from 2.5 to 2.6 cannot be rolled back: the way back is a backup taken before it, restored into a new release');
  if (into30) warnings.push(`an upgrade into 3.0 has no image rollback: the way back is the backup taken before it, restored into a new release`, AFTER_30);
  const repo = state.imageRepository || 'milvusdb/milvus';
  const flavour = runningFlavour(state);
  const image = `${repo}:${imageTag(to, flavour)}`;
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
    if (line30) {
      warnings.push(`later helm upgrades of ${state.release} must keep image.all.tag=${choice.imageTagOverride} (chart ${choice.chartVersion} was built for ${choice.appVersion})`);
    } else if (choice.imageTagOverride) {
      warnings.push(
        `${choice.explanation}. The image ${image} must exist in your registry; later helm upgrades must keep image.all.tag or they will change the version`,
      );
    }
    warnings.push(...chartWarnings(state, choice));
    const queueFlags = queueKeepingFlags(queue, inputs.userValues ?? {}, inputs.targetDefaults ?? {});
    if (queue === null) warnings.push('cannot tell which message queue the release uses: check the changes below before approving');
    const set = { ...queueFlags, ...(request.extraSet ?? {}), ...(into26 ? INTO_26.set : {}) };
    const ordered = state.mode === 'cluster' && request.strategy !== 'helm-parallel';
    const makesMixcoord = switchesToMixcoord(state, choice) || (state.mode === 'cluster' && setMakes(MIXCOORD, set) && !state.components.some((c) => c.component === 'mixcoord'));
    const shifts: Shift[] = [...(makesMixcoord ? [MIXCOORD] : []), ...(into26 ? [INTO_26] : [])];
    const roll = ordered ? orderedRoll(state, shifts) : null;
    const order = roll ? rollComponents(roll) : null;
    const steps = helmUpgradeSteps(state, settings, choice, set, roll);
    const outside = helmRollbackWouldNotRestore(state, from);
    // helm's revision records older images than run now: its rollback is made honest by setting
    // the paused Deployments back to what runs now before any resumes. Only when the upgrade
    // keeps the same Deployments: one helm's rollback re-creates would start unpaused, on helm's images.
    const restore = outside && shifts.length === 0 ? restoredDeployments(state) : null;
    const notHelms = outside && !restore ? `${outside}; this upgrade also changes which Deployments run, so they could not be held back` : null;
    // Paused around it (no --wait) on the ordered path, and whenever Deployments are set back.
    const rollbackStep = helmRollbackStep(state, state.helm.revision, settings, roll !== null || restore !== null);
    return {
      ...base,
      chart,
      reasons: [line30 ? 'helm upgrade of the installed chart, only image.all.tag changed: the guide\'s one path (no rolling upgrade)' : decision.reason, choice.explanation, roll ? `components roll one at a time in Milvus's order: ${rollText(roll)} (--strategy helm-parallel rolls them all at once)` : 'helm rolls every Deployment at once'],
      steps,
      changes: [],
      messageQueue: { kind: queue, note: queueNote(queue, queueFlags) },
      warnings,
      ...(notHelms ? { noRollback: notHelms } : into30 ? { noRollback: NO_ROLLBACK_FROM_30 } : {}),
      rollback: into26 || into30 || notHelms ? null : {
        path: 'helm',
        summary:
          `helm rollback ${state.release} to revision ${state.helm.revision} (chart ${state.helm.chartVersion}, Milvus ${from.text})${order || restore ? ', components in reverse order' : ''}` +
          (restore ? `, each set back to ${from.text} before it resumes (helm's revision records older images)` : ''),
        steps: order || restore
          ? orderedHelmRollbackSteps(rollbackStep, [...(order ?? []), ...state.components.map((c) => c.component)], state.release, settings, restore ?? [])
          : [rollbackStep],
      },
    };
  }
  if (decision.path === 'rolling') {
    warnings.push(
      `the rolling upgrade changes the Deployments directly: helm still records chart ${state.helm.chartVersion}, so a later helm upgrade must set image.all.tag=${imageTag(to, flavour)} or it will change the version back`,
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
      summary: `restore the metadata from the backup taken before the migration, then start ${state.imageRepository}:${imageTag(from, runningFlavour(state))} again`,
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

/** What runs now, to set back after a helm rollback to this revision (see helmRollbackWouldNotRestore). */
function restoredDeployments(state: ReleaseState): RestoredDeployment[] {
  return state.components.map((c) => ({
    component: c.component,
    deployment: c.deployment,
    image: c.image,
    versionLabel: c.versionLabel,
    recordPrevious: c.previousImage && c.markHelmRevision === state.helm.revision ? { image: c.previousImage, versionLabel: c.previousVersionLabel } : null,
  }));
}

/**
 * Why a helm rollback to the current revision would not bring back what runs now: a rolling
 * upgrade or the migration changed the Deployments outside helm (the bot's marks at this
 * revision), so helm's record holds older images. Rolling back to it alone would start them on
 * metadata the newer ones may have changed (issue 24).
 */
export function helmRollbackWouldNotRestore(state: ReleaseState, from: MilvusVersion): string | null {
  const outside = state.components.filter((c) => c.previousImage && c.markHelmRevision === state.helm.revision && c.previousImage !== c.image);
  if (outside.length === 0) return null;
  const helms = [...new Set(outside.map((c) => versionOfImage(c.previousImage!)?.text ?? c.previousImage!))].join(', ');
  return `helm's revision ${state.helm.revision} records Milvus ${helms}, but ${state.release} runs ${from.text}: a rolling upgrade or the metadata migration changed its Deployments outside helm, so a helm rollback alone would start ${helms} on what ${from.text} may have changed`;
}

/** The chart's own default makes mixcoord (4.2.4 on): the separate coordinators go, one mixcoord comes. */
function switchesToMixcoord(state: ReleaseState, choice: ChartChoice): boolean {
  const hasMixcoord = state.components.some((c) => c.component === 'mixcoord');
  return state.mode === 'cluster' && !hasMixcoord && chartMakes(MIXCOORD, state.helm.chartVersion, choice.chartVersion);
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
  return `message queue: ${queueName(queue)}, kept${carried.length ? ` (carried: ${carried.join(', ')}, the target chart's defaults differ)` : ''}`;
}
