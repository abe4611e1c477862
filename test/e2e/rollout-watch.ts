/**
 * What the cluster itself says about an upgrade's order, for e2e assertions: the ReplicaSets the
 * Deployment controller creates, read from a watch (not from the bot's own log), and which
 * Deployments are paused.
 */
import { AppsV1Api, KubeConfig, Watch, type V1ReplicaSet } from '@kubernetes/client-node';
import { cluster } from './helpers.js';

export interface NewReplicaSet {
  readonly component: string;
  /** The Milvus image tag of its pod template, e.g. v2.6.15. */
  readonly tag: string;
}

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(cluster().kubeconfig);
  return kc;
}

/** Every ReplicaSet of the release created after the call, in creation order, until stop(). */
export async function watchNewReplicaSets(namespace: string, release: string): Promise<{ seen: NewReplicaSet[]; stop: () => void }> {
  const kc = kubeConfig();
  const existing = await kc.makeApiClient(AppsV1Api).listNamespacedReplicaSet({ namespace });
  const known = new Set(existing.items.map((rs) => rs.metadata?.uid));
  const seen: NewReplicaSet[] = [];
  const request = await new Watch(kc).watch(
    `/apis/apps/v1/namespaces/${namespace}/replicasets`,
    { resourceVersion: existing.metadata?.resourceVersion },
    (type: string, rs: V1ReplicaSet) => {
      if (type !== 'ADDED' || known.has(rs.metadata?.uid)) return;
      known.add(rs.metadata?.uid);
      const labels = rs.metadata?.labels ?? {};
      if (labels['app.kubernetes.io/instance'] !== release) return;
      const image = rs.spec?.template?.spec?.containers?.[0]?.image ?? '';
      seen.push({ component: labels.component ?? rs.metadata?.name ?? '?', tag: image.split(':').pop() ?? '' });
    },
    () => {},
  );
  return { seen, stop: () => request.abort() };
}

/** Components in the order their ReplicaSets on `tag` appeared. */
export const orderOn = (seen: readonly NewReplicaSet[], tag: string): string[] => seen.filter((s) => s.tag === tag).map((s) => s.component);

export async function pausedDeployments(namespace: string): Promise<string[]> {
  const list = await kubeConfig().makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace });
  return list.items.filter((d) => d.spec?.paused).map((d) => d.metadata?.name ?? '');
}
