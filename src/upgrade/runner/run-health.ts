/**
 * The health gate at the end of a hop. A rollout check counts available replicas; this looks at
 * the pods: a pod that restarted, or went not-ready a moment after its first ready probe, passes
 * a rollout and still means the new version is not serving.
 */
import { UpgradeError } from '../errors.js';
import type { PodHealth } from '../ports.js';
import { done, fail, markChanges, nextLook, waitFor, type StepContext, type StepOutcome } from './run-support.js';
import type { Step } from '../steps.js';

const LOG_LINES = 20;
/** Waiting reasons that will not clear by themselves. */
const STUCK = new Set(['CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull', 'CreateContainerConfigError', 'InvalidImageName']);

interface Problem {
  readonly pod: PodHealth;
  readonly why: string;
  /** True when waiting longer cannot help. */
  readonly final: boolean;
}

export async function checkHealth(step: Extract<Step, { kind: 'check-health' }>, ctx: StepContext): Promise<StepOutcome> {
  const since = ctx.stepStartedAt(step.sinceStep);
  const problemsOf = (pods: readonly PodHealth[]): Problem[] => pods.flatMap((p) => podProblems(p, since));
  // 1. Every pod Ready (failing at once on what will not heal).
  let pods: PodHealth[];
  try {
    pods = await waitFor(
      ctx,
      step.timeoutSeconds,
      async () => {
        const now = await ctx.ports.cluster.podsHealth(ctx.namespace, ctx.release);
        const problems = problemsOf(now);
        const final = problems.find((p) => p.final);
        if (final) await failWith(final, problems, ctx);
        if (now.length === 0) return { value: null, text: 'no Milvus pods yet' };
        return { value: problems.length === 0 ? now : null, text: problems.map((p) => `${p.pod.name}: ${p.why}`).join('; ') };
      },
      (last) => new UpgradeError('timeout', `the pods of ${ctx.release} did not become healthy within ${step.timeoutSeconds}s (${last})`),
    );
  } catch (err) {
    if (err instanceof UpgradeError && err.code === 'timeout') {
      const problems = problemsOf(await ctx.ports.cluster.podsHealth(ctx.namespace, ctx.release));
      if (problems[0]) await failWith(problems[0], problems, ctx, `within ${step.timeoutSeconds}s`);
    }
    throw err;
  }
  // 2. Still healthy after the settle window: no pod went not-ready or restarted meanwhile.
  const deadline = ctx.ports.clock.now() + step.settleSeconds * 1000;
  let mark = markChanges(ctx);
  while (ctx.ports.clock.now() < deadline) {
    await ctx.progress(`${pods.length} pods ready; watching them for ${step.settleSeconds}s`);
    await nextLook(ctx, mark, deadline);
    mark = markChanges(ctx);
    const now = await ctx.ports.cluster.podsHealth(ctx.namespace, ctx.release);
    const problems = problemsOf(now);
    if (problems[0]) await failWith(problems[0], problems, ctx, 'during the settle window');
  }
  return done(`${pods.length} pods ready and still ready after ${step.settleSeconds}s, no restarts`);
}

/**
 * For a wait on one component: fails at once, with the pod's log lines, when one of its pods is
 * in a state that will not heal (crash-looping, image missing) instead of waiting out the timeout.
 */
export async function failIfStuck(ctx: StepContext, component: string, since: number): Promise<void> {
  const pods = (await ctx.ports.cluster.podsHealth(ctx.namespace, ctx.release)).filter((p) => p.component === component);
  const stuck = pods.flatMap((p) => podProblems(p, since)).filter((p) => p.final && /CrashLoopBackOff|ImagePull|ErrImage|InvalidImage|CreateContainer/.test(p.why));
  if (stuck[0]) await failWith(stuck[0], stuck, ctx, 'while rolling out');
}

function podProblems(p: PodHealth, since: number): Problem[] {
  const out: Problem[] = [];
  for (const c of p.containers) {
    if (c.waitingReason && STUCK.has(c.waitingReason)) out.push({ pod: p, why: `container ${c.name} is in ${c.waitingReason} (${c.restartCount} restarts)`, final: true });
    else if (c.restartCount > 0 && c.lastTerminatedAt !== null && c.lastTerminatedAt >= since) {
      out.push({ pod: p, why: `container ${c.name} restarted (${c.restartCount} restarts, the last since this hop began)`, final: true });
    }
  }
  if (out.length === 0 && !p.ready) out.push({ pod: p, why: `not ready (${p.phase})`, final: false });
  return out;
}

async function failWith(first: Problem, all: readonly Problem[], ctx: StepContext, when = ''): Promise<never> {
  const logs = await ctx.ports.cluster.podLogTail(ctx.namespace, first.pod.name, LOG_LINES).catch((err: unknown) => `(log not available: ${String(err)})`);
  const others = all.filter((p) => p !== first).map((p) => `also ${p.pod.name}: ${p.why}`);
  fail(`${first.pod.component || 'pod'} is not healthy${when ? ` ${when}` : ''}: pod ${first.pod.name}: ${first.why}`, [
    ...others,
    `last ${LOG_LINES} log lines of ${first.pod.name}:\n${logs}`,
    `see: kubectl -n ${ctx.namespace} describe pod ${first.pod.name}`,
  ]);
}
