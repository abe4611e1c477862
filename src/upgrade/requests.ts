/**
 * Upgrade requests: what was asked, by whom, where, the plan exactly as shown, and what happened.
 * Approval status is derived from votes, deadline and rejection; only execution phases are stored.
 */
import type { ObservedFingerprint, Plan } from './plan.js';
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
  readonly kind: 'upgrade' | 'rollback';
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
   * The fencing token of the run that owns the request: incremented when a run starts. A run
   * holding an older token was superseded (its queue lock was lost) and must write nothing.
   * Absent on records written before it existed: 0.
   */
  readonly runToken?: number;
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
  readonly kind: 'upgrade' | 'rollback';
  readonly plan: Plan;
  readonly requester: Actor;
  readonly place?: Place | null;
  readonly approvalsNeeded: number;
  readonly allowSelfApproval: boolean;
  readonly ttlMs: number;
  readonly rollbackOf?: string | null;
}
