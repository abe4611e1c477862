/**
 * The ordered helm path: Milvus Deployments are paused before helm applies the new templates
 * and resumed one component at a time, so they roll in Milvus's order and not all at once.
 */
import { rolloutProgress, type ComponentState } from '../state.js';
import { done, fail, rolloutTimeout, skipped, waitFor, type StepContext, type StepOutcome } from './run-support.js';
import { rollRank } from '../milvus/components.js';
import type { Step } from '../steps.js';
import { tagOf } from '../milvus/image-ref.js';
import { failIfStuck } from './run-health.js';

/** The bot's pause mark: what paused it, so a Deployment a person paused is never resumed by the bot. */
export const PAUSE_MARK = 'ordered-helm';

export async function pauseDeployments(ctx: StepContext): Promise<StepOutcome> {
  const live = await ctx.ports.cluster.components(ctx.namespace, ctx.release);
  const toPause = live.filter((c) => !c.paused);
  for (const c of toPause) await ctx.ports.cluster.setPaused(ctx.namespace, c.deployment, true, PAUSE_MARK);
  if (toPause.length === 0) return skipped(`all ${live.length} Deployments already paused`);
  return done(`paused ${toPause.map((c) => c.component).join(', ')}: none rolls until resumed`);
}

export async function resumeDeployments(step: Extract<Step, { kind: 'resume-deployments' }>, ctx: StepContext): Promise<StepOutcome> {
  const live = await ctx.ports.cluster.components(ctx.namespace, ctx.release);
  const mine = (c: ComponentState) => step.component === null || c.component === step.component;
  const ours = live.filter((c) => mine(c) && c.paused && c.pausedBy === PAUSE_MARK).sort(byRollingOrder);
  const group = step.component === null ? ours : live.filter(mine);
  if (group.length === 0) return skipped(step.component === null ? 'nothing left paused' : `no ${step.component} Deployment (removed by the upgrade)`);
  if (step.component === null) {
    // The catch-all: one at a time too, so whatever the ordered steps did not know still rolls in order.
    for (const c of ours) await resumeAndWait([c], step.timeoutSeconds, ctx);
    return done(`resumed ${ours.map((c) => c.component).join(', ')}`);
  }
  const theirs = group.find((c) => c.paused && c.pausedBy !== PAUSE_MARK);
  if (theirs) {
    fail(`Deployment ${theirs.deployment} is paused, and not by the bot: it would never roll out`, [
      `whoever paused it should resume it: kubectl -n ${ctx.namespace} rollout resume deployment/${theirs.deployment}`,
    ]);
  }
  await resumeAndWait(group, step.timeoutSeconds, ctx);
  const image = group[0]!.image;
  return done(`${step.component} rolled out on ${tagOf(image) ?? image}`);
}

async function resumeAndWait(group: readonly ComponentState[], timeoutSeconds: number, ctx: StepContext): Promise<void> {
  for (const c of group) {
    if (c.paused && c.pausedBy === PAUSE_MARK) await ctx.ports.cluster.setPaused(ctx.namespace, c.deployment, false, null);
  }
  const component = group[0]!.component;
  const since = ctx.ports.clock.now();
  await waitFor(
    ctx,
    timeoutSeconds,
    async () => {
      await failIfStuck(ctx, component, since);
      const now = await Promise.all(group.map((c) => ctx.ports.cluster.component(ctx.namespace, c.deployment)));
      const texts: string[] = [];
      let allDone = true;
      for (const c of now) {
        if (!c) continue; // removed meanwhile: nothing of it left to roll
        if (c.paused) fail(`Deployment ${c.deployment} was paused again while it was being resumed`, ['someone else is working on this release: check who, then run the upgrade again']);
        const p = rolloutProgress(c);
        if (!p.done) allDone = false;
        texts.push(progressText(c, p.text));
      }
      return { value: allDone ? true : null, text: texts.join('; ') };
    },
    (last) => rolloutTimeout(component, timeoutSeconds, last, ctx, component),
  );
}

/** "querynode: 2/3 pods updated" -> "querynode 2/3 on v2.6.15". */
function progressText(c: ComponentState, text: string): string {
  const tag = tagOf(c.image) ?? c.image;
  return text.replace(/^([^:]+): (\d+)\/(\d+) pods updated$/, `$1 $2/$3 on ${tag}`);
}

function byRollingOrder(a: ComponentState, b: ComponentState): number {
  return rollRank(a.component) - rollRank(b.component) || a.deployment.localeCompare(b.deployment);
}

/**
 * The sweep's resume (issue 25, item 4): every Deployment of the release that carries the bot's
 * pause mark, one at a time in rolling order, each waited out. For a release no run is acting on
 * (its request ended, or its record is gone), so a paused Deployment would otherwise stay paused
 * for good. Returns the components resumed.
 */
export async function resumeWhatTheBotLeftPaused(ctx: StepContext, timeoutSeconds = 600): Promise<string[]> {
  const live = await ctx.ports.cluster.components(ctx.namespace, ctx.release);
  const ours = live.filter((c) => c.paused && c.pausedBy === PAUSE_MARK).sort(byRollingOrder);
  for (const c of ours) await resumeAndWait([c], timeoutSeconds, ctx);
  return ours.map((c) => c.component);
}
