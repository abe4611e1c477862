/** A plan's backups in lines a person reads: the Slack card and the terminal show the same. */
import { restoreOfferText } from './backup.js';
import { hopViews, type Plan } from './plan.js';

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
