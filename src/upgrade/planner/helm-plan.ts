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
import type { RestoredDeployment, Step } from '../steps.js';
import { tagOf } from '../milvus/image-ref.js';
import { imageTag, parseVersion } from '../milvus/version.js';

/** How the ordered path rolls: a resume step per group, in order; then the components kept through helm go. */
export interface OrderedRoll {
  /** Each group is resumed in its order and waited for together; most groups are one component. */
  readonly groups: readonly (readonly string[])[];
  /** Components the chart drops that helm keeps running until every group has rolled. */
  readonly removeLast: readonly string[];
}

/** The components of an ordered roll, in order (removed ones last). */
export function rollComponents(roll: OrderedRoll): string[] {
  return [...roll.groups.flat(), ...roll.removeLast];
}

/**
 * The components to resume, in order: those the release runs, less those the upgrade's shifts
 * remove, plus those they add (started by helm at once; waited for in their place); grouped where
 * a shift starts components together. What a shift removes last stays through helm.
 */
export function orderedRoll(state: Pick<ReleaseState, 'components'>, shifts: readonly Shift[]): OrderedRoll {
  const present = state.components.map((c) => c.component);
  const order = rollOrder(present, shifts);
  const together = shifts.flatMap((s) => s.startTogether);
  const groups: string[][] = [];
  for (const component of order) {
    if (groups.some((g) => g.includes(component))) continue;
    const pair = together.find((t) => t[0] === component && t.slice(1).every((c) => order.includes(c)));
    groups.push(pair ? [...pair] : [component]);
  }
  // Only a cluster runs the components a shift removes (rollOrder ignores shifts for standalone).
  const removeLast = present.includes('standalone') ? [] : [...new Set(shifts.filter((s) => s.removeLast).flatMap((s) => s.removes))].filter((c) => present.includes(c));
  return { groups, removeLast };
}

/** "streamingnode + mixcoord, querynode, datanode, proxy, then indexnode removed". */
export function rollText(roll: OrderedRoll): string {
  const groups = roll.groups.map((g) => g.join(' + ')).join(', ');
  return roll.removeLast.length > 0 ? `${groups}, then ${roll.removeLast.join(', ')} removed` : groups;
}

/** A roll in plain order, one component per group, nothing kept (rollbacks). */
function plainRoll(order: readonly string[]): OrderedRoll {
  return { groups: order.map((c) => [c]), removeLast: [] };
}

function resumeStep(group: readonly string[], settings: Pick<PlanSettings, 'rolloutTimeoutSeconds'>): Step {
  const [component, ...rest] = group as [string, ...string[]];
  if (rest.length === 0) {
    return { kind: 'resume-deployments', component, timeoutSeconds: settings.rolloutTimeoutSeconds, description: `resume ${component} and wait until it is rolled out` };
  }
  return {
    kind: 'resume-deployments',
    component,
    with: rest,
    timeoutSeconds: settings.rolloutTimeoutSeconds,
    description: `resume ${component}, then ${rest.join(', ')} at once (${component} becomes healthy only with ${rest.join(', ')}), and wait until all are rolled out`,
  };
}

/**
 * keep what goes last, pause, the helm step (no --wait), resume each group and wait it out,
 * remove what was kept, resume any left, final check.
 */
function orderedAround(helmStep: Step, roll: OrderedRoll, release: string, settings: Pick<PlanSettings, 'rolloutTimeoutSeconds'>, afterHelm: readonly Step[] = []): Step[] {
  const kept = roll.removeLast;
  return [
    ...(kept.length > 0
      ? [{ kind: 'keep-deployments', components: kept, description: `mark ${kept.join(', ')} helm.sh/resource-policy=keep: the helm upgrade leaves ${kept.length > 1 ? 'them' : 'it'} running until the rest has rolled` } satisfies Step]
      : []),
    { kind: 'pause-deployments', description: `pause every Milvus Deployment of ${release}: helm updates them, none rolls until resumed` },
    helmStep,
    ...afterHelm,
    ...roll.groups.map((g) => resumeStep(g, settings)),
    ...(kept.length > 0
      ? [{ kind: 'remove-deployments', components: kept, timeoutSeconds: settings.rolloutTimeoutSeconds, description: `delete ${kept.join(', ')} (no longer in the chart) and wait until ${kept.length > 1 ? 'their' : 'its'} pods are gone` } satisfies Step]
      : []),
    {
      kind: 'resume-deployments',
      component: null,
      timeoutSeconds: settings.rolloutTimeoutSeconds,
      description: 'resume any other Deployment the bot paused (one at a time), so none stays paused',
    },
    finalRolloutCheck(release, settings),
  ];
}

export function orderedHelmSteps(upgrade: Step, roll: OrderedRoll, release: string, settings: Pick<PlanSettings, 'rolloutTimeoutSeconds'>): Step[] {
  return orderedAround(upgrade, roll, release, settings);
}

/**
 * The same treatment for `helm rollback`, in reverse order: every component either side of it.
 * `restore`: what ran before the hop where helm's revision records older images; set on the
 * paused Deployments before any resumes.
 */
export function orderedHelmRollbackSteps(
  rollback: Step,
  components: readonly string[],
  release: string,
  settings: Pick<PlanSettings, 'rolloutTimeoutSeconds' | 'healthSettleSeconds'>,
  restore: readonly RestoredDeployment[] = [],
): Step[] {
  const reverse = rollOrder(components).reverse();
  const restoreStep: Step[] = restore.length > 0
    ? [{
        kind: 'restore-deployments',
        targets: restore,
        description: `set the paused Deployments back to what ran before the upgrade (${tagOf(restore[0]!.image) ?? restore[0]!.image}): helm's revision records older images, which never start`,
      }]
    : [];
  return [...orderedAround(rollback, plainRoll(reverse), release, settings, restoreStep), healthGate(release, settings, 0)];
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

/** `roll`: the ordered path's roll; null: plain helm, every Deployment at once. */
export function helmUpgradeSteps(
  state: ReleaseState,
  settings: PlanSettings,
  choice: ChartChoice,
  flags: Readonly<Record<string, string>>,
  roll: OrderedRoll | null,
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
  const wait = roll === null;
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
  if (roll !== null) return [refresh, ...orderedHelmSteps(upgrade, roll, state.release, settings), healthGate(state.release, settings, 0)];
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
