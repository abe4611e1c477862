import { DelayedError, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { PlanKind } from '../upgrade/plan.js';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { UpgradeError, explainError } from '../upgrade/errors.js';
import { executeRequest, type EngineAccess } from './execute.js';
import { QUEUE_NAME, bullPrefix, type UpgradeJobData } from './queue.js';
import type { RedisRequestStore } from './requests.js';
import type { Sealer } from '../upgrade/seal.js';
import { slotBeforeStep, zoneFor, type ScheduleSettings } from '../upgrade/schedule/gate.js';
import { slotText, type RunSlot } from '../upgrade/schedule/when.js';
import { deriveState, isTerminal, type UpgradeRequest } from '../upgrade/requests.js';

export interface WorkerOptions {
  readonly connection: ConnectionOptions;
  /** A separate connection for the cancel subscription (a subscribed connection can do nothing else). */
  readonly subscriber: Redis;
  readonly prefix: string;
  readonly store: RedisRequestStore;
  readonly engine: EngineAccess;
  /** Checks the approval and run seals of every request before it runs (upgrade/seal.ts). */
  readonly sealer: Sealer;
  readonly logger: Logger;
  /** Upgrades run side by side, one per release at most (the store's lock). Default 2. */
  readonly concurrency?: number;
  /** How long a job stays locked without a heartbeat; a killed worker's job moves on after it. */
  readonly lockDurationMs?: number;
  /** How often workers look for jobs whose worker died. */
  readonly stalledIntervalMs?: number;
  readonly pollIntervalMs?: number;
  /** How often running requests are re-read for a cancel (pub/sub is only a hint). Default 2 s. */
  readonly cancelPollMs?: number;
  /**
   * Called once a job's request has ended (or its job failed for good): what waits on it moves
   * on (its fleet's next members). Errors are logged; the reconciler's pass makes good a miss.
   */
  readonly afterEnd?: (requestId: string) => Promise<void>;
  /**
   * Maintenance windows and freezes (issue 28): an upgrade's first step and each later hop wait
   * for their slot. A held job is delayed, looking again every `recheckMs` (a lifted freeze, an
   * edited window, or the injected clock of a test is seen within it).
   */
  readonly schedule?: { readonly settings: ScheduleSettings; readonly recheckMs: number; readonly now: () => number };
  /** Observes every step event and every outcome (metrics). */
  readonly observe?: {
    step(kind: string, result: 'finished' | 'skipped' | 'failed', seconds: number): void;
    outcome(kind: PlanKind, outcome: string): void;
  };
}

export interface UpgradeWorker {
  readonly worker: Worker<UpgradeJobData>;
  /**
   * Takes no new jobs, lets each running step finish (a helm upgrade is never cut short), then
   * hands each job back to the queue to be resumed from its next step. Waits at most `graceMs`
   * (default: no wait at all); a run still busy then is resumed by another worker once its
   * queue lock expires.
   */
  close(graceMs?: number): Promise<void>;
}

const SUPERSEDED_RESULT = { outcome: 'superseded' } as const;
const WORKER_ACTOR = { id: 'worker', via: 'worker' } as const;

/** The queue processor: runs requests, retries transient failures, honours cancel. */
export async function createUpgradeWorker(options: WorkerOptions): Promise<UpgradeWorker> {
  const { store, logger } = options;
  const running = new Map<string, AbortController>();
  await options.subscriber.subscribe(store.cancelChannel());
  options.subscriber.on('message', (_channel: string, id: string) => {
    const controller = running.get(id);
    if (controller) {
      logger.info({ requestId: id }, 'cancel requested: interrupting the run');
      controller.abort();
    }
  });

  const afterEnd = async (id: string) => {
    await options.afterEnd?.(id).catch((err: unknown) => logger.warn({ requestId: id, err: explainError(err) }, 'could not act on the end of a request (the reconciler tries again)'));
  };

  /** The slot recorded in the request; returns when the job looks again (real time). */
  const recordHold = async (r: UpgradeRequest, slot: RunSlot, beforeStep: number): Promise<number> => {
    const sched = options.schedule!;
    const at = slot.kind === 'later' ? slot.at : sched.now() + sched.recheckMs;
    await store.setScheduled(r.id, { at, text: slotText(slot, zoneFor(sched.settings, r)), beforeStep }, WORKER_ACTOR);
    return Date.now() + Math.max(0, Math.min(at - sched.now(), sched.recheckMs));
  };

  /**
   * Before a run's next step (the first, or a resumed hop's): the time to look again when the
   * slot is later, 'ended' when a freeze refuses the run or no window will ever fit it, null when
   * it runs now (a hold recorded before is cleared).
   */
  const holdIfOutsideSlot = async (r: UpgradeRequest, nextStep: number): Promise<number | 'ended' | null> => {
    const sched = options.schedule!;
    const slot = slotBeforeStep(sched.settings, r.plan, nextStep, sched.now());
    if (slot && (slot.kind === 'refused' || (slot.kind === 'never' && nextStep === 0))) {
      const reason = `not run: ${slotText(slot, zoneFor(sched.settings, r))}`;
      if (nextStep === 0 && (await store.endIfActive(r.id, reason, WORKER_ACTOR))) logger.warn({ requestId: r.id, reason }, 'run refused by the schedule');
      return 'ended';
    }
    if (slot && slot.kind !== 'now') return recordHold(r, slot, nextStep);
    if (r.scheduled) await store.setScheduled(r.id, null, WORKER_ACTOR);
    return null;
  };

  let draining = false;
  // Pub/sub is a hint: a lost cancel message is still seen by re-reading the running requests.
  const cancelPoll = setInterval(() => {
    for (const [id, controller] of running) {
      if (controller.signal.aborted) continue;
      void store.get(id).then(
        (r) => {
          if (r?.cancelRequested && !controller.signal.aborted) {
            logger.info({ requestId: id }, 'cancel found in the store: interrupting the run');
            controller.abort();
          }
        },
        () => {},
      );
    }
  }, options.cancelPollMs ?? 2000);
  cancelPoll.unref();

  const process = async (job: Job<UpgradeJobData>, token?: string) => {
    const id = job.data.requestId;
    const controller = new AbortController();
    running.set(id, controller);
    const mayRetry = job.attemptsMade + 1 < (job.opts.attempts ?? 1);
    const log = logger.child({ requestId: id, jobId: job.id, attempt: job.attemptsMade + 1 });
    log.info('job started');
    const before = options.schedule ? await store.get(id) : null;
    if (before && options.schedule && !isTerminal(deriveState(before, Date.now())) && !before.cancelRequested) {
      const held = await holdIfOutsideSlot(before, before.completedSteps);
      if (held === 'ended') {
        running.delete(id);
        await afterEnd(id);
        return { outcome: 'failed' };
      }
      if (held) {
        running.delete(id);
        await job.moveToDelayed(held, token);
        log.info({ until: new Date(held).toISOString() }, 'held by a maintenance window or a freeze');
        throw new DelayedError();
      }
    }
    // A hop after the first asks again before it starts; the run stops there to wait.
    const stopBefore = (index: number): boolean => {
      if (draining) return true;
      if (!before || !options.schedule || index === before.completedSteps) return false;
      const slot = slotBeforeStep(options.schedule.settings, before.plan, index, options.schedule.now());
      if (!slot || slot.kind === 'now') return false;
      pendingHold = { slot, index };
      return true;
    };
    let pendingHold: { slot: RunSlot; index: number } | null = null;
    const stepStarted = new Map<number, { at: number; kind: string }>();
    const stepEnded = (index: number, result: 'finished' | 'skipped' | 'failed') => {
      const s = stepStarted.get(index);
      if (s) options.observe?.step(s.kind, result, (Date.now() - s.at) / 1000);
    };
    try {
      const outcome = await executeRequest(store, options.engine, id, {
        sealer: options.sealer,
        signal: controller.signal,
        mayRetry,
        pollIntervalMs: options.pollIntervalMs,
        stopBeforeNextStep: stopBefore,
        onEvent: (e) => {
          log.info({ event: e.type, step: e.index + 1, total: e.total }, 'step event');
          if (e.type === 'step-started') stepStarted.set(e.index, { at: Date.now(), kind: e.step.kind });
          else if (e.type === 'step-finished') stepEnded(e.index, e.skipped ? 'skipped' : 'finished');
          else if (e.type === 'step-failed') stepEnded(e.index, 'failed');
          void job.updateProgress({ index: e.index, total: e.total, type: e.type }).catch(() => {});
        },
      });
      if (outcome === 'superseded') {
        // Another run owns the request now (this one's queue lock was lost): nothing to record.
        log.warn('a newer run took this request over: this run stopped and wrote nothing');
        return SUPERSEDED_RESULT;
      }
      if (outcome === 'interrupted' && pendingHold && !draining) {
        const { slot, index } = pendingHold;
        const holdUntil = await recordHold(before!, slot, index);
        await job.moveToDelayed(holdUntil, token);
        log.info({ until: new Date(holdUntil).toISOString(), step: index + 1 }, 'next hop held by a maintenance window or a freeze');
        throw new DelayedError();
      }
      if (outcome === 'interrupted') {
        // Shutting down between steps: back to the queue, to be resumed by the next worker.
        await job.moveToDelayed(Date.now(), token);
        log.info('shutting down: job handed back to the queue before its next step');
        throw new DelayedError();
      }
      log.info({ outcome }, 'job finished');
      const kind = (await store.get(id))?.kind ?? 'upgrade';
      options.observe?.outcome(kind, outcome);
      await afterEnd(id);
      return { outcome };
    } catch (err) {
      if (err instanceof DelayedError) throw err;
      log.warn({ err: explainError(err) }, 'job failed');
      const final = !(err instanceof UpgradeError && err.code === 'transient' && mayRetry);
      if (final) options.observe?.outcome((await store.get(id).catch(() => null))?.kind ?? 'upgrade', 'failed');
      if (err instanceof UpgradeError && err.code === 'transient' && mayRetry) throw err;
      throw new UnrecoverableError(explainError(err));
    } finally {
      running.delete(id);
    }
  };

  const worker = new Worker<UpgradeJobData>(QUEUE_NAME, process, {
    connection: options.connection,
    prefix: bullPrefix(options.prefix),
    concurrency: options.concurrency ?? 2,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    // A worker killed mid-upgrade must hand the job on, more than once if need be.
    maxStalledCount: 10,
  });
  worker.on('error', (err) => logger.error({ err: explainError(err) }, 'worker error'));
  // A job that failed for good ends its request (if the run could not), which frees the release.
  worker.on('failed', (job, err) => {
    if (!job) return;
    void (async () => {
      if ((await job.getState()) !== 'failed') return; // it will be retried
      if (await store.endIfActive(job.data.requestId, `its job failed: ${explainError(err)}`, { id: 'worker', via: 'worker' })) {
        logger.warn({ requestId: job.data.requestId }, 'job failed for good: request ended');
      }
      await afterEnd(job.data.requestId);
    })().catch((e: unknown) => logger.warn({ err: explainError(e), requestId: job.data.requestId }, 'could not end the request of a failed job'));
  });
  return {
    worker,
    async close(graceMs = 0) {
      draining = true;
      clearInterval(cancelPoll);
      if (graceMs <= 0) {
        // No grace: a run cut short here is resumed by another worker once its lock expires.
        await worker.close(true);
        await options.subscriber.unsubscribe().catch(() => {});
        return;
      }
      // Not a cancel: the running step finishes, then the job goes back to the queue.
      const closed = worker.close();
      let timer: NodeJS.Timeout | undefined;
      const expired = await Promise.race([
        closed.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
      ]);
      clearTimeout(timer);
      if (expired && running.size > 0) {
        logger.warn({ requests: [...running.keys()], graceMs }, 'grace period over with steps still running: they are resumed by another worker');
      }
      await options.subscriber.unsubscribe().catch(() => {});
    },
  };
}
