import { InputError } from '../errors.js';
import { migrationRollbackStepsFor } from './migration-plan.js';
import { invertChanges } from '../objects.js';
import { DEFAULT_PLAN_SETTINGS, fingerprint, hopsToUndo, planId, rollbackAt, runningVersion, type Plan, type PlanSettings } from '../plan.js';
import { revertDeploymentsSteps } from './rolling-plan.js';
import { helmRollbackStep, orderedHelmRollbackSteps } from './helm-plan.js';
import { assertNoProblems, toolingProblems } from './preflight.js';
import type { HelmRevisionInfo, ReleaseState, ToolingState } from '../state.js';
import { crossesInto26 } from '../milvus/components.js';
import { crossesInto30, NO_ROLLBACK_FROM_30 } from '../milvus/line-30.js';
import { parseImageTag, tryParseVersion, versionOfImage } from '../milvus/version.js';

export interface RollbackInputs {
  readonly cluster: string;
  readonly state: ReleaseState;
  readonly history: readonly HelmRevisionInfo[];
  readonly tooling: ToolingState;
  readonly settings?: PlanSettings;
}

/**
 * A rollback planned from what the cluster shows, for when no stored plan is at hand (the CLI,
 * or a request whose record is lost). The bot marks what it changes outside helm, so:
 * Deployments with a previous-image mark and a migration backup -> restore the metadata;
 * Deployments with a previous-image mark -> rolling back in reverse order; otherwise -> helm
 * rollback to the revision before the current one.
 */
export function planRollback(inputs: RollbackInputs): Plan {
  const plan = planRollbackFromState(inputs);
  refuseAcrossThe26Line(plan);
  refuseAcrossTheMigration(plan);
  return plan;
}

/**
 * 2.1 -> 2.2 rewrote the metadata (the migration): only the migration's own rollback (its
 * metadata backup restored) goes back below it. A helm rollback or image swap would start 2.1
 * images on 2.2 metadata (issue 24).
 */
function refuseAcrossTheMigration(plan: Pick<Plan, 'from' | 'to' | 'release' | 'path'>): void {
  const from = tryParseVersion(plan.from);
  const to = tryParseVersion(plan.to);
  const below22 = (v: NonNullable<typeof from>) => v.major < 2 || (v.major === 2 && v.minor <= 1);
  if (plan.path !== 'migrate' && from && to && !below22(from) && below22(to)) {
    throw new InputError(`${plan.release} cannot be rolled back from ${from.text} to ${to.text} this way`, [
      `a ${plan.path} rollback would start ${to.text} images on metadata the 2.1 -> 2.2 migration rewrote`,
      'the way back below 2.2 is the migration\'s own rollback (its metadata backup restored), offered while the release still runs the migration\'s target; otherwise restore a backup into a new release',
    ]);
  }
}

/** Milvus 2.6 changes the metadata for good (SPEC §9), and 3.0 has no image rollback (§10): no way back below either. */
function refuseAcrossThe26Line(plan: Pick<Plan, 'from' | 'to' | 'release'>): void {
  const from = tryParseVersion(plan.from);
  const to = tryParseVersion(plan.to);
  if (from && to && crossesInto26(to, from)) {
    throw new InputError(`${plan.release} cannot be rolled back from ${from.text} to ${to.text}`, [
      'an upgrade into Milvus 2.6 cannot be undone: restore a backup taken before it into a new release',
    ]);
  }
  if (from && to && crossesInto30(to, from)) {
    throw new InputError(`${plan.release} cannot be rolled back from ${from.text} to ${to.text}`, [NO_ROLLBACK_FROM_30, 'restore the backup taken before the upgrade into a new release']);
  }
}

function planRollbackFromState(inputs: RollbackInputs): Plan {
  const { cluster, state, history, tooling } = inputs;
  const settings = inputs.settings ?? DEFAULT_PLAN_SETTINGS;
  assertNoProblems(toolingProblems(tooling, settings.repoName, settings.repoUrl), `cannot roll back ${state.release}`);
  // Marks made before a later helm upgrade or rollback are stale: helm has moved on since.
  const marked = state.components.filter(
    (c) => c.previousImage && c.previousImage !== c.image && (c.markHelmRevision === null || c.markHelmRevision === state.helm.revision),
  );
  const running = runningVersion(state).text;
  const base = {
    kind: 'rollback' as const,
    cluster,
    namespace: state.namespace,
    release: state.release,
    chart: null,
    rollback: null,
    observed: fingerprint(state),
  };
  // Roll back a migration only while the release is on its target (migrated) or still on its
  // source with replicas saved (stopped part-way); after a later upgrade the backup is stale.
  const mig = state.migration;
  const onTarget = mig?.targetVersion === running && marked.length > 0;
  const stoppedOnSource = mig?.sourceVersion === running && state.savedReplicas !== null;
  if (mig && (onTarget || stoppedOnSource)) {
    const previous = marked[0] ? (versionOfImage(marked[0].previousImage!)?.text ?? running) : running;
    return migrationRollback(inputs, settings, running, previous, base);
  }
  if (marked.length > 0) {
    const previous = versionOfImage(marked[0]!.previousImage!)?.text ?? marked[0]!.previousImage!;
    return {
      ...base,
      id: planId(cluster, state.namespace, state.release, `rollback-${previous}`),
      path: 'rolling',
      from: running,
      to: previous,
      image: marked[0]!.previousImage!,
      reasons: ['the Deployments carry the images they ran before the rolling upgrade'],
      steps: revertDeploymentsSteps(marked, settings),
      warnings: [],
    };
  }
  const current = history[history.length - 1];
  if (!current) throw new InputError(`release ${state.release} has no helm history: nothing to roll back`);
  const target = [...history]
    .reverse()
    .find((h) => h.revision < current.revision && (h.status === 'superseded' || h.status === 'deployed'));
  if (!target) {
    throw new InputError(`release ${state.release} has no earlier deployed revision to roll back to`, [
      `its history: ${history.map((h) => `${h.revision} ${h.status} ${h.chart}`).join('; ')}`,
    ]);
  }
  const ordered = state.mode === 'cluster';
  const step = helmRollbackStep(state, target.revision, settings, ordered);
  return {
    ...base,
    id: planId(cluster, state.namespace, state.release, `rollback-r${target.revision}`),
    path: 'helm',
    from: running,
    // What the revision ran: its image tag (a target no chart carries is set that way), else its chart's.
    to: parseImageTag(target.imageTag ?? '')?.version.text ?? tryParseVersion(target.appVersion)?.text ?? target.appVersion,
    image: '',
    reasons: [
      `helm revision ${current.revision} (${current.chart}, ${current.status}) back to revision ${target.revision} (${target.chart})`,
      ...(ordered ? ['components roll back one at a time, in reverse order'] : []),
    ],
    steps: ordered ? orderedHelmRollbackSteps(step, state.components.map((c) => c.component), state.release, settings) : [step],
    warnings: [],
  };
}

function migrationRollback(
  inputs: RollbackInputs,
  settings: PlanSettings,
  running: string,
  previous: string,
  base: Omit<Plan, 'id' | 'path' | 'from' | 'to' | 'image' | 'reasons' | 'steps' | 'warnings'>,
): Plan {
  // Reuses the upgrade planner's migration rollback steps, planned from the source state.
  const { state } = inputs;
  const migration = state.migration!;
  const from = tryParseVersion(migration.sourceVersion ?? previous);
  const to = tryParseVersion(migration.targetVersion ?? running);
  if (!from || !to) throw new InputError(`cannot read the versions of the migration of ${state.release}`);
  const steps = migrationRollbackStepsFor(state, settings, from, to);
  return {
    ...base,
    id: planId(inputs.cluster, state.namespace, state.release, `rollback-${from.text}`),
    path: 'migrate',
    from: running,
    to: from.text,
    image: state.components.find((c) => c.previousImage)?.previousImage ?? '',
    reasons: [`a metadata migration ${from.text} -> ${to.text} was run: restore the backup and start ${from.text}`],
    steps,
    warnings: migration.backupDone ? [] : ['no successful backup is recorded: only the images can be put back'],
  };
}

/**
 * The rollback stored with an upgrade plan, as a plan of its own (what the Rollback button runs).
 * A route's is that of the hop the run stopped in (`completedSteps`; default: it finished).
 */
export function rollbackPlanFor(plan: Plan, completedSteps: number = plan.steps.length): Plan | null {
  const rollback = rollbackAt(plan, completedSteps);
  if (!rollback) return null;
  const undone = plan.hops && plan.hops.length > 0 ? hopsToUndo(plan.hops, completedSteps) : null;
  const hop = undone ? undone[0]! : null;
  // From where the route stopped back to where the earliest hop undone began.
  const from = hop?.to ?? plan.to;
  const to = undone ? undone[undone.length - 1]!.from : plan.from;
  refuseAcrossThe26Line({ release: plan.release, from, to });
  // The upgrade's backups and restore offer are its own: a rollback takes none and offers none.
  const { hops: _hops, backup: _backup, restore: _restore, backupMissing: _missing, withoutBackup: _without, ...single } = plan;
  return {
    ...single,
    id: `${plan.id}#rollback`,
    kind: 'rollback',
    path: rollback.path,
    from,
    to,
    chart: null,
    image: '',
    reasons: [rollback.summary],
    steps: rollback.steps,
    warnings: [],
    rollback: null,
    // The upgrade's own changes, undone; only when it ran whole: a partial run changed less, and
    // a list that claims more than the rollback does is worse than none.
    ...(plan.changes && completedSteps >= plan.steps.length && !hop ? { changes: invertChanges(plan.changes) } : { changes: undefined }),
  };
}
