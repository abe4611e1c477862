/** A plan's backups and its way back in words a person reads: the Slack card and the terminal say the same. */
import { bytesText, restoreOfferText, type ExpectedBackupCollection, type RestoreOffer } from './backup.js';
import { AFTER_30, crossesInto30 } from './milvus/line-30.js';
import { hopViews, noRollbackReason, rollbackAt, type Plan } from './plan.js';

/**
 * What an upgrade that ran offers once it stopped after `completedSteps`: why there is no
 * rollback (with the restore offer) when there is none, and, once it reached 3.0, what the guide
 * says to do before any 3.0 feature. Both null for a rollback.
 */
export function wayBack(plan: Plan, completedSteps: number, succeeded: boolean): { readonly noRollback: string | null; readonly after30: string | null } {
  if (plan.kind !== 'upgrade') return { noRollback: null, after30: null };
  return {
    noRollback: rollbackAt(plan, completedSteps) === null ? noRollbackReason(plan, completedSteps) : null,
    after30: succeeded && crossesInto30(plan.from, plan.to) ? AFTER_30 : null,
  };
}

/** The backups a plan takes, or why none where one is wanted (card and terminal alike). */
export function backupLines(plan: Plan): string[] {
  const out: string[] = [];
  const hops = hopViews(plan);
  hops.forEach((h, i) => {
    const where = hops.length > 1 ? `hop ${i + 1} (${h.from} -> ${h.to}): ` : '';
    if (h.backup) out.push(`backup: ${where}${h.backup.name} at ${h.backup.url}, ${h.backup.reason}${h.backup.required ? ', required' : ''}; checked against ${h.backup.collections.length} collection(s)`);
    if (h.restore) out.push(`way back: ${where}${restoreOfferText(h.restore)}`);
  });
  const missing = plan.backupMissing;
  if (missing) {
    out.push(
      missing.required
        ? plan.withoutBackup
          ? `backup: NONE, run without one as allowed by ${plan.withoutBackup.by} (${missing.reason})`
          : `backup: REQUIRED and not possible: ${missing.reason}; an approver's --without-backup lets it run without one`
        : `backup: NONE: ${missing.reason}`,
    );
  }
  return out;
}

/**
 * The restore an upgrade that stopped after `completedSteps` offers instead of a rollback: that
 * of the newest hop that began, has no rollback and whose backup was taken (its first step done).
 * With the collections the backup was held to, rows included, for the restore's data gate.
 */
export function restoreOfferAt(plan: Plan, completedSteps: number): { readonly offer: RestoreOffer; readonly expected: readonly ExpectedBackupCollection[] } | null {
  if (plan.kind !== 'upgrade' || rollbackAt(plan, completedSteps) !== null) return null;
  const began = hopViews(plan).filter((h) => h.firstStep < completedSteps).reverse();
  for (const h of began) {
    if (h.restore && h.backup && completedSteps > h.firstStep) return { offer: h.restore, expected: h.backup.collections };
  }
  return null;
}

/** What a restore plan restores, one line (card and terminal). */
export function restoreSourceLine(plan: Plan): string | null {
  const r = plan.restoreOf;
  if (!r) return null;
  return `restores backup ${r.backup} of ${r.release} (${r.collections} collection(s), ${bytesText(r.sizeBytes)}, from ${r.backupUrl}) into the NEW release ${plan.release}, installed as ${r.release} revision ${r.revision} ran; ${r.release} is left as it is`;
}
