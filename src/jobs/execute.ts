/**
 * Runs one approved request: re-checks the release against what was approved, runs the steps
 * from the first unfinished one, and records every event and the outcome. Shared by the queue
 * worker and the CLI's direct mode, so both leave the same audit trail.
 */
import { Cancelled, UpgradeError, explainError } from '../upgrade/errors.js';
import type { Ports } from '../upgrade/ports.js';
import { releaseProblems } from '../upgrade/preflight.js';
import { fingerprint } from '../upgrade/plan.js';
import { runSteps, type RunEvent } from '../upgrade/run.js';
import { driftOf, type EngineDeps } from '../upgrade/service.js';
import { deriveState, isTerminal, recordOf, type Actor, type RequestState } from '../upgrade/requests.js';
import type { RedisRequestStore } from './requests.js';

/** The adapters for one cluster (a kubeconfig context), supplied by the composition root. */
export interface EngineAccess {
  forCluster(cluster: string): { readonly deps: EngineDeps; readonly ports: Ports };
}

export interface ExecuteOptions {
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: RunEvent) => void;
  readonly pollIntervalMs?: number;
  /** False on the last try: a transient error then fails the request instead of waiting for a retry. */
  readonly mayRetry?: boolean;
  readonly actor?: Actor;
  readonly now?: () => number;
}

const WORKER: Actor = { id: 'worker', via: 'worker' };

export class DriftError extends UpgradeError {
  constructor(release: string, differences: string[]) {
    super('drift', `${release} changed since the plan was approved: nothing was run`, [...differences, 'ask for a new plan']);
  }
}

export async function executeRequest(
  store: RedisRequestStore,
  engine: EngineAccess,
  id: string,
  options: ExecuteOptions = {},
): Promise<RequestState> {
  const now = options.now ?? Date.now;
  const actor = options.actor ?? WORKER;
  const req = await store.require(id);
  const state = deriveState(req, now());
  if (isTerminal(state)) return state;
  if (state === 'pending-approval') throw new UpgradeError('invalid-state', `request ${id} is not approved`);
  if (req.cancelRequested) {
    await store.setPhase(id, 'cancelled', actor, { finishedAt: now() });
    return 'cancelled';
  }
  const { deps, ports } = engine.forCluster(req.cluster);
  const runningPhase = req.kind === 'rollback' ? 'rolling-back' : 'running';
  if (req.phase !== runningPhase) {
    // First start (not a resume after a crash): what runs must be what was approved. A rollback
    // is checked against what it was planned from (what the upgrade left), not for the release's
    // health: undoing a failed upgrade is what it is for.
    const current = await deps.observer.release(req.namespace, req.release);
    const health = req.kind === 'upgrade' && current ? releaseProblems(current) : [];
    const differences = current ? [...driftOf(req.plan, current), ...health] : [`release ${req.release} is gone`];
    if (differences.length > 0) {
      const err = new DriftError(req.release, differences);
      await store.setPhase(id, 'failed', actor, { error: err.explain(), finishedAt: now() });
      throw err;
    }
    await store.setPhase(id, runningPhase, actor, { startedAt: now() });
  } else {
    await store.audit(id, actor, 'resumed', `from step ${req.completedSteps + 1} of ${req.plan.steps.length}`);
  }
  // Before the outcome is written: whoever sees the request finished also sees what it left.
  const recordLeftBehind = async () => {
    try {
      const left = await deps.observer.release(req.namespace, req.release);
      if (left) await store.recordLeftBehind(id, fingerprint(left));
    } catch {
      // Best effort: without it a rollback is checked against the release as it was when asked.
    }
  };
  try {
    await runSteps(req.plan, req.plan.steps, {
      ports,
      signal: options.signal,
      pollIntervalMs: options.pollIntervalMs,
      startAt: req.completedSteps,
      onEvent: async (e) => {
        await store.appendLog(id, { at: now(), type: 'run', event: recordOf(e) });
        if (e.type === 'step-finished') await store.stepDone(id, e.index);
        options.onEvent?.(e);
      },
    });
  } catch (err) {
    if (err instanceof Cancelled || options.signal?.aborted) {
      await recordLeftBehind();
      await store.setPhase(id, 'cancelled', actor, { error: explainError(err), finishedAt: now() });
      return 'cancelled';
    }
    if (err instanceof UpgradeError && err.code === 'transient' && options.mayRetry) {
      await store.audit(id, actor, 'transient error, will retry', explainError(err));
      throw err;
    }
    await recordLeftBehind();
    await store.setPhase(id, 'failed', actor, { error: explainError(err), finishedAt: now() });
    throw err;
  }
  await recordLeftBehind();
  const outcome = req.kind === 'rollback' ? 'rolled-back' : 'succeeded';
  await store.setPhase(id, outcome, actor, { finishedAt: now() });
  if (req.rollbackOf) await store.setPhase(req.rollbackOf, 'rolled-back', actor);
  return outcome;
}
