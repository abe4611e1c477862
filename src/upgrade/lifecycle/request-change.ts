/**
 * Asking for a change to a release, an upgrade or a rollback: one use case for Slack and the CLI,
 * so both leave the same record and audit trail in the same order.
 */
import { UpgradeError } from '../errors.js';
import type { JobQueue, RequestStore } from '../ports.js';
import type { NewRequest, UpgradeRequest } from '../requests.js';
import type { Sealer } from '../seal.js';
import { enqueueApproved } from './enqueue-approved.js';
import { refuseUncheckedData } from '../planner/data-gate.js';
import { refuseMissingBackup } from '../planner/backup-plan.js';
import { restoreSourceLine } from '../backup-lines.js';

export interface RequestChangeDeps {
  readonly store: RequestStore;
  /** Absent: the caller runs the request itself (the CLI without --queue), nothing is enqueued. */
  readonly queue?: JobQueue;
  /** Seals a request that needs no vote, for the worker (or the CLI) that runs it. */
  readonly sealer: Sealer;
}

export interface RequestChangeOptions {
  readonly now?: () => number;
  /**
   * Shows the new request where it is voted on and followed (the Slack card and its thread),
   * before it can run. False: it could not be shown and was ended; nothing is enqueued.
   */
  readonly announce?: (request: UpgradeRequest) => Promise<boolean>;
  /**
   * Another request holds the release (a double click): told this way, nothing is recorded and
   * null is returned. Without it the refusal is thrown.
   */
  readonly onBusy?: (refusal: UpgradeError) => Promise<void>;
}

/**
 * Records the request (refused while another holds the release), links a rollback to the
 * upgrade it undoes, audits a data guard override, announces it and, when no vote is needed,
 * enqueues it.
 */
export async function requestChange(d: RequestChangeDeps, input: NewRequest, o: RequestChangeOptions & { onBusy?: undefined }): Promise<UpgradeRequest>;
export async function requestChange(d: RequestChangeDeps, input: NewRequest, o: RequestChangeOptions): Promise<UpgradeRequest | null>;
export async function requestChange(d: RequestChangeDeps, input: NewRequest, o: RequestChangeOptions): Promise<UpgradeRequest | null> {
  const now = o.now ?? Date.now;
  if (input.kind === 'upgrade') {
    refuseUncheckedData(input.plan);
    refuseMissingBackup(input.plan);
  }
  let request: UpgradeRequest;
  try {
    request = await d.store.create(input, now());
  } catch (err) {
    if (!(o.onBusy && err instanceof UpgradeError && err.code === 'busy')) throw err;
    await o.onBusy(err);
    return null;
  }
  if (input.rollbackOf) await d.store.linkRollback(input.rollbackOf, request.id);
  await auditAsked(d.store, request, input, now());
  if (o.announce && !(await o.announce(request))) return request;
  if (request.approvalsNeeded === 0) await enqueueApproved(d, request.id, input.requester);
  return request;
}

/**
 * What the request's log says of how it was asked: an upgrade past the data guard records who
 * allowed it (a rollback's plan carries the override of the upgrade it undoes, already audited
 * there), running without data checks or without a backup, and a restore's source.
 */
export async function auditAsked(store: RequestStore, request: UpgradeRequest, input: NewRequest, now: number): Promise<void> {
  const { dataChanges, data, backupMissing, withoutBackup } = input.plan;
  if (input.kind === 'upgrade' && dataChanges) {
    await store.audit(request.id, input.requester, 'allow-data-changes', dataChanges.risks.map((r) => `${r.subject} ${r.reason}`).join('; '), now);
  }
  if (input.kind === 'upgrade' && data?.notChecked) {
    await store.audit(request.id, input.requester, data.withoutChecksBy ? 'without-data-checks' : 'data-not-checked', `${data.withoutChecksBy ? `allowed by ${data.withoutChecksBy}: ` : ''}${data.notChecked}`, now);
  }
  if (input.kind === 'upgrade' && backupMissing) {
    await store.audit(request.id, input.requester, withoutBackup && backupMissing.required ? 'without-backup' : 'no-backup', `${withoutBackup && backupMissing.required ? `allowed by ${withoutBackup.by}: ` : ''}${backupMissing.reason}`, now);
  }
  const restoring = restoreSourceLine(input.plan);
  if (input.kind === 'restore' && restoring) await store.audit(request.id, input.requester, 'restore', restoring, now);
}
