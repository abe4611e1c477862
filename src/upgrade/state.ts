/** What the adapters observe of a release and its surroundings. Plain data, JSON-safe. */
import { isMilvusComponent } from './milvus/components.js';
import { canonicalRepository, repositoryOf, sameRepository } from './milvus/image-ref.js';

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
  /** The release's own labels (`helm install --labels`), helm's bookkeeping ones left out; absent where not read. */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface HelmRevisionInfo {
  readonly revision: number;
  readonly status: string;
  readonly chart: string;
  readonly appVersion: string;
  readonly description: string;
  /**
   * The Milvus image tag the revision's values give (`image.all.tag`, the person's over the
   * chart's): what it ran, where `appVersion` only says what its chart was built for. Absent
   * when helm's record was not read (the helm CLI's history).
   */
  readonly imageTag?: string | null;
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
  /** Pods the Deployment still has, old and new (status.replicas): Terminating pods are not counted there. */
  readonly currentReplicas: number;
  /**
   * Pods of the Deployment in graceful stop (deletionTimestamp set). They still serve: Milvus
   * components meet through etcd sessions, not Services (SPEC §9). Absent when not read (= 0).
   */
  readonly terminatingPods?: number;
  readonly generation: number;
  readonly observedGeneration: number;
  /**
   * The ConfigMap the pods mount as Milvus's user.yaml, and its key: `<fullname>`/`user.yaml`,
   * or with the chart's `customConfigMap` the named one/`milvus.yaml`. Absent when not read.
   */
  readonly config?: { readonly configMap: string; readonly key: string } | null;
  /** Left by an earlier rolling upgrade or migration of the bot: what to roll back to. */
  readonly previousImage: string | null;
  readonly previousVersionLabel: string | null;
  /** The helm revision when the mark was made; null for marks without one. */
  readonly markHelmRevision: number | null;
  /** spec.paused: nothing rolls out until it is resumed. Absent when not read (= false). */
  readonly paused?: boolean;
  /** What the bot's pause mark names (the ordered helm step that paused it), null when not the bot's. */
  readonly pausedBy?: string | null;
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
  /** The Deployments that run the release's Milvus image: the only ones any plan changes. */
  readonly components: readonly ComponentState[];
  /**
   * Deployments with the Milvus labels that run another image (Attu: `zilliz/attu`, component
   * `attu`; CDC, TEI...): no plan patches, stops or starts them; status shows them as left alone.
   */
  readonly others: readonly ComponentState[];
  readonly configMapName: string;
  /** The key of configMapName mounted as user.yaml (`milvus.yaml` for a customConfigMap). */
  readonly configUserKey?: string;
  /** From the release's config (`messageQueue:`), null when not found. */
  readonly messageQueue: string | null;
  /** `etcd.rootPath` of the release's config (where its metadata lives); null/absent when not found. */
  readonly etcdRootPath?: string | null;
  /** `metastore.type` of the release's config (`etcd`, `mysql`); null/absent when not found. */
  readonly metastore?: string | null;
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

/**
 * `kubectl rollout status`, and more: a Deployment is rolled out when every pod is new and ready
 * and no pod of it is still stopping (the API's status stops counting a pod once it terminates).
 */
export function rolloutProgress(c: ComponentState): { done: boolean; text: string } {
  if (c.observedGeneration < c.generation) {
    return { done: false, text: `${c.component}: waiting for the controller to see the change` };
  }
  if (c.updatedReplicas < c.replicas) {
    return { done: false, text: `${c.component}: ${c.updatedReplicas}/${c.replicas} pods updated` };
  }
  if (c.currentReplicas > c.updatedReplicas) {
    const old = c.currentReplicas - c.updatedReplicas;
    return { done: false, text: `${c.component}: ${old} old pod(s) still running` };
  }
  if ((c.terminatingPods ?? 0) > 0) {
    return { done: false, text: `${c.component}: ${c.terminatingPods} pod(s) in graceful stop` };
  }
  if (c.availableReplicas < c.updatedReplicas) {
    return {
      done: false,
      text: `${c.component}: ${c.availableReplicas}/${c.replicas} pods available`,
    };
  }
  return { done: true, text: `${c.component}: ${c.replicas}/${c.replicas} pods ready` };
}

/**
 * Splits a release's labelled Deployments into Milvus and the rest by image repository: the
 * repository is the proxy's (the standalone's), else the one most Milvus-named components run;
 * every Deployment on that repository is Milvus, whatever its component label says.
 */
export function splitByImage(deployments: readonly ComponentState[]): {
  imageRepository: string | null;
  milvus: ComponentState[];
  others: ComponentState[];
} {
  const imageRepository = milvusRepositoryOf(deployments);
  if (imageRepository === null) return { imageRepository, milvus: [], others: [...deployments] };
  const milvus: ComponentState[] = [];
  const others: ComponentState[] = [];
  for (const d of deployments) (d.image !== '' && sameRepository(d.image, imageRepository) ? milvus : others).push(d);
  return { imageRepository, milvus, others };
}

function milvusRepositoryOf(deployments: readonly ComponentState[]): string | null {
  const withImage = deployments.filter((d) => d.image !== '');
  const main = withImage.find((d) => d.component === 'proxy') ?? withImage.find((d) => d.component === 'standalone');
  if (main) return repositoryOf(main.image);
  const named = withImage.filter((d) => isMilvusComponent(d.component));
  const votes = new Map<string, { repository: string; n: number }>();
  for (const d of named) {
    const key = canonicalRepository(d.image);
    const v = votes.get(key) ?? { repository: repositoryOf(d.image), n: 0 };
    v.n += 1;
    votes.set(key, v);
  }
  let best: { repository: string; n: number } | null = null;
  for (const v of votes.values()) if (!best || v.n > best.n) best = v;
  return best?.repository ?? null;
}
