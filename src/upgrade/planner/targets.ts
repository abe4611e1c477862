/**
 * What a plan that patches Deployments itself (rolling, the migration's restart) writes to each:
 * the new image with a record of the old one, or, going back, the image that record names.
 */
import type { ComponentState } from '../state.js';
import type { DeploymentTarget } from '../steps.js';
import { versionOfImage, type MilvusVersion } from '../milvus/version.js';

/** Onto `image` (Milvus `to`), recording what the Deployment runs now at helm revision `helmRevision`. */
export function targetOnto(c: ComponentState, image: string, to: MilvusVersion, helmRevision: number): DeploymentTarget {
  return {
    component: c.component,
    deployment: c.deployment,
    image,
    versionLabel: to.text,
    recordPrevious: { image: c.image, versionLabel: c.versionLabel, helmRevision },
  };
}

/** Back onto the image the bot recorded before changing the Deployment; the record is cleared. */
export function targetBack(
  c: Pick<ComponentState, 'component' | 'deployment' | 'image' | 'versionLabel' | 'previousImage' | 'previousVersionLabel'>,
): DeploymentTarget {
  // At plan time of an upgrade the "previous" is the image running now.
  const image = c.previousImage ?? c.image;
  // The label of the image being put back; the live label already names the new version.
  const versionLabel = c.previousVersionLabel ?? versionOfImage(image)?.text ?? c.versionLabel ?? '';
  return { component: c.component, deployment: c.deployment, image, versionLabel, recordPrevious: null };
}
