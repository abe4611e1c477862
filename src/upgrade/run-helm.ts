/** Steps that drive helm: upgrade and rollback, each done only if helm has not done it yet. */
import { UpgradeError } from './errors.js';
import { done, fail, skipped, type StepContext, type StepOutcome } from './run-support.js';
import type { Step } from './steps.js';

export async function helmUpgrade(step: Extract<Step, { kind: 'helm-upgrade' }>, ctx: StepContext): Promise<StepOutcome> {
  const { helm } = ctx.ports;
  const before = await helm.release(ctx.namespace, ctx.release);
  if (!before) fail(`helm release ${ctx.release} is gone from ${ctx.namespace}`);
  if (before.revision > step.fromRevision && before.chartVersion === step.chartVersion && before.status === 'deployed') {
    return skipped(`already on chart ${step.chartVersion} (revision ${before.revision})`);
  }
  if (before.status.startsWith('pending')) {
    // Another helm operation runs (or died): worth waiting for a while, so this is retried.
    throw new UpgradeError('transient', `helm release ${ctx.release} is "${before.status}" (revision ${before.revision}): another helm operation has not finished`, [
      `if it stays so, check "helm history ${ctx.release} -n ${ctx.namespace}" and roll back to the last deployed revision`,
    ]);
  }
  await ctx.progress(`helm upgrade to chart ${step.chartVersion} (waits until every pod is ready)`);
  await helm.upgrade({
    namespace: ctx.namespace,
    release: ctx.release,
    chartRef: step.chartRef,
    chartVersion: step.chartVersion,
    set: step.set,
    timeoutSeconds: step.timeoutSeconds,
    // No abort signal: killing helm mid-upgrade leaves the release "pending-upgrade". A cancel
    // takes effect when helm returns (its own --timeout bounds that).
  });
  const after = await helm.release(ctx.namespace, ctx.release);
  return done(`revision ${after?.revision ?? '?'} deployed with chart ${step.chartVersion}`);
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
  });
  return done(`rolled back to revision ${step.toRevision}`);
}
