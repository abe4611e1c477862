/**
 * What an approval seal vouches for. Redis is not trusted to say what was approved: anyone who
 * can write a record and add a job could otherwise make a worker run it (issue 25). At approval
 * the bot seals the request's content with a key that no Redis client holds; the worker checks
 * the seal before its first step and on every resume, and checks a second seal, renewed after
 * each step, before it trusts a record's claim that a run already started and got so far.
 */
import type { UpgradeRequest } from './requests.js';

/** Everything that decides what runs, where, and on whose word. */
export interface ApprovalContent {
  readonly seal: 'approval-v1';
  readonly id: string;
  readonly kind: UpgradeRequest['kind'];
  readonly cluster: string;
  readonly namespace: string;
  readonly release: string;
  readonly createdAt: number;
  readonly requester: string;
  /** Sorted: the order votes arrived in is not part of what was agreed. */
  readonly approvers: readonly string[];
  readonly approvalsNeeded: number;
  readonly rollbackOf: string | null;
  /** The plan as shown: steps, chart ref and version, images, data-change override. */
  readonly plan: UpgradeRequest['plan'];
}

/** How far a run got, as the worker that ran it recorded it. */
export interface RunContent {
  readonly seal: 'run-v1';
  readonly id: string;
  readonly approvalSeal: string;
  readonly startedAt: number;
  readonly completedSteps: number;
}

export type SealContent = ApprovalContent | RunContent;

export function approvalContent(r: UpgradeRequest): ApprovalContent {
  return {
    seal: 'approval-v1',
    id: r.id,
    kind: r.kind,
    cluster: r.cluster,
    namespace: r.namespace,
    release: r.release,
    createdAt: r.createdAt,
    requester: r.requester.id,
    approvers: r.approvals.map((v) => v.by.id).sort(),
    approvalsNeeded: r.approvalsNeeded,
    rollbackOf: r.rollbackOf,
    plan: r.plan,
  };
}

/** Null when the record holds no approval seal or no start time: then nothing vouches for a run. */
export function runContent(r: UpgradeRequest): RunContent | null {
  if (!r.approvalSeal || r.startedAt === null) return null;
  return { seal: 'run-v1', id: r.id, approvalSeal: r.approvalSeal, startedAt: r.startedAt, completedSteps: r.completedSteps };
}

/** Signs and checks seals; implemented with an HMAC whose key lives in a Kubernetes Secret. */
export interface Sealer {
  seal(content: SealContent): string;
  /** False for a missing, malformed or foreign seal. */
  verify(content: SealContent, seal: string | null | undefined): boolean;
}

/** Why a record may not run, in terms of its seals; null when they vouch for it. */
export function sealProblem(r: UpgradeRequest, sealer: Sealer, resuming: boolean): string | null {
  if (!r.approvalSeal) {
    return `request ${r.id} carries no approval seal: it was not approved through this bot (or was approved before approvals were sealed)`;
  }
  if (!sealer.verify(approvalContent(r), r.approvalSeal)) {
    return `the approval seal of request ${r.id} does not match the request: its plan, place, requester or approvers were changed after approval, or it was sealed with another key`;
  }
  if (!resuming) return null;
  const run = runContent(r);
  if (!run || !sealer.verify(run, r.runSeal)) {
    return `request ${r.id} claims a run already started (${r.completedSteps} step(s) done), but no worker of this deployment recorded that`;
  }
  return null;
}
