/**
 * The backup before a step that cannot be undone (issue 27), with milvus-backup: asked for under
 * the plan's name, waited for, then held to the data snapshot. Idempotent by that name: a run
 * resumed after a crash finds the backup it started (running or done) instead of starting
 * another; a backup of that name that failed is reported, never silently replaced.
 */
import { UpgradeError } from '../errors.js';
import { backupProblems, bytesText, isFinished, type BackupInfo } from '../backup.js';
import type { Step } from '../steps.js';
import type { BackupService } from '../ports.js';
import { done, fail, waitFor, type StepContext, type StepOutcome } from './run-support.js';

/**
 * A restarted milvus-backup forgets its tasks: get() no longer reports a backup it wrote, /list
 * still shows it, and a create of the same name then never leaves "initial" (its storage has
 * the name). Such a backup cannot be checked from here: stop, saying so.
 */
async function refuseForgotten(service: BackupService, step: Extract<Step, { kind: 'backup' }>, signal?: AbortSignal): Promise<void> {
  if (!(await service.listNames(step.url, signal)).includes(step.name)) return;
  fail(`backup ${step.name} is in milvus-backup's storage but the server no longer reports it (restarted since it was taken?): it cannot be checked against the data`, [
    'nothing of this hop was changed; plan again (a new plan takes a backup under a new name)',
  ]);
}

export async function takeBackup(step: Extract<Step, { kind: 'backup' }>, ctx: StepContext): Promise<StepOutcome> {
  const service = ctx.ports.backups?.service;
  if (!service) fail(`this worker has no milvus-backup service, and the plan takes backup ${step.name} before this hop`, ['configure BACKUP_URL on the worker, or plan again']);
  let looked = false;
  let resumed = false;
  let asked = false;
  // One loop for asking and waiting: a create whose answer was lost (or a server briefly away)
  // is read again, and waitFor retries what the adapter calls transient.
  const info = await waitFor(
    ctx,
    step.timeoutSeconds,
    async (): Promise<{ value: BackupInfo | null; text: string }> => {
      const now = await service.get(step.url, step.name, ctx.signal);
      if (!looked) resumed = now !== null;
      looked = true;
      if (now === null) {
        if (asked) return { value: null, text: `backup ${step.name} asked of milvus-backup, not reported yet` };
        await refuseForgotten(service, step, ctx.signal);
        await service.create(step.url, step.name, ctx.signal);
        asked = true;
        return { value: null, text: `backup ${step.name} asked of milvus-backup` };
      }
      if (isFinished(now.state)) return { value: now, text: '' };
      return { value: null, text: `backup ${step.name}: ${now.progress}%` };
    },
    (last) =>
      new UpgradeError('timeout', `backup ${step.name} did not finish in ${step.timeoutSeconds}s: ${last}`, [
        'nothing of this hop was changed; milvus-backup may still be writing it: see its log, then ask again',
      ]),
    { watched: false, what: 'milvus-backup' },
  );
  const problems = backupProblems(info, step.expected);
  if (problems.length > 0) {
    fail(problems.join('; '), ['nothing of this hop was changed: the upgrade does not go on without a backup that holds the data', 'see milvus-backup\'s log for why, then ask again (a new plan takes a new backup)']);
  }
  const seconds = info.endTime > 0 && info.startTime > 0 ? info.endTime - info.startTime : null;
  return done(
    `backup ${info.name}${resumed ? ' (found, started earlier)' : ''}: ${info.collections.length} collection(s), ${bytesText(info.sizeBytes)}` +
      `${seconds !== null ? ` in ${seconds}s` : ''}, from Milvus ${info.milvusVersion || 'unknown'}; ` +
      (step.expected.length > 0 ? `all ${step.expected.length} collection(s) of the snapshot in it` : 'not verified against the data (Milvus was not read when planned)'),
  );
}
