/**
 * Handing an approved request to the workers: one use case for the Slack buttons and the CLI's
 * --queue. Job data is only the request id; what runs is read from the record.
 */
import type { JobQueue, RequestStore } from '../ports.js';
import type { Actor } from '../requests.js';

export interface EnqueueDeps {
  readonly store: RequestStore;
  readonly queue: JobQueue;
}

/** Marked queued first: a worker that takes the job at once finds the request queued, not approved. */
export async function enqueueApproved(d: EnqueueDeps, id: string, actor: Actor): Promise<void> {
  await d.store.setPhase(id, 'queued', actor);
  await d.queue.enqueue(id);
}
