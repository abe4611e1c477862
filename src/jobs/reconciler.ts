/**
 * Ends requests whose job can no longer end them, so no release stays locked for good: the job
 * failed without the request being told (stalled past maxStalledCount, an error the run could not
 * record), was removed from the queue, or never got there (the bot stopped between "queued" and
 * the enqueue, or between the last approval and "queued"). Runs at start and then periodically;
 * every decision is re-checked by an atomic update, so several reconcilers may run at once.
 */
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { explainError } from '../upgrade/errors.js';
import { deriveState, isTerminal, releaseKey, type Actor, type UpgradeRequest } from '../upgrade/requests.js';
import type { UpgradeJobData } from './queue.js';
import type { RedisRequestStore } from './requests.js';

const RECONCILER: Actor = { id: 'reconciler', via: 'worker' };

export interface ReconcilerOptions {
  readonly store: RedisRequestStore;
  readonly queue: Queue<UpgradeJobData>;
  readonly logger: Logger;
  /** A request this quiet with no job is taken as abandoned (the enqueue follows "queued" at once). */
  readonly graceMs?: number;
  readonly now?: () => number;
  /**
   * Called for each request it ended: whatever that request's run left half done on the
   * cluster is finished here (the ordered helm path's paused Deployments are resumed).
   */
  readonly afterEnd?: (request: UpgradeRequest) => Promise<void>;
  /**
   * Called for each release no request acts on (its last request ended, or its record is gone):
   * resumes the Deployments that still carry the bot's pause mark, and returns them (issue 25,
   * item 4: a run that ended without resuming, e.g. after Redis lost the record).
   */
  readonly sweepPaused?: (target: ReleaseTarget) => Promise<string[]>;
  /**
   * The releases whose Deployments carry the bot's pause mark, found in Kubernetes (the managed
   * namespaces): swept too when no request acts on them, so a pause outlives even the loss of
   * every key in Redis, locks included.
   */
  readonly pausedReleases?: () => Promise<ReleaseTarget[]>;
  /**
   * Moves every fleet not ended on (fleet-lifecycle.ts), first: a member marked queued whose
   * job was lost is handed over again before it could be taken for abandoned.
   */
  readonly advanceFleets?: () => Promise<void>;
  /** Whether a fleet is still going: its members waiting for their wave are its, not abandoned. */
  readonly fleetActive?: (id: string) => Promise<boolean>;
}

export interface ReleaseTarget {
  readonly cluster: string;
  readonly namespace: string;
  readonly release: string;
}

export interface Reconciled {
  readonly id: string;
  readonly reason: string;
}

/** One pass: returns the requests it ended, each with the reason recorded in it. */
export async function reconcileOnce(o: ReconcilerOptions): Promise<Reconciled[]> {
  const now = o.now ?? Date.now;
  const ended: Reconciled[] = [];
  const finish: UpgradeRequest[] = [];
  await o.advanceFleets?.().catch((err: unknown) => o.logger.warn({ err: explainError(err) }, 'could not advance the fleets'));
  for (const id of new Set(await o.store.lockHolders())) {
    const request = await o.store.get(id);
    if (!request) continue;
    const reason = await whyAbandoned(o, request, now());
    if (reason && (await o.store.endIfActive(id, reason, RECONCILER, now()))) {
      o.logger.warn({ requestId: id, reason }, 'ended an abandoned request; its release is free');
      ended.push({ id, reason });
      finish.push(request);
    }
  }
  // After every lock is freed: resuming Deployments waits on rollouts.
  for (const request of finish) {
    await o.afterEnd?.(request).catch((err: unknown) => o.logger.warn({ requestId: request.id, err: explainError(err) }, 'could not finish what the abandoned request left'));
  }
  if (o.sweepPaused) await sweep(o, o.sweepPaused, now);
  // Ended requests' records expire (the store's retention); their ids leave the indexes here.
  await o.store.trimIndexes(now()).catch((err: unknown) => o.logger.warn({ err: explainError(err) }, 'could not trim the request indexes'));
  return ended;
}

/** Releases whose last request ended (or is gone) but whose Deployments the bot left paused. */
async function sweep(o: ReconcilerOptions, sweepPaused: NonNullable<ReconcilerOptions['sweepPaused']>, now: () => number): Promise<void> {
  for (const lock of await sweepTargets(o)) {
    try {
      const holder = lock.holder === null ? null : await o.store.get(lock.holder);
      if (holder && !isTerminal(deriveState(holder, now()))) continue;
      // Checked again just before: a new request may have taken the release meanwhile.
      if (await o.store.activeFor(lock.cluster, lock.namespace, lock.release, now())) continue;
      const resumed = await sweepPaused(lock);
      if (resumed.length === 0) continue;
      const what = `resumed ${resumed.join(', ')}: the bot had left them paused and no request was acting on ${lock.release}`;
      o.logger.warn({ release: `${lock.cluster}/${lock.namespace}/${lock.release}`, requestId: lock.holder, resumed }, 'sweep: resumed Deployments left paused');
      if (holder) await o.store.audit(holder.id, RECONCILER, 'resumed what was left paused', what, now());
    } catch (err) {
      o.logger.warn({ release: lock.release, err: explainError(err) }, 'sweep: could not resume what was left paused');
    }
  }
}

/** The releases Redis knows (their locks) and those Kubernetes shows paused by the bot, once each. */
async function sweepTargets(o: ReconcilerOptions): Promise<Array<ReleaseTarget & { readonly holder: string | null }>> {
  const targets = new Map<string, ReleaseTarget & { holder: string | null }>();
  for (const lock of await o.store.locks()) targets.set(releaseKey(lock.cluster, lock.namespace, lock.release), lock);
  try {
    for (const t of (await o.pausedReleases?.()) ?? []) {
      const key = releaseKey(t.cluster, t.namespace, t.release);
      if (!targets.has(key)) targets.set(key, { ...t, holder: null });
    }
  } catch (err) {
    o.logger.warn({ err: explainError(err) }, 'sweep: could not list the Deployments paused by the bot');
  }
  return [...targets.values()];
}

async function whyAbandoned(o: ReconcilerOptions, r: UpgradeRequest, now: number): Promise<string | null> {
  const state = deriveState(r, now);
  if (isTerminal(state) || state === 'pending-approval') return null;
  // Approved and waiting for its wave: the fleet starts it, unless the fleet is gone.
  if (r.fleet && state === 'approved') {
    if (!o.fleetActive || (await o.fleetActive(r.fleet.id))) return null;
    return `its fleet ${r.fleet.id} is over or its record is gone: it will never start`;
  }
  const job = await o.queue.getJob(r.id);
  const jobState = job ? await job.getState() : 'missing';
  if (jobState === 'failed') return `its job failed for good: ${job?.failedReason || 'no reason given'}`;
  if (jobState === 'completed') return 'its job ended without recording an outcome';
  if (jobState !== 'missing' && jobState !== 'unknown') return null;
  // No job. Right after "queued" (or the last approval) the enqueue may still be on its way.
  const quietFor = now - (await lastActivity(o.store, r));
  if (quietFor < (o.graceMs ?? 60_000)) return null;
  if (state === 'approved') return 'approved, but never handed to a worker (the bot stopped before queueing it): ask again';
  if (state === 'queued') return 'never handed to a worker (the bot stopped between "queued" and the enqueue): ask again';
  return 'its job was removed from the queue: check the release, then ask again';
}

async function lastActivity(store: RedisRequestStore, r: UpgradeRequest): Promise<number> {
  const log = await store.log(r.id);
  return Math.max(r.createdAt, ...log.map((e) => e.at));
}

/** Reconciles now and every `intervalMs`; the returned function stops it. */
export function startReconciler(o: ReconcilerOptions & { readonly intervalMs: number }): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  const pass = async () => {
    try {
      await reconcileOnce(o);
    } catch (err) {
      o.logger.warn({ err: explainError(err) }, 'reconciler pass failed; trying again later');
    }
    if (!stopped) timer = setTimeout(() => void pass(), o.intervalMs);
  };
  void pass();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
