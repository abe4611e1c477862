/**
 * Undoing a change from Slack: the Rollback button and `/milvus rollback`. The bot's own latest
 * change is undone by the rollback planned with it; a release it never changed gets one planned
 * from what the cluster shows.
 */
import type { Sealer } from '../upgrade/seal.js';
import { UpgradeError } from '../upgrade/errors.js';
import { requestChange } from '../upgrade/lifecycle/request-change.js';
import { fingerprint, type Plan } from '../upgrade/plan.js';
import { rollbackPlanFor } from '../upgrade/planner/rollback.js';
import { restoreOfferAt } from '../upgrade/backup-lines.js';
import { differencesSince, rollbackRefusal } from '../upgrade/planner/rollback-consent.js';
import type { JobQueue, RequestStore, UpgradeEngine } from '../upgrade/ports.js';
import type { UpgradeRequest } from '../upgrade/requests.js';
import type { AccessTarget, Action } from './access.js';
import { actorOf, dropNotice, ephemeral, planningNotice, type Caller } from './replies.js';
import { announce, type ThreadDeps } from './threads.js';
import { esc } from './views.js';

export interface RollbackDeps {
  readonly store: RequestStore;
  readonly queue: JobQueue;
  readonly sealer: Sealer;
  readonly engine: Pick<UpgradeEngine, 'status' | 'planRollback' | 'planRestore'>;
  readonly approvals: { readonly ttlMs: number; readonly rollbackNeeded: number; readonly needed: number };
  readonly now: () => number;
  readonly threads: ThreadDeps;
  /** Checks and records an access decision; throws a person-readable denial. */
  allow(c: Caller, action: Action, target: AccessTarget, requestId?: string): Promise<void>;
}

/** `/milvus rollback <release>`. */
export async function rollbackRelease(d: RollbackDeps, cluster: string | undefined, target: Required<AccessTarget>, c: Caller): Promise<void> {
  await d.allow(c, 'rollback', target);
  const latest = await d.store.latestChange(target.cluster, target.namespace, target.release);
  // The bot's own latest change is undone by the rollback planned with it, or not at all; only a
  // release the bot never changed gets a rollback planned from what the cluster shows.
  if (latest) return rollbackOf(d, latest, c);
  await planningNotice(c, `Planning the rollback of *${esc(target.release)}*…`);
  const plan = await d.engine.planRollback(cluster, target.namespace, target.release);
  await startRollback(d, plan, c, null);
  await dropNotice(c);
}

/**
 * Undoes `original` when it is the release's latest change and the release is still what it
 * left. Access follows the request's own channel (where the rollback is posted) as well as the
 * caller's.
 */
export async function rollbackOf(d: RollbackDeps, original: UpgradeRequest, c: Caller): Promise<void> {
  const target = { cluster: original.cluster, namespace: original.namespace, release: original.release };
  const thread = original.place?.messageTs;
  await d.allow(c, 'rollback', target, original.id);
  const home = original.place?.channel;
  if (home && home !== c.channel) await d.allow({ ...c, channel: home }, 'rollback', target, original.id);
  const now = d.now();
  // The store's latest change, whatever number of requests came after it (plans, refusals).
  const latest = await d.store.latestChange(original.cluster, original.namespace, original.release);
  const asked = original.rollbackRequest ? await d.store.get(original.rollbackRequest) : null;
  const refusal = rollbackRefusal(original, latest ? [original, latest] : [original], asked, now);
  if (refusal) return ephemeral(c, `${esc(refusal)}.`, thread);
  const { state } = await d.engine.status(original.cluster, original.namespace, original.release);
  const differences = differencesSince(original.leftBehind, state);
  if (differences.length > 0) {
    throw new UpgradeError('drift', `${original.release} changed since ${original.id} finished: nothing was rolled back`, [...differences, 'look at the release (/milvus status), then ask for a new plan']);
  }
  // Checked again by the worker before it runs: against what the upgrade left, or, when that
  // was not recorded, against the release as it is now.
  const plan = { ...rollbackPlanFor(original.plan, original.completedSteps)!, observed: original.leftBehind ?? fingerprint(state) };
  await startRollback(d, plan, c, original);
}

/** Posted in the upgrade's thread when there is one: its own card there when it needs a vote. */
async function startRollback(d: RollbackDeps, plan: Plan, c: Caller, original: UpgradeRequest | null): Promise<void> {
  const needed = d.approvals.rollbackNeeded;
  const channel = original?.place?.channel ?? c.channel;
  const thread = original?.place?.messageTs;
  // Never the asker's own vote: undoing a change is a change.
  const input = { kind: 'rollback' as const, plan, requester: actorOf(c), place: { channel }, approvalsNeeded: needed, allowSelfApproval: false, ttlMs: d.approvals.ttlMs, rollbackOf: original?.id ?? null };
  await requestChange(d, input, {
    now: d.now,
    announce: (request) => announce(d.threads, request, { ...c, channel }, thread ? { ts: thread, card: needed > 0 } : undefined),
    // A double click: the first click's rollback holds the release.
    onBusy: (refusal) => ephemeral(c, esc(refusal.message), thread),
  });
}

/**
 * The Restore button of an upgrade that has no rollback (issue 27): the backup taken before its
 * one-way step, restored into a NEW release at the version before it. Planned afresh (the backup
 * read at milvus-backup, the release's helm record), posted in the upgrade's thread with a card
 * of its own: it installs a release, so it needs the approvals an upgrade needs, never the
 * asker's own. The upgraded release is left as it is.
 */
export async function restoreOf(d: RollbackDeps, original: UpgradeRequest, c: Caller): Promise<void> {
  const target = { cluster: original.cluster, namespace: original.namespace, release: original.release };
  await d.allow(c, 'rollback', target, original.id);
  const home = original.place?.channel;
  if (home && home !== c.channel) await d.allow({ ...c, channel: home }, 'rollback', target, original.id);
  const thread = original.place?.messageTs;
  const at = restoreOfferAt(original.plan, original.completedSteps);
  if (!at) return ephemeral(c, `${esc(original.id)} offers no restore: no backup was taken before a step that cannot be undone.`, thread);
  await planningNotice(c, `Planning the restore of *${esc(at.offer.backup)}* into *${esc(at.offer.into)}*…`);
  const plan = await d.engine.planRestore(original.cluster, { namespace: original.namespace, release: original.release, backup: at.offer.backup, into: at.offer.into, expected: at.expected });
  const channel = home ?? c.channel;
  const needed = Math.max(1, d.approvals.needed);
  const input = { kind: 'restore' as const, plan, requester: actorOf(c), place: { channel }, approvalsNeeded: needed, allowSelfApproval: false, ttlMs: d.approvals.ttlMs, rollbackOf: null };
  await requestChange(d, input, {
    now: d.now,
    announce: (request) => announce(d.threads, request, { ...c, channel }, thread ? { ts: thread, card: true } : undefined),
    onBusy: (refusal) => ephemeral(c, esc(refusal.message), thread),
  });
  await dropNotice(c);
}
