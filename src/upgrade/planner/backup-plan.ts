/**
 * Backups bound to the plan (issue 27): before a hop that cannot be undone (the 2.1 -> 2.2
 * metadata migration, into 2.6, into 3.0), and before every hop when the policy says so, the
 * hop's first step is a milvus-backup backup held to the data snapshot. Into 3.0 the docs require
 * one: without a service the plan runs only with an approver's --without-backup. Where a hop has
 * no rollback, the backup is its way back: restored into a NEW release at the version before it.
 */
import { PreflightError } from '../errors.js';
import { backupNameFor, restoreEstimateSeconds, restoreOfferText, type BackupPlan, type ExpectedBackupCollection, type RestoreOffer } from '../backup.js';
import { crossesInto26 } from '../milvus/components.js';
import { crossesInto30 } from '../milvus/line-30.js';
import { noRollbackReason, type Plan } from '../plan.js';
import type { Step } from '../steps.js';

export type BackupPolicy = 'one-way' | 'always';

export interface BackupContext {
  /** The release's milvus-backup server (the run's `--backup-url`, else the config's); null: none. */
  readonly url: string | null;
  readonly policy: BackupPolicy;
  /** When the plan is made (ms): in the backup's name. */
  readonly plannedAt: number;
  /** The collections the data snapshot saw; [] when Milvus was not read. */
  readonly collections: readonly ExpectedBackupCollection[];
  readonly timeoutSeconds: number;
}

/** Why a hop cannot be undone by helm or images, or null when it can. */
export function oneWayReason(hop: Pick<Plan, 'from' | 'to' | 'path'>): string | null {
  if (hop.path === 'migrate') return 'the 2.1 -> 2.2 metadata migration';
  if (crossesInto30(hop.from, hop.to)) return 'the step into 3.0 (no image rollback)';
  if (crossesInto26(hop.from, hop.to)) return 'the step into 2.6 (the metadata changes for good)';
  return null;
}

/** The docs' own requirement: "a current backup of Milvus metadata and persistent data" before 3.0. */
function requiredByDocs(hop: Pick<Plan, 'from' | 'to'>): boolean {
  return crossesInto30(hop.from, hop.to);
}

/** The collections a backup must hold, from what the plan read of Milvus. */
export function expectedCollections(data: Plan['data']): ExpectedBackupCollection[] {
  return (data?.snapshot?.collections ?? []).map((c) => ({ name: c.name, rows: c.rowCount }));
}

/**
 * One hop with its backup: the backup step first (health gates' "since" moves with it), the
 * restore offer where the hop has no rollback, or, with no service, a loud warning and what the
 * request must show to run. `startChart`: the chart the release runs before the hop.
 */
export function withBackup(hop: Plan, ctx: BackupContext, startChart: string | null): Plan {
  const oneWay = oneWayReason(hop);
  const wanted = oneWay !== null || ctx.policy === 'always';
  if (!wanted) return { ...hop, backup: null, restore: null };
  const required = requiredByDocs(hop) || ctx.policy === 'always';
  const reason = oneWay ? `before ${oneWay}` : 'before every upgrade (policy)';
  if (ctx.url === null) {
    const missing = required
      ? `no milvus-backup service is configured for ${hop.release}, and a backup is required ${reason}${requiredByDocs(hop) ? ' (Milvus docs: "a current backup of Milvus metadata and persistent data")' : ''}`
      : `NO BACKUP before a step that cannot be rolled back (${oneWay}): no milvus-backup service is configured for ${hop.release}`;
    return {
      ...hop,
      backup: null,
      restore: null,
      warnings: [...hop.warnings, required ? missing : `${missing}; set BACKUP_URL (or --backup-url) to take one, or take one yourself first`],
      backupMissing: { reason: missing, required },
    };
  }
  const backup: BackupPlan = { name: backupNameFor(hop.release, hop.from, hop.to, ctx.plannedAt), url: ctx.url, reason, required, collections: ctx.collections };
  const step: Step = {
    kind: 'backup',
    url: ctx.url,
    name: backup.name,
    expected: ctx.collections,
    timeoutSeconds: ctx.timeoutSeconds,
    description:
      `back up ${hop.release} with milvus-backup as ${backup.name}, ${reason}; wait up to ${ctx.timeoutSeconds}s and check it holds ` +
      (ctx.collections.length > 0 ? `the ${ctx.collections.length} collection(s) Milvus holds now` : 'every collection (Milvus was not read: not checked against the data)'),
  };
  const shifted = hop.steps.map((s): Step => (s.kind === 'check-health' ? { ...s, sinceStep: s.sinceStep + 1 } : s));
  const restore: RestoreOffer | null = hop.rollback
    ? null
    : { backup: backup.name, url: ctx.url, into: restoredName(hop.release), version: hop.from, chart: startChart, estimatedSeconds: restoreEstimateSeconds(ctx.collections) };
  return {
    ...hop,
    steps: [step, ...shifted],
    backup,
    restore,
    ...(restore ? { noRollback: `${noRollbackReason(hop, 0) ?? `${hop.from} -> ${hop.to} cannot be rolled back`}; the way back: ${restoreOfferText(restore)}` } : {}),
  };
}

/** The new release a restore goes into: the old one's name with `-restored` (helm's 53 characters). */
export function restoredName(release: string): string {
  return `${release.slice(0, 53 - '-restored'.length).replace(/-+$/, '')}-restored`;
}

/**
 * A plan that must take a backup and has no service runs only when an approver said so
 * (`--without-backup`, audited). The plan is kept: `plan` shows why.
 */
export function refuseMissingBackup(plan: Pick<Plan, 'release' | 'backupMissing' | 'withoutBackup'>): void {
  const missing = plan.backupMissing;
  if (!missing || !missing.required || plan.withoutBackup) return;
  throw new PreflightError(`${plan.release} cannot be upgraded without a backup: ${missing.reason}`, [
    'configure the release\'s milvus-backup server (BACKUP_URL, or --backup-url in the CLI) and ask again',
    'or, knowing there is then no way back: ask again with --without-backup (an approver only; recorded in the audit trail)',
  ]);
}
