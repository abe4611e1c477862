import { Queue, type ConnectionOptions } from 'bullmq';
import type { JobQueue } from '../upgrade/ports.js';

export const QUEUE_NAME = 'milvus-upgrades';

/** Job data: only the request id; everything else is read from the request record. */
export interface UpgradeJobData {
  readonly requestId: string;
}

export interface QueueOptions {
  readonly connection: ConnectionOptions;
  /** Key prefix shared with the request store, so one setting isolates a whole deployment (or test). */
  readonly prefix: string;
  /** Tries for transient failures (API 5xx, connection refused, helm busy). Default 5. */
  readonly attempts?: number;
  /** First retry delay; doubles each time. Default 5 s. */
  readonly backoffMs?: number;
}

export function bullPrefix(prefix: string): string {
  return `${prefix}bull`;
}

/** The upgrade queue. The request id is the job id, so enqueuing twice is a no-op. */
export class UpgradeQueue implements JobQueue {
  readonly queue: Queue<UpgradeJobData>;

  constructor(private readonly options: QueueOptions) {
    this.queue = new Queue<UpgradeJobData>(QUEUE_NAME, { connection: options.connection, prefix: bullPrefix(options.prefix) });
  }

  async enqueue(requestId: string): Promise<void> {
    await this.queue.add(
      'run',
      { requestId },
      {
        jobId: requestId,
        attempts: this.options.attempts ?? 5,
        backoff: { type: 'exponential', delay: this.options.backoffMs ?? 5000 },
        removeOnComplete: { age: 7 * 24 * 3600 },
        removeOnFail: { age: 30 * 24 * 3600 },
      },
    );
  }

  async depth(): Promise<Record<string, number>> {
    return this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
