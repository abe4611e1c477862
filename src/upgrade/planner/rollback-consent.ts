/**
 * Which request of a release may be rolled back, and whether the release still is what that
 * request left. Pure: the bot feeds it the release's history and what it reads now.
 *
 * Only the latest change may be undone: rolling back an older upgrade after newer changes would
 * put the release on a version (and chart values) nobody planned from the current state.
 */
import { driftOf, noRollbackReason, rollbackAt, type ObservedFingerprint } from '../plan.js';
import { deriveState, isTerminal, type UpgradeRequest } from '../requests.js';
import type { ReleaseState } from '../state.js';

/** A request that acted on the release: it started running (refused or never approved ones did not). */
function changedTheRelease(r: UpgradeRequest): boolean {
  return r.startedAt !== null;
}

/** The newest request of a release that changed it (running or finished), or null. */
export function latestChange(history: readonly UpgradeRequest[]): UpgradeRequest | null {
  const changes = history.filter(changedTheRelease);
  if (changes.length === 0) return null;
  return changes.reduce((a, b) => (b.startedAt! > a.startedAt! || (b.startedAt === a.startedAt && b.createdAt > a.createdAt) ? b : a));
}

/**
 * Why `original` cannot be rolled back now, or null when it can. `history` is the release's
 * (any order); `rollbackOfIt` is the rollback already asked for it, if any.
 */
export function rollbackRefusal(original: UpgradeRequest, history: readonly UpgradeRequest[], rollbackOfIt: UpgradeRequest | null, now: number): string | null {
  const state = deriveState(original, now);
  if (original.kind !== 'upgrade') return `${original.id} is a rollback: it cannot be rolled back (ask for an upgrade instead)`;
  if (!changedTheRelease(original) || !isTerminal(state)) return `${original.id} cannot be rolled back now (${state.replace(/-/g, ' ')})`;
  if (state === 'rolled-back') return `${original.id} was rolled back already`;
  if (!rollbackAt(original.plan, original.completedSteps)) {
    return `${original.id} (${original.plan.from} → ${original.plan.to}) has no way back: ${noRollbackReason(original.plan, original.completedSteps) ?? `${original.plan.to} cannot be rolled back`}`;
  }
  if (rollbackOfIt && (!isTerminal(deriveState(rollbackOfIt, now)) || changedTheRelease(rollbackOfIt))) {
    return `a rollback of ${original.id} was already asked: ${rollbackOfIt.id} (${deriveState(rollbackOfIt, now).replace(/-/g, ' ')})`;
  }
  const latest = latestChange(history);
  if (latest && latest.id !== original.id) {
    return `${original.id} is not the latest change of ${original.release}: ${latest.id} (${latest.kind} ${latest.plan.from} → ${latest.plan.to}, ${deriveState(latest, now).replace(/-/g, ' ')}) came after it; only the latest change can be rolled back`;
  }
  return null;
}

/** Differences between what a request left (null: not recorded) and the release now. */
export function differencesSince(left: ObservedFingerprint | null | undefined, now: ReleaseState): string[] {
  if (!left) return [];
  return driftOf({ observed: left }, now);
}
