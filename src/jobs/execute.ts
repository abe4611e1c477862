/**
 * Runs one approved request: re-checks the release against what was approved, runs the steps
 * from the first unfinished one, and records every event and the outcome. Shared by the queue
 * worker and the CLI's direct mode, so both leave the same audit trail.
 *
 * Every run is fenced: it takes a new token in the request when it starts, and each of its
 * writes is refused once a newer run took the request over (BullMQ's lock lost while a long
 * helm call ran, and the job handed to another worker). The old run then stops before its next
 * action and writes nothing more.
 */
import { Cancelled, UpgradeError, explainError } from '../upgrade/errors.js';
import type { Ports } from '../upgrade/ports.js';
import type { ReleaseState } from '../upgrade/state.js';
import { milvusFullname } from '../upgrade/milvus/names.js';
import { releaseProblems } from '../upgrade/planner/preflight.js';
import { fingerprint, driftOf } from '../upgrade/plan.js';
import type { RunEvent } from '../upgrade/steps.js';
import { resumeLeftPaused, runSteps } from '../upgrade/runner/run.js';
import { availabilityText, measureAvailability } from '../upgrade/runner/availability.js';
import type { Availability } from '../upgrade/data-snapshot.js';
import { runGuardProblems } from '../upgrade/runner/run-guard.js';
import type { EngineDeps } from '../upgrade/planner/service.js';
import { deriveState, isTerminal, recordOf, type Actor, type PhaseExtra, type RequestState, type UpgradeRequest } from '../upgrade/requests.js';
import { runContent, sealProblem, type Sealer } from '../upgrade/seal.js';
import type { RedisRequestStore } from './requests.js';
import { Superseded, beginRun, fenced, type RunWriter } from './run-fence.js';

/** The adapters for one cluster (a kubeconfig context), supplied by the composition root. */
export interface EngineAccess {
  forCluster(cluster: string): { readonly deps: EngineDeps; readonly ports: Ports };
}

export interface ExecuteOptions {
  /** Checks the request's approval seal, and its run seal on a resume; renews the run seal after each step. */
  readonly sealer: Sealer;
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: RunEvent) => void;
  readonly pollIntervalMs?: number;
  /** False on the last try: a transient error then fails the request instead of waiting for a retry. */
  readonly mayRetry?: boolean;
  readonly actor?: Actor;
  readonly now?: () => number;
  /**
   * Asked before each step: true stops the run there (the process is shutting down). The
   * request stays running, to be resumed from that step by the next run.
   */
  readonly stopBeforeNextStep?: (index: number) => boolean;
  /** How often a run checks that it still owns the request (default 2 s). */
  readonly fenceCheckMs?: number;
  /** See RunOptions.handoverMs: at least a few fence checks. */
  readonly handoverMs?: number;
}

/**
 * How a run ended: the request's state, or `superseded` (a newer run owns the request; this one
 * wrote nothing more), or `interrupted` (stopped between steps for a shutdown; to be resumed).
 */
export type RunOutcome = RequestState | 'superseded' | 'interrupted';

const WORKER: Actor = { id: 'worker', via: 'worker' };

export class DriftError extends UpgradeError {
  constructor(release: string, differences: string[]) {
    super('drift', `${release} changed since the plan was approved: nothing was run`, [...differences, 'ask for a new plan']);
  }
}

/** The record asks for something this worker never runs (a chart, repository, image or setting it did not plan). */
export class UnsafePlanError extends UpgradeError {
  constructor(id: string, problems: readonly string[]) {
    super('denied', `request ${id} holds steps this worker will not run: nothing was run`, [
      ...problems,
      'a plan of this bot only uses the configured chart repository, the release\'s own Milvus image repository and the configured migration image; was the request record changed outside the bot?',
    ]);
  }
}

/** The record's seals do not vouch for it: it was not approved through the bot, or was changed since. */
export class UnsealedError extends UpgradeError {
  constructor(problem: string) {
    super('denied', `${problem}: nothing was run`, [
      'a worker runs only what the bot sealed at approval with the deployment\'s key; was the request record written outside the bot, or do the bot and the worker hold different keys (APPROVAL_SEAL_KEY_FILE)?',
    ]);
  }
}

/** Stopped between two steps because the process is shutting down. */
export class Interrupted extends UpgradeError {
  constructor(step: number, total: number) {
    super('interrupted', `stopped before step ${step} of ${total}: the worker is shutting down; the next run resumes here`);
  }
}

export async function executeRequest(
  store: RedisRequestStore,
  engine: EngineAccess,
  id: string,
  options: ExecuteOptions,
): Promise<RunOutcome> {
  const now = options.now ?? Date.now;
  const actor = options.actor ?? WORKER;
  const first = await store.require(id);
  if (deriveState(first, now()) === 'pending-approval') throw new UpgradeError('invalid-state', `request ${id} is not approved`);
  const { request: req, token } = await beginRun(store, id, now());
  if (token === null) return deriveState(req, now());
  const sealRun = (r: UpgradeRequest) => {
    const content = runContent(r);
    return content ? options.sealer.seal(content) : null;
  };
  const run = fenced(store, id, token, sealRun);
  const fence = watchFence(store, id, token, options.fenceCheckMs ?? 2000);
  try {
    return await fencedRun(run, req, engine, options, actor, now, fence.signal);
  } catch (err) {
    if (isSuperseded(err) || fence.signal.aborted) return 'superseded';
    const willRetry = err instanceof UpgradeError && err.code === 'transient' && options.mayRetry;
    // An error outside the steps (the drift check's API call, a bug) must still end the request,
    // or its release stays locked.
    if (!willRetry) await failIfActive(run, actor, err, now).catch(() => {});
    throw err;
  } finally {
    fence.stop();
  }
}

/**
 * Aborts its signal once a newer run took the request over. Between steps the fenced writes
 * already stop the old run; this also reaches a run inside a long helm call, which is stopped
 * rather than left to work beside the new run's helm.
 */
function watchFence(store: RedisRequestStore, id: string, token: number, everyMs: number): { signal: AbortSignal; stop(): void } {
  const controller = new AbortController();
  const timer = setInterval(() => {
    void store.get(id).then(
      (r) => {
        if (r && (r.runToken ?? 0) !== token) controller.abort(new Superseded(id, token));
      },
      () => {}, // Redis away: the fenced writes still refuse, and the next check tries again
    );
  }, everyMs);
  timer.unref();
  return { signal: controller.signal, stop: () => clearInterval(timer) };
}

/**
 * Cancelled between two runs of a request that had started (during a retry's backoff, a shutdown
 * hand-over, or after its worker died): what its ordered steps paused is resumed before the
 * request ends, or those Deployments would stay paused for good (issue 25, item 4).
 */
async function cancelBeforeResume(run: RunWriter, req: UpgradeRequest, ports: Ports, actor: Actor, now: () => number, started: boolean, pollIntervalMs?: number): Promise<'cancelled'> {
  let error: string | undefined;
  if (started) {
    const resumed: string[] = [];
    try {
      await resumeLeftPaused(req.plan, req.completedSteps, ports, (m) => resumed.push(m), pollIntervalMs);
      if (resumed.length > 0) await run.audit(actor, 'resumed what the run paused', resumed.join('; '));
    } catch (err) {
      if (isSuperseded(err)) throw err;
      error = `cancelled, but what the run paused could not all be resumed: ${explainError(err)}`;
    }
  }
  await run.setPhase('cancelled', actor, { finishedAt: now(), ...(error ? { error } : {}) });
  return 'cancelled';
}

async function failIfActive(run: RunWriter, actor: Actor, err: unknown, now: () => number): Promise<void> {
  const current = await run.current();
  if (isTerminal(deriveState(current, now()))) return;
  await run.setPhase('failed', actor, { error: explainError(err), finishedAt: now() });
}

/** Where this worker's config says the release's Milvus is; null when it reads none. */
function milvusAddressOf(ports: Ports, current: Pick<ReleaseState, 'namespace' | 'release' | 'fullname'> | null): string | null {
  if (!ports.milvus || ports.milvus.checks === 'off' || !current) return null;
  try {
    return ports.milvus.address(current);
  } catch {
    return null;
  }
}

function isSuperseded(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) if (e instanceof Superseded) return true;
  return false;
}

async function fencedRun(
  run: RunWriter,
  req: Awaited<ReturnType<RunWriter['current']>>,
  engine: EngineAccess,
  options: ExecuteOptions,
  actor: Actor,
  now: () => number,
  superseded: AbortSignal,
): Promise<RunOutcome> {
  const { deps, ports } = engine.forCluster(req.cluster);
  const runningPhase = req.kind === 'rollback' ? 'rolling-back' : 'running';
  // A record claiming a run already started must prove it: a resume skips the drift check and
  // the steps it says are done.
  const unsealed = sealProblem(req, options.sealer, req.phase === runningPhase);
  if (unsealed) {
    const err = new UnsealedError(unsealed);
    await run.setPhase('failed', actor, { error: err.explain(), finishedAt: now() });
    throw err;
  }
  if (req.cancelRequested) return cancelBeforeResume(run, req, ports, actor, now, req.phase === runningPhase, options.pollIntervalMs);
  const current = await deps.observer.release(req.namespace, req.release);
  // A restore's release is new: where its Milvus and milvus-backup answer is what the config
  // says for its name (the fullname its values give: no override, the plan refuses one).
  const located = current ?? (req.kind === 'restore' ? { namespace: req.namespace, release: req.release, fullname: milvusFullname(req.release) } : null);
  // On a first start and on every resume alike: the record is not trusted to name what is safe.
  const unsafe = runGuardProblems({
    cluster: req.cluster,
    namespace: req.namespace,
    release: req.release,
    plan: req.plan,
    settings: deps.settings,
    liveMilvusRepository: current?.imageRepository || null,
    milvusAddress: milvusAddressOf(ports, located),
    backupUrl: located && ports.backups ? ports.backups.url(located) : null,
  });
  if (unsafe.length > 0) {
    const err = new UnsafePlanError(req.id, unsafe);
    await run.setPhase('failed', actor, { error: err.explain(), finishedAt: now() });
    throw err;
  }
  if (req.phase !== runningPhase) {
    // First start (not a resume after a crash): what runs must be what was approved. A rollback
    // is checked against what it was planned from (what the upgrade left), not for the release's
    // health: undoing a failed upgrade is what it is for.
    const health = req.kind === 'upgrade' && current ? releaseProblems(current) : [];
    const differences =
      req.kind === 'restore'
        ? current
          ? [`release ${req.release} exists now (revision ${current.helm.revision}, ${current.helm.chart}): a restore goes into a NEW release`]
          : []
        : current
          ? [...driftOf(req.plan, current), ...health]
          : [`release ${req.release} is gone`];
    if (differences.length > 0) {
      const err = new DriftError(req.release, differences);
      await run.setPhase('failed', actor, { error: err.explain(), finishedAt: now() });
      throw err;
    }
    // Cancelled while queued (and the drift check ran): it ends here, nothing was run.
    const latest = await run.current();
    if (isTerminal(deriveState(latest, now()))) return deriveState(latest, now());
    const startedAt = now();
    const runSeal = options.sealer.seal(runContent({ ...req, startedAt })!);
    await run.setPhase(runningPhase, actor, { startedAt, runSeal });
  } else {
    await run.audit(actor, 'resumed', `from step ${req.completedSteps + 1} of ${req.plan.steps.length}`);
  }
  // Before the outcome is written: whoever sees the request finished also sees what it left.
  const recordLeftBehind = async () => {
    try {
      const left = await deps.observer.release(req.namespace, req.release);
      if (left) await run.recordLeftBehind(fingerprint(left));
    } catch (err) {
      if (isSuperseded(err)) throw err;
      // Best effort: without it a rollback is checked against the release as it was when asked.
    }
  };
  let interrupted: Interrupted | null = null;
  // Measured beside the steps, never in their way: a loop that cannot start says why.
  const loop = await measureAvailability(req.plan.data, ports.milvus, req, ports.clock);
  let measured: Availability | { readonly notMeasured: string } | null = null;
  const availability = async (): Promise<PhaseExtra> => {
    measured ??= 'stop' in loop ? await loop.stop() : loop;
    return { availability: measured };
  };
  const recordAvailability = async () => {
    const extra = await availability();
    await run.audit(actor, 'availability', availabilityText(extra.availability!));
    return extra;
  };
  try {
    await runSteps(req.plan, req.plan.steps, {
      ports,
      signal: options.signal ? AbortSignal.any([options.signal, superseded]) : superseded,
      superseded,
      handoverMs: options.handoverMs,
      retriesTransient: options.mayRetry === true,
      pollIntervalMs: options.pollIntervalMs,
      startAt: req.completedSteps,
      onEvent: async (e) => {
        if (e.type === 'step-started' && options.stopBeforeNextStep?.(e.index)) {
          interrupted = new Interrupted(e.index + 1, e.total);
          throw interrupted;
        }
        await run.appendLog({ at: now(), type: 'run', event: recordOf(e) });
        if (e.type === 'step-finished') await run.stepDone(e.index);
        options.onEvent?.(e);
      },
    });
  } catch (err) {
    if (isSuperseded(err) || superseded.aborted) throw new Superseded(req.id, run.token, { cause: err });
    if (interrupted) {
      await availability();
      await run.audit(actor, 'interrupted', (interrupted as Interrupted).message);
      return 'interrupted';
    }
    if (err instanceof Cancelled || options.signal?.aborted) {
      const extra = await recordAvailability();
      await recordLeftBehind();
      await run.setPhase('cancelled', actor, { error: explainError(err), finishedAt: now(), ...extra });
      return 'cancelled';
    }
    if (err instanceof UpgradeError && err.code === 'transient' && options.mayRetry) {
      await availability();
      await run.audit(actor, 'transient error, will retry', explainError(err));
      throw err;
    }
    const extra = await recordAvailability();
    await recordLeftBehind();
    await run.setPhase('failed', actor, { error: explainError(err), finishedAt: now(), ...extra });
    throw err;
  } finally {
    // Whatever ended the run (a superseded one too), the loop and its connection end with it.
    await availability().catch(() => undefined);
  }
  const extra = await recordAvailability();
  await recordLeftBehind();
  const outcome = req.kind === 'rollback' ? 'rolled-back' : 'succeeded';
  await run.setPhase(outcome, actor, { finishedAt: now(), ...extra });
  if (req.rollbackOf) await run.markRolledBack(req.rollbackOf, actor);
  return outcome;
}
