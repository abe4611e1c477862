/**
 * A fleet upgrade as it is asked, voted on and run (issue 28): one record over the member
 * upgrade requests, one per release, in waves. The members are ordinary requests (each with its
 * plan, its lock on the release, its seal, its audit trail); the fleet says which may start
 * when. Approval status is derived from votes, deadline and rejection, like a request's; only
 * the halt and the end are stored. Pure.
 */
import { UpgradeError } from '../errors.js';
import type { Actor, Place, Vote } from '../requests.js';
import type { FleetRefused } from './fleet-plan.js';

export type FleetOutcome = 'succeeded' | 'halted' | 'cancelled' | 'rejected' | 'expired';
export type FleetState = 'pending-approval' | 'running' | FleetOutcome;

export const FLEET_ID = /^fleet-\d{1,15}$/;

export interface FleetRecord {
  readonly id: string;
  readonly cluster: string;
  readonly version: string;
  /** The selector as typed, and the waves as asked (`1,25%,100%`). */
  readonly selector: string;
  readonly waveMarks: string;
  readonly maxInFlight: number;
  /** The member requests' ids, wave by wave, the canary first. */
  readonly waves: readonly (readonly string[])[];
  /** Named by the selector but left out, each with why (planner refusals, a release another request holds). */
  readonly refused: readonly FleetRefused[];
  readonly requester: Actor;
  /** The fleet card (the thread's parent); the members' places point at it. */
  readonly place: Place | null;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly approvalsNeeded: number;
  readonly allowSelfApproval: boolean;
  readonly approvals: readonly Vote[];
  readonly rejection: Vote | null;
  readonly cancelRequested: Vote | null;
  /** The first wave a member of failed in, and why: nothing after it starts. */
  readonly halted: { readonly at: number; readonly wave: number; readonly reason: string } | null;
  /** When each wave's first member was handed to the workers (index: wave). */
  readonly waveStarts: readonly (number | null)[];
  /**
   * The policy asks one approval per wave: the fleet's approval runs wave 1 (the canary), each
   * later wave needs votes of its own (`waveApprovals[w]`). Absent on fleets asked before it: once.
   */
  readonly approvalPerWave?: boolean;
  readonly waveApprovals?: readonly (readonly Vote[])[];
  readonly ended: { readonly at: number; readonly outcome: FleetOutcome } | null;
}

/** What asking for a fleet gives; the rest starts empty (no votes, no halt, no end). */
export type NewFleet = Pick<FleetRecord, 'cluster' | 'version' | 'selector' | 'waveMarks' | 'maxInFlight' | 'waves' | 'refused' | 'requester' | 'place' | 'approvalsNeeded' | 'allowSelfApproval' | 'approvalPerWave'> & {
  readonly ttlMs: number;
};

export function newFleet(id: string, input: NewFleet, now: number): FleetRecord {
  const { ttlMs, ...rest } = input;
  return { id, ...rest, createdAt: now, expiresAt: now + ttlMs, approvals: [], rejection: null, cancelRequested: null, halted: null, waveStarts: [], ended: null };
}

export function deriveFleetState(f: FleetRecord, now: number): FleetState {
  if (f.ended) return f.ended.outcome;
  if (f.rejection) return 'rejected';
  if (f.approvals.length >= f.approvalsNeeded) return 'running';
  if (now >= f.expiresAt) return 'expired';
  return 'pending-approval';
}

export function fleetMemberIds(f: Pick<FleetRecord, 'waves'>): string[] {
  return f.waves.flat();
}

/** A vote on the whole fleet: the requester's own refused unless allowed; twice by one person changes nothing. */
export function withFleetApproval(f: FleetRecord, by: Actor, now: number): FleetRecord | UpgradeError | null {
  if (f.approvals.some((v) => v.by.id === by.id)) return null;
  const state = deriveFleetState(f, now);
  if (state !== 'pending-approval') return new UpgradeError('invalid-state', `fleet ${f.id} is ${state}: it cannot be approved now`);
  if (!f.allowSelfApproval && f.requester.id === by.id) return new UpgradeError('denied', 'you asked for this fleet upgrade: someone else must approve it');
  return { ...f, approvals: [...f.approvals, { by, at: now }] };
}

export function withFleetRejection(f: FleetRecord, by: Actor, now: number): FleetRecord | UpgradeError | null {
  const state = deriveFleetState(f, now);
  if (state === 'rejected') return null;
  if (state !== 'pending-approval') return new UpgradeError('invalid-state', `fleet ${f.id} is ${state}: it cannot be rejected now`);
  return { ...f, rejection: { by, at: now } };
}

/** A cancel is recorded once; the fleet's advance ends what has not started and cancels what runs. */
export function withFleetCancel(f: FleetRecord, by: Actor, now: number): FleetRecord | UpgradeError | null {
  if (f.cancelRequested) return null;
  const state = deriveFleetState(f, now);
  if (state !== 'pending-approval' && state !== 'running') return new UpgradeError('invalid-state', `fleet ${f.id} is ${state}: there is nothing to cancel`);
  return { ...f, cancelRequested: { by, at: now } };
}

/** The votes that let wave `w` run: the fleet's for the first (and for all, approved once), the wave's own per wave. */
export function waveVotes(f: FleetRecord, w: number): readonly Vote[] {
  return w === 0 || !f.approvalPerWave ? f.approvals : (f.waveApprovals?.[w] ?? []);
}

export function waveApproved(f: FleetRecord, w: number): boolean {
  return waveVotes(f, w).length >= f.approvalsNeeded;
}

/** The next wave (1-based index >= 1) that waits for votes of its own, or null. */
export function waveAwaitingVotes(f: FleetRecord): number | null {
  if (!f.approvalPerWave) return null;
  for (let w = 1; w < f.waves.length; w++) if (!waveApproved(f, w)) return w;
  return null;
}

/** A vote on the next wave that needs one (per-wave approval), while the fleet runs. */
export function withWaveApproval(f: FleetRecord, wave: number, by: Actor, now: number): FleetRecord | UpgradeError | null {
  const state = deriveFleetState(f, now);
  if (state !== 'running' || f.cancelRequested || f.halted) return new UpgradeError('invalid-state', `fleet ${f.id} is ${f.halted ? 'halted' : f.cancelRequested ? 'being cancelled' : state}: no wave can be approved now`);
  if (!f.approvalPerWave) return new UpgradeError('invalid-state', `fleet ${f.id} was approved once for every wave`);
  if (waveVotes(f, wave).some((v) => v.by.id === by.id)) return null;
  const next = waveAwaitingVotes(f);
  if (next !== wave) return new UpgradeError('invalid-state', next === null ? `every wave of fleet ${f.id} is approved` : `wave ${wave + 1} is not the next to approve: wave ${next + 1} is`);
  if (!f.allowSelfApproval && f.requester.id === by.id) return new UpgradeError('denied', 'you asked for this fleet upgrade: someone else must approve its waves');
  const votes = Array.from({ length: f.waves.length }, (_, i) => [...(f.waveApprovals?.[i] ?? [])]);
  votes[wave] = [...votes[wave]!, { by, at: now }];
  return { ...f, waveApprovals: votes };
}
