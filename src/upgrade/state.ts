/** What the adapters observe of a release and its surroundings. Plain data, JSON-safe. */

export const COORDINATORS = ['rootcoord', 'datacoord', 'querycoord', 'indexcoord', 'mixcoord'] as const;

export interface HelmReleaseInfo {
  readonly name: string;
  readonly namespace: string;
  readonly revision: number;
  /** `deployed`, `failed`, `pending-upgrade`, ... */
  readonly status: string;
  /** e.g. `milvus-4.1.24` */
  readonly chart: string;
  readonly chartVersion: string;
  readonly appVersion: string;
}

export interface HelmRevisionInfo {
  readonly revision: number;
  readonly status: string;
  readonly chart: string;
  readonly appVersion: string;
  readonly description: string;
}

export interface ComponentState {
  readonly component: string;
  readonly deployment: string;
  /** Image of the container named after the component. */
  readonly image: string;
  /** The app.kubernetes.io/version label on the pod template. */
  readonly versionLabel: string | null;
  readonly strategy: string;
  readonly replicas: number;
  readonly readyReplicas: number;
  readonly updatedReplicas: number;
  readonly availableReplicas: number;
  /** Pods the Deployment still has, old and new (status.replicas). */
  readonly currentReplicas: number;
  readonly generation: number;
  readonly observedGeneration: number;
  /** Left by an earlier rolling upgrade or migration of the bot: what to roll back to. */
  readonly previousImage: string | null;
  readonly previousVersionLabel: string | null;
  /** The helm revision when the mark was made; null for marks without one. */
  readonly markHelmRevision: number | null;
}

/** The meta-migration resources of a release, when a migration was started. */
export interface MigrationState {
  readonly configMap: string;
  readonly backupDone: boolean;
  readonly sourceVersion: string | null;
  readonly targetVersion: string | null;
}

export interface ReleaseState {
  readonly cluster: string;
  readonly namespace: string;
  readonly release: string;
  readonly helm: HelmReleaseInfo;
  readonly fullname: string;
  readonly mode: 'cluster' | 'standalone';
  readonly components: readonly ComponentState[];
  readonly configMapName: string;
  /** From the release's config (`messageQueue:`), null when not found. */
  readonly messageQueue: string | null;
  /** `<svc>.<ns>:2379`-style endpoint of the release's etcd client Service, if any. */
  readonly etcdEndpoint: string | null;
  /** The image repository in use, e.g. `milvusdb/milvus`. */
  readonly imageRepository: string;
  readonly migration: MigrationState | null;
  /** Saved replica counts of a migration in progress (`milvus-deploy-replicas-<release>`). */
  readonly savedReplicas: Readonly<Record<string, number>> | null;
}

export interface ToolingState {
  readonly helmVersion: string;
  readonly kubernetesVersion: string;
  /** Chart repositories helm knows: name -> URL. */
  readonly repos: Readonly<Record<string, string>>;
}

/** Mirrors `kubectl rollout status`: a Deployment is rolled out when every pod is new and ready. */
export function rolloutProgress(c: ComponentState): { done: boolean; text: string } {
  if (c.observedGeneration < c.generation) {
    return { done: false, text: `${c.component}: waiting for the controller to see the change` };
  }
  if (c.updatedReplicas < c.replicas) {
    return { done: false, text: `${c.component}: ${c.updatedReplicas}/${c.replicas} pods updated` };
  }
  if (c.currentReplicas > c.updatedReplicas) {
    const old = c.currentReplicas - c.updatedReplicas;
    return { done: false, text: `${c.component}: ${old} old pod(s) terminating` };
  }
  if (c.availableReplicas < c.updatedReplicas) {
    return {
      done: false,
      text: `${c.component}: ${c.availableReplicas}/${c.replicas} pods available`,
    };
  }
  return { done: true, text: `${c.component}: ${c.replicas}/${c.replicas} pods ready` };
}

export function isCoordinator(component: string): boolean {
  return (COORDINATORS as readonly string[]).includes(component);
}
