/**
 * A backup restored into a NEW release (issue 27): the release installed as the source's helm
 * revision ran, then milvus-backup's restore into it. Both idempotent: a resumed run finds the
 * release it installed and the restore task it asked for (by the plan's task id).
 */
import { UpgradeError } from '../errors.js';
import { isFinished, type RestoreInfo } from '../backup.js';
import { restoreValuesProblems } from '../planner/restore-plan.js';
import type { Step } from '../steps.js';
import { done, fail, skipped, waitFor, type StepContext, type StepOutcome } from './run-support.js';

export async function helmInstall(step: Extract<Step, { kind: 'helm-install' }>, ctx: StepContext): Promise<StepOutcome> {
  const { helm } = ctx.ports;
  const there = await helm.release(ctx.namespace, ctx.release);
  if (there) {
    // The run checked at its start that the release was not there: this is its own install.
    if (there.status === 'deployed' && there.chartVersion === step.chartVersion) return skipped(`${ctx.release} is installed (chart ${step.chartVersion}, revision ${there.revision})`);
    fail(`release ${ctx.release} is "${there.status}" (chart ${there.chartVersion}): its install did not finish`, [
      `see why (helm status ${ctx.release} -n ${ctx.namespace}, its pods), remove it (helm uninstall ${ctx.release} -n ${ctx.namespace}), then ask for the restore again`,
    ]);
  }
  // Read now, not carried in the record: what is installed is what helm recorded of the source.
  const values = await helm.values(ctx.namespace, step.valuesOf.release, { revision: step.valuesOf.revision });
  const problems = restoreValuesProblems(step.valuesOf.release, values);
  if (problems.length > 0) fail(`the values of ${step.valuesOf.release} revision ${step.valuesOf.revision} cannot make a new release`, problems);
  await ctx.progress(`helm install ${ctx.release} (chart ${step.chartVersion}; waits until every pod is ready)`);
  // As helm upgrade: only a superseded run stops helm; a cancel waits for it (its --timeout bounds that).
  await helm.install({
    namespace: ctx.namespace,
    release: ctx.release,
    chartRef: step.chartRef,
    chartVersion: step.chartVersion,
    values,
    set: step.set,
    timeoutSeconds: step.timeoutSeconds,
    signal: ctx.superseded,
  });
  const after = await helm.release(ctx.namespace, ctx.release);
  return done(`${ctx.release} installed: revision ${after?.revision ?? '?'}, chart ${step.chartVersion}, with the values of ${step.valuesOf.release} revision ${step.valuesOf.revision}`);
}

export async function restoreBackup(step: Extract<Step, { kind: 'restore-backup' }>, ctx: StepContext): Promise<StepOutcome> {
  const service = ctx.ports.backups?.service;
  if (!service) fail(`this worker has no milvus-backup service, and the plan restores backup ${step.backup}`, ['configure BACKUP_URL on the worker, or plan again']);
  let asked = false;
  let resumed: boolean | null = null;
  const info = await waitFor(
    ctx,
    step.timeoutSeconds,
    async (): Promise<{ value: RestoreInfo | null; text: string }> => {
      const now = await service.getRestore(step.url, step.taskId, ctx.signal);
      resumed ??= now !== null;
      if (now === null) {
        if (asked) return { value: null, text: `restore ${step.taskId} asked of milvus-backup, not reported yet` };
        // A server restarted since forgot the task: asked again, it refuses collections already there.
        await service.restore(step.url, { backupName: step.backup, collectionNames: step.collections, id: step.taskId }, ctx.signal);
        asked = true;
        return { value: null, text: `restore of ${step.backup} asked of milvus-backup` };
      }
      if (isFinished(now.state)) return { value: now, text: '' };
      return { value: null, text: `restore of ${step.backup}: ${now.progress}%` };
    },
    (last) =>
      new UpgradeError('timeout', `the restore of ${step.backup} into ${ctx.release} did not finish in ${step.timeoutSeconds}s: ${last}`, [
        `milvus-backup may still be writing it: see its log and GET ${step.url}/api/v1/get_restore?id=${step.taskId}`,
      ]),
    { watched: false, what: 'milvus-backup' },
  );
  if (info.state !== 'success') {
    fail(`the restore of ${step.backup} into ${ctx.release} ended ${info.state}${info.errorMessage ? `: ${info.errorMessage}` : ''}`, [
      `${ctx.release} holds what was restored before it stopped; see milvus-backup's log, remove ${ctx.release} (helm uninstall) and ask again`,
    ]);
  }
  const restored = new Set(info.collections.filter((c) => c.state === 'success').map((c) => c.name));
  const missing = step.collections.filter((c) => !restored.has(c));
  if (info.collections.length > 0 && missing.length > 0) fail(`the restore of ${step.backup} finished without ${missing.join(', ')}`, ['see milvus-backup\'s log']);
  const seconds = info.endTime > 0 && info.startTime > 0 ? info.endTime - info.startTime : null;
  return done(
    `backup ${step.backup} restored into ${ctx.release}${resumed ? ' (found, asked earlier)' : ''}: ${step.collections.length} collection(s)${seconds !== null ? ` in ${seconds}s` : ''}`,
  );
}
