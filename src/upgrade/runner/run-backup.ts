/**
 * The backup before a step that cannot be undone (issue 27), with milvus-backup: asked for under
 * the plan's name, waited for, then held to the data snapshot. Idempotent by that name: a run
 * resumed after a crash finds the backup it started (running or done) instead of starting
 * another; a backup of that name that failed is reported, never silently replaced.
 */
import { UpgradeError, explainError } from '../errors.js';
import { backupProblems, bytesText, isFinished, type BackupInfo } from '../backup.js';
import type { Step } from '../steps.js';
import { done, fail, waitFor, type StepContext, type StepOutcome } from './run-support.js';

export async function takeBackup(step: Extract<Step, { kind: 'backup' }>, ctx: StepContext): Promise<StepOutcome> {
  const service = ctx.ports.backups?.service;
  if (!service) fail(`this worker has no milvus-backup service, and the plan takes backup ${step.name} before this hop`, ['configure BACKUP_URL on the worker, or plan again']);
  const existing = await service.get(step.url, step.name, ctx.signal);
  let resumed = existing !== null;
  if (existing === null) {
    try {
      await service.create(step.url, step.name, ctx.signal);
    } catch (err) {
      // A create that reached the server before the answer was lost: the backup is there.
      if ((await service.get(step.url, step.name, ctx.signal)) === null) throw err;
      resumed = true;
    }
  }
  const info = await waitFor(
    ctx,
    step.timeoutSeconds,
    async () => {
      let now: BackupInfo | null;
      try {
        now = await service.get(step.url, step.name, ctx.signal);
      } catch (err) {
        return { value: null, text: `milvus-backup not answering: ${explainError(err)}` };
      }
      if (now === null) return { value: null, text: `backup ${step.name} not listed yet by milvus-backup` };
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
