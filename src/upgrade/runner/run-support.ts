/** What every step handler shares: its context, outcomes, and the bounded wait. */
import { Cancelled, UpgradeError } from '../errors.js';
import type { Ports } from '../ports.js';
import { rolloutProgress, type ComponentState } from '../state.js';
import {
  MARK_HELM_REVISION_ANNOTATION,
  PREVIOUS_IMAGE_ANNOTATION,
  PREVIOUS_VERSION_ANNOTATION,
  type DeploymentTarget,
} from '../steps.js';

export interface StepContext {
  readonly ports: Ports;
  readonly namespace: string;
  readonly release: string;
  readonly signal?: AbortSignal;
  /** See RunOptions.superseded: the only signal passed to helm. */
  readonly superseded?: AbortSignal;
  /** See RunOptions.handoverMs. */
  readonly handoverMs: number;
  /** When this run started step `index` (ms); a step an earlier run did: when this run began. */
  stepStartedAt(index: number): number;
  readonly pollIntervalMs: number;
  progress(message: string): Promise<void>;
}

export interface StepOutcome {
  readonly skipped: boolean;
  readonly detail: string;
}

/** Runs `steps` (the plan's, or its rollback's) in order. Throws StepFailed or Cancelled. */

export function fail(message: string, details: string[] = []): never {
  throw new UpgradeError('step-failed', message, details);
}

export const done = (detail: string): StepOutcome => ({ skipped: false, detail });
export const skipped = (detail: string): StepOutcome => ({ skipped: true, detail });

/**
 * With a watch, a wait still reads again this often when no change arrives: a watch that died
 * without a word costs this much delay, never a wait that hangs.
 */
export const WATCH_RESYNC_MS = 10_000;

/**
 * Until `check` may have a new answer: the release's next change (its watch), or `ms` of sleep
 * without a watch; never past `deadline`.
 */
export async function nextLook(ctx: StepContext, mark: number | null, deadline: number): Promise<void> {
  const { clock, changes } = ctx.ports;
  const left = Math.max(1, deadline - clock.now());
  try {
    if (changes && mark !== null) await changes.after(ctx.namespace, ctx.release, mark, Math.min(Math.max(ctx.pollIntervalMs, WATCH_RESYNC_MS), left), ctx.signal);
    else await clock.sleep(Math.min(ctx.pollIntervalMs, left), ctx.signal);
  } catch {
    throw new Cancelled('cancelled while waiting');
  }
}

/** The release's change counter before a read, when waits are woken by its watch. */
export function markChanges(ctx: StepContext, watched = true): number | null {
  return watched && ctx.ports.changes ? ctx.ports.changes.mark(ctx.namespace, ctx.release) : null;
}

/**
 * Reads until `check` returns a value, reporting its progress text; throws a timeout error.
 * `watched`: what `check` reads is the release's Deployments or pods, whose watch wakes the wait;
 * anything else (a migration pod, etcd) is polled.
 */
export async function waitFor<T>(
  ctx: StepContext,
  timeoutSeconds: number,
  check: () => Promise<{ value: T | null; text: string }>,
  onTimeout: (lastText: string) => UpgradeError,
  options: { watched?: boolean; what?: string } = {},
): Promise<T> {
  const { clock } = ctx.ports;
  const deadline = clock.now() + timeoutSeconds * 1000;
  let lastText = '';
  for (;;) {
    if (ctx.signal?.aborted) throw new Cancelled('cancelled while waiting');
    const mark = markChanges(ctx, options.watched ?? true);
    let value: T | null;
    let text: string;
    try {
      const answer = await beforeDeadline(ctx, deadline, check);
      if (answer === null) throw onTimeout(`${lastText ? `${lastText}; ` : ''}the last read of ${options.what ?? 'the cluster'} did not answer`);
      ({ value, text } = answer.value);
      lastText = text;
    } catch (err) {
      // Only reading here: an API that is briefly away is waited for, up to the same deadline.
      if (!(err instanceof UpgradeError && err.code === 'transient')) throw err;
      value = null;
      text = `${err.message}; retrying${lastText ? ` (last seen: ${lastText})` : ''}`;
    }
    if (value !== null) return value;
    await ctx.progress(text);
    if (clock.now() >= deadline) throw onTimeout(text);
    if (mark === null) {
      // Polling: the interval as before (a fake clock's sleep is how unit tests move time).
      try {
        await clock.sleep(ctx.pollIntervalMs, ctx.signal);
      } catch {
        throw new Cancelled('cancelled while waiting');
      }
    } else await nextLook(ctx, mark, deadline);
  }
}

/**
 * `read`'s answer, or null at the deadline; Cancelled on cancel. A read of a hung API server must
 * hold a step neither past its timeout nor past a cancel; the read itself is left to fail alone.
 */
export async function beforeDeadline<T>(ctx: StepContext, deadline: number, read: () => Promise<T>): Promise<{ value: T } | null> {
  const settled = new AbortController();
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, settled.signal]) : settled.signal;
  const pending = read();
  // Its answer or failure may come after the race is decided: then nobody awaits it.
  pending.catch(() => {});
  const late = ctx.ports.clock.timer(Math.max(0, deadline - ctx.ports.clock.now()), signal).then(
    () => 'late' as const,
    () => 'aborted' as const,
  );
  try {
    const first = await Promise.race([pending.then((value) => ({ value })), late]);
    if (first === 'aborted') throw new Cancelled('cancelled while waiting');
    return first === 'late' ? null : first;
  } finally {
    settled.abort();
  }
}

export function rolloutTimeout(what: string, timeoutSeconds: number, lastText: string, ctx: StepContext, component?: string): UpgradeError {
  const selector = component
    ? `app.kubernetes.io/instance=${ctx.release},component=${component}`
    : `app.kubernetes.io/instance=${ctx.release}`;
  return new UpgradeError('timeout', `${what} did not roll out within ${timeoutSeconds}s (${lastText})`, [
    `see the pods: kubectl -n ${ctx.namespace} get pods -l ${selector}`,
    'the new pods are not becoming ready: check their events and logs, then roll back',
  ]);
}

export async function waitRollout(deployments: readonly string[], timeoutSeconds: number, ctx: StepContext): Promise<StepOutcome> {
  const read = async (): Promise<ComponentState[]> => {
    if (deployments.length === 0) return ctx.ports.cluster.components(ctx.namespace, ctx.release);
    const found = await Promise.all(deployments.map((d) => ctx.ports.cluster.component(ctx.namespace, d)));
    return found.filter((c): c is ComponentState => c !== null);
  };
  const comps = await waitFor(
    ctx,
    timeoutSeconds,
    async () => {
      const cs = await read();
      const pending = cs.map(rolloutProgress).filter((p) => !p.done);
      return { value: pending.length === 0 ? cs : null, text: pending.map((p) => p.text).join('; ') };
    },
    (last) => rolloutTimeout(`release ${ctx.release}`, timeoutSeconds, last, ctx),
  );
  return done(`${comps.length} Deployments rolled out`);
}

/**
 * Until each StatefulSet runs its update revision with every pod ready (one that is gone counts
 * as done). Polled: the release's watch sees Milvus's pods, not its dependencies'.
 */
export async function waitStatefulSets(names: readonly string[], timeoutSeconds: number, ctx: StepContext): Promise<StepOutcome> {
  await waitFor(
    ctx,
    timeoutSeconds,
    async () => {
      const pending: string[] = [];
      for (const name of names) {
        const s = await ctx.ports.cluster.statefulSet(ctx.namespace, name);
        if (!s) continue;
        const settled = s.observedGeneration >= s.generation && s.updatedReplicas >= s.replicas && s.readyReplicas >= s.replicas && (s.updateRevision === '' || s.currentRevision === s.updateRevision);
        if (!settled) pending.push(`${name}: ${s.updatedReplicas}/${s.replicas} updated, ${s.readyReplicas}/${s.replicas} ready`);
      }
      return { value: pending.length === 0 ? true : null, text: pending.join('; ') };
    },
    (last) => new UpgradeError('timeout', `the StatefulSets helm changed did not roll out within ${timeoutSeconds}s (${last})`, [
      `see them: kubectl -n ${ctx.namespace} get statefulsets,pods -l app.kubernetes.io/instance=${ctx.release}`,
      'the Milvus components are still paused: fix the dependency, or roll back (it resumes them in order)',
    ]),
    { watched: false },
  );
  return done(`${names.join(', ')} rolled out`);
}

export function annotationsFor(target: Pick<DeploymentTarget, 'recordPrevious'>): Record<string, string | null> {
  if (!target.recordPrevious) {
    return { [PREVIOUS_IMAGE_ANNOTATION]: null, [PREVIOUS_VERSION_ANNOTATION]: null, [MARK_HELM_REVISION_ANNOTATION]: null };
  }
  return {
    [PREVIOUS_IMAGE_ANNOTATION]: target.recordPrevious.image,
    [PREVIOUS_VERSION_ANNOTATION]: target.recordPrevious.versionLabel,
    [MARK_HELM_REVISION_ANNOTATION]: String(target.recordPrevious.helmRevision),
  };
}
