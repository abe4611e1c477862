import { Cancelled, StepFailed, UpgradeError, explainError } from '../errors.js';
import type { Plan } from '../plan.js';
import type { Ports } from '../ports.js';
import { enableActiveStandby, updateDeployment, verifyDeployments } from './run-deployments.js';
import { helmRollback, helmUpgrade } from './run-helm.js';
import { keepDeployments, pauseDeployments, removeDeployments, restoreDeployments, resumeDeployments, resumeWhatTheBotLeftPaused } from './run-ordered.js';
import { checkHealth } from './run-health.js';
import { checkData } from './run-data.js';
import { takeBackup } from './run-backup.js';
import { helmInstall, restoreBackup } from './run-restore.js';
import {
  deleteConfigMap,
  deleteMigrationResources,
  deletePod,
  ensureBackupPvc,
  ensureMigrationConfig,
  runMetaMigration,
  saveReplicas,
  startMilvus,
  stopMilvus,
  waitSessions,
} from './run-migration.js';
import { done, waitRollout, waitStatefulSets, type StepContext, type StepOutcome } from './run-support.js';
import type { RunEvent, Step } from '../steps.js';

export interface RunOptions {
  readonly ports: Ports;
  readonly signal?: AbortSignal;
  /**
   * Aborted only when this run lost the request to a newer run: unlike a cancel, it also stops
   * a helm call under way, so two helm processes never work on one release.
   */
  readonly superseded?: AbortSignal;
  /** How long a step that finds helm's operation pending waits for a superseded run's helm to stop. */
  readonly handoverMs?: number;
  /** Awaited before the run goes on, so a durable log sees every event before the next action. */
  readonly onEvent?: (event: RunEvent) => void | Promise<void>;
  /** How often waits re-read the cluster. */
  readonly pollIntervalMs?: number;
  /** Resume: steps before this index are known to be finished. */
  readonly startAt?: number;
  /**
   * A transient failure will be retried from the failed step: Deployments paused by the ordered
   * helm path stay paused for that retry instead of being resumed now.
   */
  readonly retriesTransient?: boolean;
}

/** Runs `steps` (the plan's, or its rollback's) in order. Throws StepFailed or Cancelled. */
export async function runSteps(
  plan: Pick<Plan, 'namespace' | 'release'>,
  steps: readonly Step[],
  options: RunOptions,
): Promise<void> {
  const total = steps.length;
  const emit = async (e: RunEvent) => {
    await options.onEvent?.(e);
  };
  const runBegan = options.ports.clock.now();
  const startedAt = new Map<number, number>();
  const contextFor = (index: number): StepContext => {
    let lastMessage = '';
    return {
      stepStartedAt: (i) => startedAt.get(i) ?? runBegan,
      ports: options.ports,
      namespace: plan.namespace,
      release: plan.release,
      signal: options.signal,
      superseded: options.superseded,
      handoverMs: options.handoverMs ?? 6000,
      pollIntervalMs: options.pollIntervalMs ?? 500,
      async progress(message) {
        if (message === lastMessage) return;
        lastMessage = message;
        await emit({ type: 'step-progress', index, total, message });
      },
    };
  };
  for (let index = options.startAt ?? 0; index < total; index++) {
    if (options.signal?.aborted) {
      // Stopped between steps: step index-1 is the last one done.
      await resumeWhatIsPaused(steps, index - 1, contextFor(Math.max(0, index - 1)));
      throw new Cancelled(`cancelled before step ${index + 1} of ${total}`);
    }
    const step = steps[index]!;
    startedAt.set(index, options.ports.clock.now());
    await emit({ type: 'step-started', index, total, step });
    const ctx = contextFor(index);
    try {
      const outcome = await runStep(step, ctx);
      await emit({ type: 'step-finished', index, total, ...outcome });
    } catch (err) {
      const failure = asStepFailure(err, index, step);
      await emit({ type: 'step-failed', index, total, error: failure.explain(), code: failure.code });
      const retried = failure.code === 'transient' && options.retriesTransient === true;
      if (!retried) await resumeWhatIsPaused(steps, index, ctx);
      throw failure;
    }
  }
}

/** A step context for work outside a run (the reconciler's): no plan, no cancel. */
function outsideRun(namespace: string, release: string, ports: Ports, onProgress: (message: string) => void, pollIntervalMs: number): StepContext {
  return { ports, namespace, release, handoverMs: 0, pollIntervalMs, stepStartedAt: () => ports.clock.now(), progress: async (m) => onProgress(m) };
}

/**
 * For a release no run acts on (the reconciler's sweep): resumes every Deployment that carries
 * the bot's pause mark, in rolling order. Returns the components resumed.
 */
export function resumeReleaseLeftPaused(namespace: string, release: string, ports: Ports, onProgress: (message: string) => void = () => {}, pollIntervalMs = 1000): Promise<string[]> {
  return resumeWhatTheBotLeftPaused(outsideRun(namespace, release, ports, onProgress, pollIntervalMs));
}

/**
 * For a request ended from outside its run (the reconciler: the job died for good): resumes, in
 * the plan's order, whatever its ordered helm steps left paused. Progress goes to `onProgress`.
 */
export async function resumeLeftPaused(
  plan: Pick<Plan, 'namespace' | 'release' | 'steps'>,
  completedSteps: number,
  ports: Ports,
  onProgress: (message: string) => void = () => {},
  pollIntervalMs = 1000,
): Promise<void> {
  const ctx = outsideRun(plan.namespace, plan.release, ports, onProgress, pollIntervalMs);
  // The step at completedSteps did not finish: it may have paused or be the resume in progress.
  await resumeWhatIsPaused(plan.steps, completedSteps, ctx, completedSteps);
}

/**
 * A run that stops (failed, cancelled) after pausing Deployments resumes the rest in order:
 * nothing is left paused. Not awaited by a cancel (these are not the cancel's to stop), and
 * reported as progress of the step that stopped, so the record's completed steps stay true.
 * A shutdown between steps (Interrupted) does not come here: the next run goes on in order.
 */
async function resumeWhatIsPaused(steps: readonly Step[], stoppedAt: number, ctx: StepContext, from = stoppedAt + 1): Promise<void> {
  const paused = steps.findIndex((s) => s.kind === 'pause-deployments');
  // A superseded run leaves them to the run that took the request over.
  if (paused < 0 || paused > stoppedAt || ctx.superseded?.aborted) return;
  // Only this hop's: a later hop's pause step starts what is not to be run.
  const nextPause = steps.findIndex((s, i) => i >= from && s.kind === 'pause-deployments');
  const rest = steps
    .slice(from, nextPause < 0 ? steps.length : nextPause)
    .filter((s): s is Extract<Step, { kind: 'resume-deployments' }> => s.kind === 'resume-deployments');
  const uncancellable: StepContext = { ...ctx, signal: ctx.superseded };
  for (const step of rest) {
    await ctx.progress(`the run stopped: resuming ${step.component ?? 'what is left paused'} so nothing stays paused`).catch(() => {});
    try {
      await resumeDeployments(step, uncancellable);
    } catch (err) {
      // One that will not roll must not keep the others paused.
      await ctx.progress(`resuming ${step.component ?? 'the rest'} failed: ${explainError(err)}`).catch(() => {});
    }
  }
}

function asStepFailure(err: unknown, index: number, step: Step): UpgradeError {
  if (err instanceof StepFailed || err instanceof Cancelled) return err;
  if (err instanceof UpgradeError) return new StepFailed(index, err.message, err.details, { cause: err, code: err.code === 'timeout' ? 'timeout' : err.code === 'transient' ? 'transient' : 'step-failed' });
  return new StepFailed(index, `step ${index + 1} (${step.kind}) failed: ${explainError(err)}`, [], { cause: err });
}

type Handler<K extends Step['kind']> = (step: Extract<Step, { kind: K }>, ctx: StepContext) => Promise<StepOutcome>;

/** Each kind of step and its handler: a new kind is a member of the Step union and one line here. */
const HANDLERS: { readonly [K in Step['kind']]: Handler<K> } = {
  'helm-repo-update': async (step, ctx) => {
    await ctx.ports.helm.repoUpdate(step.repoName, step.repoUrl, ctx.signal);
    return done(`repository ${step.repoName} is up to date`);
  },
  'helm-upgrade': helmUpgrade,
  'helm-rollback': helmRollback,
  'wait-rollout': (step, ctx) => waitRollout(step.deployments, step.timeoutSeconds, ctx),
  'wait-statefulsets': (step, ctx) => waitStatefulSets(step.statefulSets, step.timeoutSeconds, ctx),
  'pause-deployments': (_step, ctx) => pauseDeployments(ctx),
  'check-health': checkHealth,
  'check-data': checkData,
  backup: takeBackup,
  'helm-install': helmInstall,
  'restore-backup': restoreBackup,
  'resume-deployments': resumeDeployments,
  'keep-deployments': keepDeployments,
  'remove-deployments': removeDeployments,
  'restore-deployments': restoreDeployments,
  'enable-active-standby': (step, ctx) => enableActiveStandby(step.configMap, step.key, ctx),
  'update-deployment': updateDeployment,
  'verify-deployments': verifyDeployments,
  'save-replicas': saveReplicas,
  'stop-milvus': stopMilvus,
  'wait-sessions-expired': waitSessions,
  'ensure-backup-pvc': ensureBackupPvc,
  'ensure-migration-config': (step, ctx) => ensureMigrationConfig(step.configMap, step.files, ctx),
  'run-meta-migration': runMetaMigration,
  'delete-pod': deletePod,
  'start-milvus': startMilvus,
  'delete-config-map': deleteConfigMap,
  'delete-migration-resources': deleteMigrationResources,
};

function runStep<K extends Step['kind']>(step: Extract<Step, { kind: K }>, ctx: StepContext): Promise<StepOutcome> {
  return (HANDLERS[step.kind as K] as Handler<K>)(step, ctx);
}
