/**
 * Availability, measured (issue 26): while a run changes the release, one query and one search a
 * second on one loaded collection, read-only. What users ask and no tool reports: how long Milvus
 * stopped answering during the upgrade ("longest search gap 2.1 s") and how many requests failed.
 */
import { explainError } from '../errors.js';
import type { CanarySampler, Clock, MilvusAccess } from '../ports.js';
import type { Availability, OperationAvailability, PlanData } from '../data-snapshot.js';

/** Gap bookkeeping of one operation: pure, so the rules are tested without a clock. */
export class GapMeter {
  private samples = 0;
  private failed = 0;
  private longest = 0;
  private firstError: string | null = null;

  constructor(private lastAnswer: number) {}

  answered(at: number): void {
    this.samples += 1;
    this.longest = Math.max(this.longest, at - this.lastAnswer);
    this.lastAnswer = at;
  }

  failedAt(error: string): void {
    this.samples += 1;
    this.failed += 1;
    this.firstError ??= error;
  }

  /** The figures at `end`: a run that ends unanswered counts the gap up to it. */
  result(end: number): OperationAvailability {
    return { samples: this.samples, failed: this.failed, longestGapMs: Math.max(this.longest, end - this.lastAnswer), firstError: this.firstError };
  }
}

export interface AvailabilityLoop {
  /** Ends the loop (after the sample in flight) and gives the figures. */
  stop(): Promise<Availability>;
}

/** Samples every `intervalMs` until stopped; a sample that hangs delays the next, and that shows as a gap. */
export function startAvailabilityLoop(sampler: CanarySampler, collection: string, clock: Clock, intervalMs = 1000): AvailabilityLoop {
  const began = clock.now();
  const query = new GapMeter(began);
  const search = sampler.search ? new GapMeter(began) : null;
  const stopping = new AbortController();
  const sample = async (meter: GapMeter, op: () => Promise<void>) => {
    try {
      await op();
      meter.answered(clock.now());
    } catch (err) {
      meter.failedAt(explainError(err));
    }
  };
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      const tick = clock.now();
      await sample(query, () => sampler.query());
      if (search && sampler.search) await sample(search, sampler.search);
      const wait = Math.max(0, intervalMs - (clock.now() - tick));
      await clock.sleep(wait, stopping.signal).catch(() => undefined);
    }
  })();
  return {
    async stop() {
      stopping.abort();
      await loop;
      await sampler.close();
      const end = clock.now();
      return { collection, durationMs: end - began, query: query.result(end), search: search ? search.result(end) : null };
    },
  };
}

/**
 * The loop for a run of `data`'s plan, on its first canary that can search; null with why when
 * there is nothing to measure or Milvus does not answer now (the run goes on: its gate decides).
 */
export async function measureAvailability(
  data: PlanData | undefined,
  access: MilvusAccess | undefined,
  where: { readonly namespace: string; readonly release: string },
  clock: Clock,
  intervalMs = 1000,
): Promise<AvailabilityLoop | { readonly notMeasured: string }> {
  if (!data?.address || data.canaries.length === 0) return { notMeasured: data?.notChecked ? 'data not checked' : 'no loaded collection with rows to read' };
  if (!access) return { notMeasured: 'this worker cannot read Milvus' };
  const canary = data.canaries.find((c) => c.vectorField !== null) ?? data.canaries[0]!;
  try {
    const endpoint = await access.endpoint(where.namespace, where.release, data.address);
    const sampler = await access.reader.openSampler(endpoint, canary);
    return startAvailabilityLoop(sampler, canary.collection, clock, intervalMs);
  } catch (err) {
    return { notMeasured: explainError(err) };
  }
}

/** One line a person reads: "books: longest query gap 1.0 s, longest search gap 2.1 s, 0 of 412 failed". */
export function availabilityText(a: Availability | { readonly notMeasured: string }): string {
  if ('notMeasured' in a) return `availability not measured: ${a.notMeasured}`;
  const op = (name: string, o: OperationAvailability) => `longest ${name} gap ${(o.longestGapMs / 1000).toFixed(1)} s (${o.failed} of ${o.samples} failed${o.firstError ? `, first: ${o.firstError.slice(0, 120)}` : ''})`;
  return `collection ${a.collection} during the run: ${op('query', a.query)}${a.search ? `; ${op('search', a.search)}` : ''}`;
}
