/** Steps that drive helm: upgrade and rollback, each done only if helm has not done it yet. */
import type { HelmReleaseInfo } from '../state.js';
import { done, fail, skipped, type StepContext, type StepOutcome } from './run-support.js';
import type { Step } from '../steps.js';

type HelmUpgradeStep = Extract<Step, { kind: 'helm-upgrade' }>;

export async function helmUpgrade(step: HelmUpgradeStep, ctx: StepContext): Promise<StepOutcome> {
  const { helm } = ctx.ports;
  let before = await helm.release(ctx.namespace, ctx.release);
  if (!before) fail(`helm release ${ctx.release} is gone from ${ctx.namespace}`);
  if (before.status.startsWith('pending')) {
    // A run that lost this request stops its helm call once it sees it was superseded: give it
    // that long before reading the release as what an interrupted helm left.
    await ctx.progress(`helm release is "${before.status}": waiting ${Math.round(ctx.handoverMs / 1000)}s for an earlier run's helm to stop`);
    await ctx.ports.clock.sleep(ctx.handoverMs);
    before = (await helm.release(ctx.namespace, ctx.release)) ?? before;
  }
  if (before.revision > step.fromRevision && before.chartVersion === step.chartVersion && before.status === 'deployed') {
    return skipped(`already on chart ${step.chartVersion} (revision ${before.revision})`);
  }
  if (before.status.startsWith('pending')) {
    await recoverInterruptedUpgrade(step, ctx, before);
  }
  const wait = step.wait !== false;
  await ctx.progress(`helm upgrade to chart ${step.chartVersion}${wait ? ' (waits until every pod is ready)' : ' (the paused Deployments get the new template; none rolls yet)'}`);
  await helm.upgrade({
    namespace: ctx.namespace,
    release: ctx.release,
    chartRef: step.chartRef,
    chartVersion: step.chartVersion,
    set: step.set,
    timeoutSeconds: step.timeoutSeconds,
    wait,
    // Not the cancel signal: killing helm mid-upgrade leaves the release "pending-upgrade", so a
    // cancel takes effect when helm returns (its own --timeout bounds that). Only a run that lost
    // the request stops helm, so that the run now owning it is the only one driving helm.
    signal: ctx.superseded,
  });
  const after = await helm.release(ctx.namespace, ctx.release);
  return done(`revision ${after?.revision ?? '?'} deployed with chart ${step.chartVersion}`);
}

/**
 * A release left `pending-*`. If it is this step's own helm upgrade, cut short (its worker was
 * killed inside helm): roll back to the last deployed revision so the upgrade can run again.
 * Anything else is someone else's operation: refused, nothing touched, never retried blindly.
 */
async function recoverInterruptedUpgrade(step: HelmUpgradeStep, ctx: StepContext, pending: HelmReleaseInfo): Promise<void> {
  const { helm } = ctx.ports;
  const where = `${ctx.release} -n ${ctx.namespace}`;
  const own = pending.status === 'pending-upgrade' && pending.revision > step.fromRevision && pending.chartVersion === step.chartVersion
    && valuesInclude(await helm.values(ctx.namespace, ctx.release, { revision: pending.revision }), step.set);
  if (!own) {
    fail(`helm release ${ctx.release} is "${pending.status}" (revision ${pending.revision}, chart ${pending.chart}): a helm operation not started by this upgrade has not finished; nothing was done`, [
      `check "helm history ${where}"; when that operation is dead, roll back to the last deployed revision, then ask again`,
    ]);
  }
  const history = await helm.history(ctx.namespace, ctx.release);
  const lastDeployed = history.filter((h) => h.revision < pending.revision && (h.status === 'deployed' || h.status === 'superseded')).pop();
  if (!lastDeployed) fail(`helm release ${ctx.release} was left "${pending.status}" by an interrupted upgrade and has no deployed revision to go back to`, [`check "helm history ${where}"`]);
  await ctx.progress(`the helm upgrade to chart ${step.chartVersion} was interrupted (revision ${pending.revision} left "${pending.status}"): rolling back to revision ${lastDeployed.revision}, then upgrading again`);
  await helm.rollback({ namespace: ctx.namespace, release: ctx.release, revision: lastDeployed.revision, timeoutSeconds: step.timeoutSeconds, wait: step.wait, signal: ctx.superseded });
}

/** True when every `--set` path (`a.b.c`) has that value in helm's nested values. */
function valuesInclude(values: Record<string, unknown>, set: Readonly<Record<string, string>>): boolean {
  return Object.entries(set).every(([path, want]) => {
    let v: unknown = values;
    for (const part of path.split('.')) v = v !== null && typeof v === 'object' && Object.hasOwn(v, part) ? (v as Record<string, unknown>)[part] : undefined;
    return v !== undefined && String(v) === want;
  });
}

export async function helmRollback(step: Extract<Step, { kind: 'helm-rollback' }>, ctx: StepContext): Promise<StepOutcome> {
  const history = await ctx.ports.helm.history(ctx.namespace, ctx.release);
  const last = history[history.length - 1];
  if (!last) fail(`helm release ${ctx.release} has no history in ${ctx.namespace}`);
  if (last.status === 'deployed' && last.description === `Rollback to ${step.toRevision}`) {
    return skipped(`already rolled back to revision ${step.toRevision} (revision ${last.revision})`);
  }
  if (!history.some((h) => h.revision === step.toRevision)) {
    fail(`revision ${step.toRevision} of ${ctx.release} is no longer in helm's history`);
  }
  await ctx.progress(`helm rollback to revision ${step.toRevision}`);
  await ctx.ports.helm.rollback({
    namespace: ctx.namespace,
    release: ctx.release,
    revision: step.toRevision,
    timeoutSeconds: step.timeoutSeconds,
    wait: step.wait,
    signal: ctx.superseded,
  });
  return done(`rolled back to revision ${step.toRevision}`);
}
