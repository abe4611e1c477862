/**
 * What the cluster itself says about an upgrade's order, for e2e assertions: the ReplicaSets the
 * Deployment controller creates, read from a watch (not from the bot's own log), and which
 * Deployments are paused.
 */
import { AppsV1Api, CoreV1Api, KubeConfig, Watch, type V1Pod, type V1ReplicaSet } from '@kubernetes/client-node';
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

export interface PodEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly name: string;
  readonly component: string;
  /** The Milvus image tag of its first container, e.g. v2.6.15. */
  readonly tag: string;
  /** deletionTimestamp set: in graceful stop, still running (and still serving Milvus). */
  readonly terminating: boolean;
  readonly phase: string;
}

/**
 * Every pod event of the release (null: of the namespace, the migration's pods too) after the
 * call, in order, until stop(): what a kubelet's pods did.
 */
export async function watchPods(namespace: string, release: string | null): Promise<{ events: PodEvent[]; stop: () => void }> {
  const kc = kubeConfig();
  const labelSelector = release === null ? undefined : `app.kubernetes.io/instance=${release}`;
  const existing = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace, labelSelector });
  const events: PodEvent[] = [];
  const toEvent = (type: PodEvent['type'], pod: V1Pod): PodEvent => ({
    type,
    name: pod.metadata?.name ?? '?',
    component: pod.metadata?.labels?.component ?? '?',
    tag: (pod.spec?.containers?.[0]?.image ?? '').split(':').pop() ?? '',
    terminating: Boolean(pod.metadata?.deletionTimestamp),
    phase: pod.status?.phase ?? '',
  });
  // The pods already there count as added first, so a replay knows every pod alive.
  for (const pod of existing.items) events.push(toEvent('ADDED', pod));
  const request = await new Watch(kc).watch(
    `/api/v1/namespaces/${namespace}/pods`,
    { resourceVersion: existing.metadata?.resourceVersion, ...(labelSelector ? { labelSelector } : {}) },
    (type: string, pod: V1Pod) => {
      if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') events.push(toEvent(type, pod));
    },
    () => {},
  );
  return { events, stop: () => request.abort() };
}

/** The pods alive (terminating included) just after `events[index]`, by name. */
export function podsAliveAt(events: readonly PodEvent[], index: number): Map<string, PodEvent> {
  const alive = new Map<string, PodEvent>();
  for (const e of events.slice(0, index + 1)) {
    if (e.type === 'DELETED') alive.delete(e.name);
    else alive.set(e.name, e);
  }
  return alive;
}
