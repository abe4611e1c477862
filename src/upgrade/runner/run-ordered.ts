/**
 * The ordered helm path: Milvus Deployments are paused before helm applies the new templates
 * and resumed one component at a time, so they roll in Milvus's order and not all at once.
 */
import { rolloutProgress, type ComponentState } from '../state.js';
import { annotationsFor, done, fail, rolloutTimeout, skipped, waitFor, type StepContext, type StepOutcome } from './run-support.js';
import { rollRank } from '../milvus/components.js';
import type { Step } from '../steps.js';
import { tagOf } from '../milvus/image-ref.js';
import { failIfStuck } from './run-health.js';
import { UpgradeError } from '../errors.js';

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
  // In the step's order: `component` first, then those started with it.
  const named = step.component === null ? [] : [step.component, ...(step.with ?? [])];
  const mine = (c: ComponentState) => step.component === null || named.includes(c.component);
  const ours = live.filter((c) => mine(c) && c.paused && c.pausedBy === PAUSE_MARK).sort(byRollingOrder);
  const group = step.component === null ? ours : live.filter(mine).sort((a, b) => named.indexOf(a.component) - named.indexOf(b.component));
  if (group.length === 0) return skipped(step.component === null ? 'nothing left paused' : `no ${named.join(' or ')} Deployment (removed by the upgrade)`);
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
  const which = [...new Set(group.map((c) => c.component))].join(' and ');
  return done(`${which} rolled out on ${tagOf(image) ?? image}`);
}

/** helm's own switch: a Deployment carrying it is left in place when the chart no longer renders it. */
export const HELM_KEEP_ANNOTATION = 'helm.sh/resource-policy';

export async function keepDeployments(step: Extract<Step, { kind: 'keep-deployments' }>, ctx: StepContext): Promise<StepOutcome> {
  const live = await ctx.ports.cluster.components(ctx.namespace, ctx.release);
  const kept = live.filter((c) => step.components.includes(c.component));
  if (kept.length === 0) return skipped(`no ${step.components.join(' or ')} Deployment`);
  for (const c of kept) await ctx.ports.cluster.patchDeployment(ctx.namespace, c.deployment, { container: c.component, annotations: { [HELM_KEEP_ANNOTATION]: 'keep' } });
  return done(`${kept.map((c) => c.deployment).join(', ')} marked: helm leaves ${kept.length > 1 ? 'them' : 'it'} until the end of the roll`);
}

export async function removeDeployments(step: Extract<Step, { kind: 'remove-deployments' }>, ctx: StepContext): Promise<StepOutcome> {
  const live = await ctx.ports.cluster.components(ctx.namespace, ctx.release);
  const going = live.filter((c) => step.components.includes(c.component));
  if (going.length === 0) return skipped(`no ${step.components.join(' or ')} Deployment left`);
  for (const c of going) await ctx.ports.cluster.deleteDeployment(ctx.namespace, c.deployment);
  const what = going.map((c) => c.deployment).join(', ');
  await waitFor(
    ctx,
    step.timeoutSeconds,
    async () => {
      const left = (await Promise.all(going.map((c) => ctx.ports.cluster.component(ctx.namespace, c.deployment)))).filter((c): c is ComponentState => c !== null);
      const stopping = left.reduce((n, c) => n + c.currentReplicas + (c.terminatingPods ?? 0), 0);
      return { value: left.length === 0 ? true : null, text: `deleting ${left.map((c) => c.deployment).join(', ')}: ${stopping} pod(s) stopping` };
    },
    (last) =>
      new UpgradeError('timeout', `${what} still not gone after ${step.timeoutSeconds}s (${last})`, [
        `see the pods: kubectl -n ${ctx.namespace} get pods -l 'app.kubernetes.io/instance=${ctx.release},component in (${step.components.join(',')})'`,
        'every other component runs the new version: once these are gone the upgrade is complete',
      ]),
  );
  return done(`${what} deleted, no pod left`);
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

/**
 * After a paused helm rollback: each Deployment's template set back to what ran before the hop,
 * with the bot's marks at helm's revision now. Idempotent: one already so is left alone.
 */
export async function restoreDeployments(step: Extract<Step, { kind: 'restore-deployments' }>, ctx: StepContext): Promise<StepOutcome> {
  const helm = await ctx.ports.helm.release(ctx.namespace, ctx.release);
  if (!helm) fail(`release ${ctx.release} is gone: nothing to restore`);
  const restored: string[] = [];
  const gone: string[] = [];
  for (const t of step.targets) {
    const live = await ctx.ports.cluster.component(ctx.namespace, t.deployment);
    if (!live) {
      gone.push(t.deployment);
      continue;
    }
    if (!live.paused) fail(`Deployment ${t.deployment} is not paused: setting its image now would roll it out of order`, ['someone resumed it during the rollback: check the release, then roll back again']);
    const marks = annotationsFor({ recordPrevious: t.recordPrevious ? { ...t.recordPrevious, helmRevision: helm.revision } : null });
    const same =
      live.image === t.image &&
      live.versionLabel === t.versionLabel &&
      live.previousImage === (t.recordPrevious?.image ?? null) &&
      live.markHelmRevision === (t.recordPrevious ? helm.revision : null);
    if (same) continue;
    await ctx.ports.cluster.patchDeployment(ctx.namespace, t.deployment, {
      container: t.component,
      image: t.image,
      ...(t.versionLabel !== null ? { versionLabel: t.versionLabel } : {}),
      annotations: marks,
    });
    restored.push(t.component);
  }
  const goneText = gone.length > 0 ? ` (${gone.join(', ')} gone: left)` : '';
  if (restored.length === 0) return skipped(`every Deployment already runs what it ran before the hop${goneText}`);
  return done(`${restored.join(', ')} set back to ${tagOf(step.targets[0]!.image) ?? step.targets[0]!.image}, still paused${goneText}`);
}
