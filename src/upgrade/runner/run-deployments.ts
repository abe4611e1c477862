/** Rolling-upgrade steps: the active-standby config and one Deployment's update and rollout. */
import { annotationsFor, done, fail, rolloutTimeout, skipped, waitFor, type StepContext, type StepOutcome } from './run-support.js';
import { sameRepository, tagOf } from '../milvus/image-ref.js';
import { ACTIVE_STANDBY_SECTIONS } from '../milvus/components.js';
import { rolloutProgress } from '../state.js';
import type { Step } from '../steps.js';


export async function enableActiveStandby(name: string, key: string, ctx: StepContext): Promise<StepOutcome> {
  const changed = await ctx.ports.cluster.setConfigFlag(ctx.namespace, name, key, ACTIVE_STANDBY_SECTIONS, 'enableActiveStandby');
  if (changed === null) fail(`ConfigMap ${name} not found in ${ctx.namespace}`, ['is this a release of the Milvus chart?']);
  if (changed.length === 0) return skipped('active-standby already on for every coordinator');
  return done(`enableActiveStandby: true for ${changed.join(', ')}`);
}

export async function updateDeployment(step: Extract<Step, { kind: 'update-deployment' }>, ctx: StepContext): Promise<StepOutcome> {
  const t = step.target;
  const current = await ctx.ports.cluster.component(ctx.namespace, t.deployment);
  if (!current) fail(`Deployment ${t.deployment} not found in ${ctx.namespace}`);
  const alreadyPatched = current.image === t.image && current.versionLabel === t.versionLabel;
  if (alreadyPatched && rolloutProgress(current).done) {
    return skipped(`${t.component} already runs ${t.image}`);
  }
  if (!alreadyPatched) {
    await ctx.ports.cluster.patchDeployment(ctx.namespace, t.deployment, {
      container: t.component,
      image: t.image,
      versionLabel: t.versionLabel,
      rollingUpdate: true,
      ...(step.minReadySeconds !== null ? { minReadySeconds: step.minReadySeconds } : {}),
      annotations: annotationsFor(t),
    });
  }
  await waitFor(
    ctx,
    step.timeoutSeconds,
    async () => {
      const c = await ctx.ports.cluster.component(ctx.namespace, t.deployment);
      if (!c) fail(`Deployment ${t.deployment} disappeared during the update`);
      const p = rolloutProgress(c);
      return { value: p.done ? c : null, text: p.text.replace(/pods updated$/, `pods on ${tagOf(t.image) ?? t.image}`) };
    },
    (last) => rolloutTimeout(t.component, step.timeoutSeconds, last, ctx, t.component),
  );
  return done(`${t.component} runs ${t.image}`);
}


/** Checks once, reading every Deployment of the release: rolled out, on the image, none left behind. */
export async function verifyDeployments(step: Extract<Step, { kind: 'verify-deployments' }>, ctx: StepContext): Promise<StepOutcome> {
  const live = await ctx.ports.cluster.components(ctx.namespace, ctx.release);
  const byName = new Map(live.map((c) => [c.deployment, c]));
  const problems: string[] = [];
  const check = (deployment: string, image: string) => {
    const c = byName.get(deployment);
    if (!c) return problems.push(`Deployment ${deployment} is gone`);
    if (c.image !== image) return problems.push(`Deployment ${deployment} runs ${c.image}, not ${image}`);
    const p = rolloutProgress(c);
    if (!p.done) problems.push(`Deployment ${deployment} is not rolled out (${p.text})`);
    return 0;
  };
  for (const e of step.expected) check(e.deployment, e.image);
  const target = step.everyMilvusDeploymentOn;
  if (target !== null) {
    const planned = new Set(step.expected.map((e) => e.deployment));
    // Another Deployment on the Milvus repository (one the plan did not know) must be on it too.
    for (const c of live) if (!planned.has(c.deployment) && c.image !== '' && sameRepository(c.image, target)) check(c.deployment, target);
  }
  if (problems.length > 0) {
    fail(problems[0]!, [...problems.slice(1), `see: kubectl -n ${ctx.namespace} get deployments -l app.kubernetes.io/instance=${ctx.release} -o wide`]);
  }
  return done(`${step.expected.length} Deployment${step.expected.length === 1 ? '' : 's'} rolled out${target ? ` and on ${target}` : ' on their images'}`);
}
