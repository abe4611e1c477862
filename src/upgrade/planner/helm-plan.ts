/**
 * The helm path's steps. Plain helm upgrades every Deployment at once (`--wait`). The ordered
 * path (the default for cluster releases): helm keeps its bookkeeping, but the
 * Deployments it changes are paused first and resumed one component at a time in Milvus's order.
 * `spec.paused` survives helm's three-way merge (SPEC §9): helm updates each template, no pod
 * starts until the bot resumes it. Deployments helm creates start at once; those it removes go.
 */
import { maskUrlCredentials } from '../errors.js';
import type { ChartChoice } from '../milvus/charts.js';
import { runningFlavour, type PlanSettings } from '../plan.js';
import { rollOrder, type Shift } from '../milvus/components.js';
import type { ReleaseState } from '../state.js';
import type { Step } from '../steps.js';
import { imageTag, parseVersion } from '../milvus/version.js';

/**
 * The components to resume, in order: those the release runs, less those the upgrade's shifts
 * remove, plus those they add (started by helm at once; waited for in their place).
 */
export function resumeOrder(state: Pick<ReleaseState, 'components'>, shifts: readonly Shift[]): string[] {
  return rollOrder(state.components.map((c) => c.component), shifts);
}

/** pause, the helm step (no --wait), resume each component and wait it out, resume any left, final check. */
function orderedAround(helmStep: Step, order: readonly string[], release: string, settings: Pick<PlanSettings, 'rolloutTimeoutSeconds'>): Step[] {
  return [
    { kind: 'pause-deployments', description: `pause every Milvus Deployment of ${release}: helm updates them, none rolls until resumed` },
    helmStep,
    ...order.map(
      (component): Step => ({
        kind: 'resume-deployments',
        component,
        timeoutSeconds: settings.rolloutTimeoutSeconds,
        description: `resume ${component} and wait until it is rolled out`,
      }),
    ),
    {
      kind: 'resume-deployments',
      component: null,
      timeoutSeconds: settings.rolloutTimeoutSeconds,
      description: 'resume any other Deployment the bot paused (one at a time), so none stays paused',
    },
    finalRolloutCheck(release, settings),
  ];
}

export function orderedHelmSteps(upgrade: Step, order: readonly string[], release: string, settings: Pick<PlanSettings, 'rolloutTimeoutSeconds'>): Step[] {
  return orderedAround(upgrade, order, release, settings);
}

/** The same treatment for `helm rollback`, in reverse order: every component either side of it. */
export function orderedHelmRollbackSteps(rollback: Step, components: readonly string[], release: string, settings: Pick<PlanSettings, 'rolloutTimeoutSeconds' | 'healthSettleSeconds'>): Step[] {
  const reverse = rollOrder(components).reverse();
  return [...orderedAround(rollback, reverse, release, settings), healthGate(release, settings, 0)];
}

/** The health gate closing a hop whose first step is `sinceStep`. */
export function healthGate(release: string, settings: Pick<PlanSettings, 'rolloutTimeoutSeconds' | 'healthSettleSeconds'>, sinceStep: number): Step {
  return {
    kind: 'check-health',
    settleSeconds: settings.healthSettleSeconds,
    timeoutSeconds: settings.rolloutTimeoutSeconds,
    sinceStep,
    description: `check that every pod of ${release} is ready and stays ready for ${settings.healthSettleSeconds}s, with no restart and none crash-looping`,
  };
}

export function finalRolloutCheck(release: string, settings: Pick<PlanSettings, 'rolloutTimeoutSeconds'>): Step {
  return {
    kind: 'wait-rollout',
    deployments: [],
    timeoutSeconds: settings.rolloutTimeoutSeconds,
    description: `check that every Milvus Deployment of ${release} is rolled out`,
  };
}

/** `order`: the ordered path's resume order; null: plain helm, every Deployment at once. */
export function helmUpgradeSteps(
  state: ReleaseState,
  settings: PlanSettings,
  choice: ChartChoice,
  flags: Readonly<Record<string, string>>,
  order: readonly string[] | null,
): Step[] {
  // Always set: --reset-then-reuse-values keeps a tag set by an earlier upgrade, which would
  // otherwise pin the release to that old version whatever the chart says.
  // The release's image flavour (GPU) too: the chart's default tag is the plain build.
  const version = parseVersion(choice.imageTagOverride ?? choice.appVersion);
  const set: Record<string, string> = { 'image.all.tag': imageTag(version, runningFlavour(state)), ...flags };
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
    description: `refresh the chart repository ${settings.repoName} (${maskUrlCredentials(settings.repoUrl)})`,
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
