/**
 * Upgrade requests: what was asked, by whom, where, the plan exactly as shown, and what happened.
 * Approval status is derived from votes, deadline and rejection; only execution phases are stored.
 */
import type { Availability } from './data-snapshot.js';
import { UpgradeError } from './errors.js';
import type { ObservedFingerprint, Plan, PlanKind } from './plan.js';
import type { RunEvent } from './steps.js';

export interface Actor {
  /** Slack user ID, or `cli:<user>` for the terminal. */
  readonly id: string;
  readonly name?: string;
  readonly via: 'slack' | 'cli' | 'worker';
}

/** Where the conversation about a request happens (a Slack thread). */
export interface Place {
  readonly channel: string;
  /** The plan card: the thread's parent. */
  readonly messageTs?: string;
  /** The progress message inside the thread, edited in place. */
  readonly progressTs?: string;
}

export type Phase = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'rolling-back' | 'rolled-back';
export type RequestState = 'pending-approval' | 'approved' | 'rejected' | 'expired' | Phase;

export const TERMINAL_STATES: readonly RequestState[] = ['rejected', 'expired', 'succeeded', 'failed', 'cancelled', 'rolled-back'];

export interface Vote {
  readonly by: Actor;
  readonly at: number;
}

export interface UpgradeRequest {
  readonly id: string;
  readonly kind: PlanKind;
  readonly cluster: string;
  readonly namespace: string;
  readonly release: string;
  /** The plan exactly as it was shown and approved; for a rollback, the rollback steps. */
  readonly plan: Plan;
  readonly requester: Actor;
  readonly place: Place | null;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly approvalsNeeded: number;
  readonly allowSelfApproval: boolean;
  readonly approvals: readonly Vote[];
  readonly rejection: (Vote & { readonly reason?: string }) | null;
  readonly phase: Phase | null;
  readonly cancelRequested: Vote | null;
  /** Steps known finished: a restarted worker resumes after them. */
  readonly completedSteps: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly error: string | null;
  /** For a rollback: the request it undoes. For an upgrade: its rollback request, once asked. */
  readonly rollbackOf: string | null;
  readonly rollbackRequest: string | null;
  /**
   * The release as the run left it, read when it ended (absent on records older than this field,
   * or when it could not be read). A rollback refuses to run over anything else.
   */
  readonly leftBehind?: ObservedFingerprint | null;
  /**
   * What the availability loop measured during the run (its last segment, when a worker resumed
   * it), or why it did not; absent on records older than it and until a run ends.
   */
  readonly availability?: Availability | { readonly notMeasured: string } | null;
  /**
   * The fencing token of the run that owns the request: incremented when a run starts. A run
   * holding an older token was superseded (its queue lock was lost) and must write nothing.
   * Absent on records written before it existed: 0.
   */
  readonly runToken?: number;
  /** The bot's seal over what was approved (see seal.ts); absent until it is handed to a worker. */
  readonly approvalSeal?: string | null;
  /** The worker's seal over how far its run got (see seal.ts); renewed after every step. */
  readonly runSeal?: string | null;
  /** A member of a fleet upgrade: the fleet decides when it starts (fleet-moves.ts). */
  readonly fleet?: FleetLink;
  /**
   * Approved but held by a maintenance window or a freeze (schedule/gate.ts): when its next
   * step runs and why; null once it runs. Recorded by the worker that holds it.
   */
  readonly scheduled?: Scheduled | null;
}

export interface Scheduled {
  /** When the next step runs (ms). */
  readonly at: number;
  /** The slot in words, for the card and the App Home. */
  readonly text: string;
  /** Before which step (0: the first). */
  readonly beforeStep: number;
}

export interface FleetLink {
  readonly id: string;
}

export function deriveState(r: UpgradeRequest, now: number): RequestState {
  if (r.phase) return r.phase;
  if (r.rejection) return 'rejected';
  if (r.approvals.length >= r.approvalsNeeded) return 'approved';
  if (now >= r.expiresAt) return 'expired';
  return 'pending-approval';
}

export function isTerminal(state: RequestState): boolean {
  return TERMINAL_STATES.includes(state);
}

/** How long an ended request's record and log are kept when nothing else is set (REQUEST_RETENTION_DAYS). */
export const DEFAULT_REQUEST_RETENTION_DAYS = 90;

/**
 * Until when (ms) a request's record and log must be kept, or null for as long as it lives.
 * A request that may still act (approved, queued, running, rolling back) is never dropped; one
 * waiting for votes ends at its deadline without any write, so it is kept `retentionMs` past
 * the deadline; an ended one `retentionMs` from now (its last write). The store keeps a release's
 * latest change whatever this says: rollback consent needs it.
 */
export function retainUntil(r: UpgradeRequest, now: number, retentionMs: number): number | null {
  const state = deriveState(r, now);
  if (state === 'pending-approval') return r.expiresAt + retentionMs;
  return isTerminal(state) ? now + retentionMs : null;
}

/** One line of a request's durable log: audit decisions and run events alike. */
export type LogEntry =
  | { readonly at: number; readonly type: 'audit'; readonly actor: Actor; readonly action: string; readonly detail?: string }
  | { readonly at: number; readonly type: 'run'; readonly event: RunEventRecord };

/** A RunEvent without the full step object (kept small: the plan already holds the steps). */
export type RunEventRecord =
  | { readonly type: 'step-started'; readonly index: number; readonly total: number; readonly description: string }
  | Exclude<RunEvent, { type: 'step-started' }>;

export function recordOf(e: RunEvent): RunEventRecord {
  if (e.type === 'step-started') return { type: e.type, index: e.index, total: e.total, description: e.step.description };
  return e;
}

/** `cluster/ns/release`: the unit of exclusivity. */
export function releaseKey(cluster: string, namespace: string, release: string): string {
  return `${cluster}/${namespace}/${release}`;
}

export interface NewRequest {
  readonly kind: PlanKind;
  readonly plan: Plan;
  readonly requester: Actor;
  readonly place?: Place | null;
  readonly approvalsNeeded: number;
  readonly allowSelfApproval: boolean;
  readonly ttlMs: number;
  readonly rollbackOf?: string | null;
  readonly fleet?: FleetLink;
}

/** A request as first recorded: nothing voted, nothing run; it expires `ttlMs` after it was asked. */
export function newRequest(id: string, input: NewRequest, now: number): UpgradeRequest {
  const { plan } = input;
  return {
    id,
    kind: input.kind,
    cluster: plan.cluster,
    namespace: plan.namespace,
    release: plan.release,
    plan,
    requester: input.requester,
    place: input.place ?? null,
    createdAt: now,
    expiresAt: now + input.ttlMs,
    approvalsNeeded: input.approvalsNeeded,
    allowSelfApproval: input.allowSelfApproval,
    approvals: [],
    rejection: null,
    phase: null,
    cancelRequested: null,
    completedSteps: 0,
    startedAt: null,
    finishedAt: null,
    error: null,
    rollbackOf: input.rollbackOf ?? null,
    rollbackRequest: null,
    runToken: 0,
    ...(input.fleet ? { fleet: input.fleet } : {}),
  };
}

/** The first line of a request's log. */
export function requestedEntry(input: NewRequest, now: number): LogEntry {
  const { plan } = input;
  return { at: now, type: 'audit', actor: input.requester, action: `requested ${input.kind}`, detail: `${plan.from} -> ${plan.to} by ${plan.path}` };
}

/*
 * The rules of a request's life. Each takes the record as read and returns the record to write,
 * null when there is nothing to change, or (for a person's decision) the refusal to give them.
 * The store applies them atomically, so they see the newest record on every retry.
 */

/**
 * A vote. Refuses the requester's own (unless allowed) and votes on a request that is not
 * pending; a second vote by the same person changes nothing.
 */
export function withApproval(r: UpgradeRequest, by: Actor, now: number): UpgradeRequest | UpgradeError | null {
  const state = deriveState(r, now);
  if (r.approvals.some((v) => v.by.id === by.id)) return null;
  if (state !== 'pending-approval') return new UpgradeError('invalid-state', `request ${r.id} is ${state}: it cannot be approved now`);
  if (!r.allowSelfApproval && r.requester.id === by.id) return new UpgradeError('denied', `you asked for this ${r.kind}: someone else must approve it`);
  return { ...r, approvals: [...r.approvals, { by, at: now }] };
}

/** Only a pending request can be rejected; rejecting it again changes nothing. */
export function withRejection(r: UpgradeRequest, by: Actor, reason: string | undefined, now: number): UpgradeRequest | UpgradeError | null {
  const state = deriveState(r, now);
  if (state === 'rejected') return null;
  if (state !== 'pending-approval') return new UpgradeError('invalid-state', `request ${r.id} is ${state}: it cannot be rejected now`);
  return { ...r, rejection: { by, at: now, ...(reason ? { reason } : {}) } };
}

/**
 * Asks to stop. A request not yet handed to a worker is cancelled at once; a queued or running
 * one is stopped by its worker (between steps, or by interrupting a wait).
 */
export function withCancelAsked(r: UpgradeRequest, by: Actor, now: number): UpgradeRequest | null {
  const state = deriveState(r, now);
  if (r.cancelRequested || isTerminal(state)) return null;
  // Nothing runs yet (a worker that picks it up later finds it ended): ended at once.
  const notStarted = state === 'pending-approval' || state === 'approved' || state === 'queued';
  return { ...r, cancelRequested: { by, at: now }, ...(notStarted ? { phase: 'cancelled' as const, finishedAt: now } : {}) };
}

/** A request that has not ended yet, ended as failed with a reason (which frees its release). */
export function endedWith(r: UpgradeRequest, reason: string, now: number): UpgradeRequest | null {
  return isTerminal(deriveState(r, now)) ? null : { ...r, phase: 'failed', error: reason, finishedAt: now };
}

/**
 * An approved request sealed and marked queued, for a worker to run. A request already sealed
 * changes nothing (a second hand-over is harmless); one that is not approved, or has ended,
 * is refused.
 */
export function withSealForRun(r: UpgradeRequest, sealOf: (r: UpgradeRequest) => string, now: number): UpgradeRequest | UpgradeError | null {
  const state = deriveState(r, now);
  if (state === 'queued' && r.approvalSeal) return null;
  if (state !== 'approved') return new UpgradeError('invalid-state', `request ${r.id} is ${state}: it cannot be handed to a worker`);
  return { ...r, phase: 'queued', approvalSeal: sealOf(r) };
}

/**
 * A fleet member's approval sealed at approval, by the bot, while it waits for its wave: it is
 * handed to a worker later (withQueued) by whoever advances the fleet, which never seals.
 */
export function withApprovalSeal(r: UpgradeRequest, sealOf: (r: UpgradeRequest) => string, now: number): UpgradeRequest | UpgradeError | null {
  if (r.approvalSeal) return null;
  const state = deriveState(r, now);
  if (state !== 'approved') return new UpgradeError('invalid-state', `request ${r.id} is ${state}: it cannot be sealed`);
  return { ...r, approvalSeal: sealOf(r) };
}

/** A sealed, approved request marked queued; queued already changes nothing; anything else is refused. */
export function withQueued(r: UpgradeRequest, now: number): UpgradeRequest | UpgradeError | null {
  const state = deriveState(r, now);
  if (state === 'queued') return null;
  if (state !== 'approved' || !r.approvalSeal) return new UpgradeError('invalid-state', `request ${r.id} is ${state}${r.approvalSeal ? '' : ', unsealed'}: it cannot be handed to a worker`);
  return { ...r, phase: 'queued' };
}

/** A request that never started, ended (cancelled) with the reason; one that started or ended changes nothing. */
export function withNotRun(r: UpgradeRequest, reason: string, now: number): UpgradeRequest | null {
  const state = deriveState(r, now);
  if (state !== 'pending-approval' && state !== 'approved') return null;
  return { ...r, phase: 'cancelled', error: reason, finishedAt: now };
}

/** The hold recorded (or cleared with null); the same hold again changes nothing; an ended request is left alone. */
export function withScheduled(r: UpgradeRequest, scheduled: Scheduled | null, now: number): UpgradeRequest | null {
  if (isTerminal(deriveState(r, now))) return null;
  const same = (r.scheduled ?? null) === null ? scheduled === null : scheduled !== null && r.scheduled!.at === scheduled.at && r.scheduled!.text === scheduled.text && r.scheduled!.beforeStep === scheduled.beforeStep;
  return same ? null : { ...r, scheduled };
}

/** A phase already set changes nothing, unless it brings an error to record. */
export function withPhase(r: UpgradeRequest, phase: Phase, extra: PhaseExtra): UpgradeRequest | null {
  return r.phase === phase && extra.error === undefined ? null : { ...r, phase, ...extra };
}

export type PhaseExtra = Partial<Pick<UpgradeRequest, 'error' | 'startedAt' | 'finishedAt' | 'runSeal' | 'availability'>>;

/** A new run takes the next fencing token; a request that has ended takes no run. */
export function withNewRun(r: UpgradeRequest, now: number): UpgradeRequest | null {
  return isTerminal(deriveState(r, now)) ? null : { ...r, runToken: (r.runToken ?? 0) + 1 };
}

/** Who may stop a request without the cancel right: the person who asked for it. */
export function mayCancelUnchecked(r: Pick<UpgradeRequest, 'requester'>, actorId: string): boolean {
  return r.requester.id === actorId;
}
