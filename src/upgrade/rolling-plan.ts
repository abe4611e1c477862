/** The rolling upgrade (SPEC §6): one Deployment at a time, with the script's gaps filled. */
import type { PlanSettings } from './plan.js';
import { isCoordinator, type ComponentState, type ReleaseState } from './state.js';
import type { DeploymentTarget, Step } from './steps.js';
import { imageTag, versionOfImage, type MilvusVersion } from './version.js';

/** Update order of the rolling script, with mixcoord and streamingnode added where they belong. */
export const ROLLING_ORDER = [
  'mixcoord',
  'rootcoord',
  'datacoord',
  'indexcoord',
  'querycoord',
  'indexnode',
  'datanode',
  'streamingnode',
  'querynode',
  'proxy',
  'standalone',
] as const;

export function rollingComponents(state: ReleaseState): ComponentState[] {
  const byName = new Map(state.components.map((c) => [c.component, c]));
  const known = ROLLING_ORDER.map((n) => byName.get(n)).filter((c): c is ComponentState => !!c);
  // Components this bot does not know yet (a future chart) go last, so none is left behind.
  const unknown = state.components.filter((c) => !(ROLLING_ORDER as readonly string[]).includes(c.component));
  return [...known, ...unknown];
}

export function rollingSteps(
  state: ReleaseState,
  settings: PlanSettings,
  order: readonly ComponentState[],
  to: MilvusVersion,
): Step[] {
  const image = `${state.imageRepository}:${imageTag(to)}`;
  const steps: Step[] = [
    {
      kind: 'enable-active-standby',
      configMap: state.configMapName,
      key: 'user.yaml',
      description: `turn on active-standby for the coordinators in ConfigMap ${state.configMapName} (user.yaml)`,
    },
  ];
  for (const c of order) {
    const target: DeploymentTarget = {
      component: c.component,
      deployment: c.deployment,
      image,
      versionLabel: to.text,
      recordPrevious: { image: c.image, versionLabel: c.versionLabel, helmRevision: state.helm.revision },
    };
    steps.push({
      kind: 'update-deployment',
      target,
      minReadySeconds: isCoordinator(c.component) ? settings.coordinatorMinReadySeconds : null,
      timeoutSeconds: settings.rolloutTimeoutSeconds,
      description: `${c.component}: ${c.image} -> ${image}, rolling (${c.replicas} pod${c.replicas === 1 ? '' : 's'})`,
    });
  }
  return steps;
}

/** Puts a Deployment back on the image the bot recorded before changing it. */
export function revertDeploymentStep(
  c: Pick<ComponentState, 'component' | 'deployment' | 'image' | 'versionLabel' | 'previousImage' | 'previousVersionLabel'>,
  settings: Pick<PlanSettings, 'rolloutTimeoutSeconds'>,
): Step {
  // At plan time of an upgrade the "previous" is the image running now.
  const image = c.previousImage ?? c.image;
  // The label of the image being put back; the live label already names the new version.
  const versionLabel = c.previousVersionLabel ?? versionOfImage(image)?.text ?? c.versionLabel ?? '';
  return {
    kind: 'update-deployment',
    target: { component: c.component, deployment: c.deployment, image, versionLabel, recordPrevious: null },
    minReadySeconds: null,
    timeoutSeconds: settings.rolloutTimeoutSeconds,
    description: `${c.component}: back to ${image}`,
  };
}
