/** The rolling upgrade (SPEC §6): one Deployment at a time, with the script's gaps filled. */
import { runningFlavour, type PlanSettings } from '../plan.js';
import { isCoordinator, rollOrder } from '../milvus/components.js';
import type { ComponentState, ReleaseState } from '../state.js';
import type { Step } from '../steps.js';
import { imageTag, type MilvusVersion } from '../milvus/version.js';
import { targetBack, targetOnto } from './targets.js';

/**
 * Every Milvus Deployment, in rolling order: by component, then by Deployment name. Keyed by
 * Deployment: resource groups (charts 5.0.16+) give several Deployments one component label
 * (`<fullname>-querynode`, `<fullname>-querynode-<group>`), and each must be upgraded.
 */
export function rollingComponents(state: Pick<ReleaseState, 'components'>): ComponentState[] {
  const order = rollOrder(state.components.map((c) => c.component));
  return [...state.components].sort((a, b) => order.indexOf(a.component) - order.indexOf(b.component) || byName(a.deployment, b.deployment));
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The closing check of a rolling plan: each Deployment rolled out and on the image it should run. */
export function verifyDeploymentsStep(
  expected: readonly { readonly deployment: string; readonly image: string }[],
  everyMilvusDeploymentOn: string | null,
): Step {
  return {
    kind: 'verify-deployments',
    expected: expected.map((e) => ({ deployment: e.deployment, image: e.image })),
    everyMilvusDeploymentOn,
    description: everyMilvusDeploymentOn
      ? `check that every Milvus Deployment (${expected.length}) is rolled out and on ${everyMilvusDeploymentOn}`
      : `check that every Deployment (${expected.length}) is rolled out and back on its previous image`,
  };
}

export function rollingSteps(
  state: ReleaseState,
  settings: PlanSettings,
  order: readonly ComponentState[],
  to: MilvusVersion,
): Step[] {
  const image = `${state.imageRepository}:${imageTag(to, runningFlavour(state))}`;
  const key = state.configUserKey ?? 'user.yaml';
  const steps: Step[] = [
    {
      kind: 'enable-active-standby',
      configMap: state.configMapName,
      key,
      description: `turn on active-standby for the coordinators in ConfigMap ${state.configMapName} (${key})`,
    },
  ];
  for (const c of order) {
    steps.push({
      kind: 'update-deployment',
      target: targetOnto(c, image, to, state.helm.revision),
      minReadySeconds: isCoordinator(c.component) ? settings.coordinatorMinReadySeconds : null,
      timeoutSeconds: settings.rolloutTimeoutSeconds,
      description: `${deploymentLabel(c)}: ${c.image} -> ${image}, rolling (${c.replicas} pod${c.replicas === 1 ? '' : 's'})`,
    });
  }
  steps.push(verifyDeploymentsStep(order.map((c) => ({ deployment: c.deployment, image })), image));
  return steps;
}

/** Puts a Deployment back on the image the bot recorded before changing it. */
export function revertDeploymentStep(
  c: Pick<ComponentState, 'component' | 'deployment' | 'image' | 'versionLabel' | 'previousImage' | 'previousVersionLabel'>,
  settings: Pick<PlanSettings, 'rolloutTimeoutSeconds'>,
): Step {
  const target = targetBack(c);
  return {
    kind: 'update-deployment',
    target,
    minReadySeconds: null,
    timeoutSeconds: settings.rolloutTimeoutSeconds,
    description: `${deploymentLabel(c)}: back to ${target.image}`,
  };
}

/** The rollback of a rolling upgrade: previous images in reverse order, then the closing check. */
export function revertDeploymentsSteps(
  marked: readonly ComponentState[],
  settings: Pick<PlanSettings, 'rolloutTimeoutSeconds'>,
): Step[] {
  const steps = [...rollingComponents({ components: marked })].reverse().map((c) => revertDeploymentStep(c, settings));
  const expected = steps.flatMap((s) => (s.kind === 'update-deployment' ? [{ deployment: s.target.deployment, image: s.target.image }] : []));
  return [...steps, verifyDeploymentsStep(expected, null)];
}

/** `querynode`, or `querynode (prod-milvus-querynode-rg1)` when the Deployment name says more. */
function deploymentLabel(c: Pick<ComponentState, 'component' | 'deployment'>): string {
  return c.deployment.endsWith(`-${c.component}`) ? c.component : `${c.component} (${c.deployment})`;
}
