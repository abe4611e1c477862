/**
 * Handing an approved request to the workers: one use case for the Slack buttons and the CLI.
 * Job data is only the request id; what runs is read from the record, and the record is sealed
 * here (seal.ts) so a worker runs only what was approved.
 */
import type { JobQueue, RequestStore } from '../ports.js';
import type { Actor } from '../requests.js';
import { approvalContent, type Sealer } from '../seal.js';

export interface EnqueueDeps {
  readonly store: RequestStore;
  /** Absent: the caller runs the request itself (the CLI without --queue); it is only sealed. */
  readonly queue?: JobQueue;
  readonly sealer: Sealer;
}

/**
 * Sealed and marked queued first, in one write: a worker that takes the job at once finds the
 * request queued and sealed. A request that is no longer approved (cancelled meanwhile) is
 * refused and nothing is enqueued.
 */
export async function enqueueApproved(d: EnqueueDeps, id: string, actor: Actor): Promise<void> {
  await d.store.sealForRun(id, actor, (r) => d.sealer.seal(approvalContent(r)));
  await d.queue?.enqueue(id);
}
