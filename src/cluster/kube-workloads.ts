/**
 * What runs: a release's Deployments and pods, read and patched over the Kubernetes API, and the
 * objects it is made of. The ConfigMaps, PVCs and pods a migration creates are kube.ts's.
 */
import * as k8s from '@kubernetes/client-node';
import { makeApiClient } from './kube-client.js';
import { api, orNull, strategic } from './kube-api.js';
import type { DeploymentChange, PodHealth, StatefulSetRollout } from '../upgrade/ports.js';
import type { KubeObject } from '../upgrade/objects.js';
import type { ComponentState } from '../upgrade/state.js';
import { MARK_HELM_REVISION_ANNOTATION, PAUSED_BY_BOT_ANNOTATION, PAUSED_BY_BOT_LABEL, PREVIOUS_IMAGE_ANNOTATION, PREVIOUS_VERSION_ANNOTATION } from '../upgrade/steps.js';
import { releasePodSelector } from '../upgrade/milvus/names.js';

/** True when every matchLabels pair of the Deployment's selector is on the pod. */
function selects(d: k8s.V1Deployment, pod: k8s.V1Pod): boolean {
  const want = d.spec?.selector?.matchLabels ?? {};
  const have = pod.metadata?.labels ?? {};
  return Object.keys(want).length > 0 && Object.entries(want).every(([k, v]) => have[k] === v);
}

/** The Deployment's pods in graceful stop: its status no longer counts them, yet they still run. */
function terminatingOf(d: k8s.V1Deployment, pods: readonly k8s.V1Pod[]): number {
  return pods.filter((p) => p.metadata?.deletionTimestamp && selects(d, p)).length;
}

export function componentOf(d: k8s.V1Deployment, pods: readonly k8s.V1Pod[] = []): ComponentState {
  const labels = d.spec?.template?.metadata?.labels ?? {};
  const component = labels.component ?? d.metadata?.labels?.component ?? d.metadata?.name ?? '';
  const containers = d.spec?.template?.spec?.containers ?? [];
  const container = containers.find((c) => c.name === component) ?? containers[0];
  const annotations = d.metadata?.annotations ?? {};
  return {
    config: mountedConfig(d, container),
    component,
    deployment: d.metadata?.name ?? '',
    image: container?.image ?? '',
    versionLabel: labels['app.kubernetes.io/version'] ?? null,
    strategy: d.spec?.strategy?.type ?? 'RollingUpdate',
    replicas: d.spec?.replicas ?? 1,
    readyReplicas: d.status?.readyReplicas ?? 0,
    updatedReplicas: d.status?.updatedReplicas ?? 0,
    availableReplicas: d.status?.availableReplicas ?? 0,
    currentReplicas: d.status?.replicas ?? 0,
    terminatingPods: terminatingOf(d, pods),
    generation: d.metadata?.generation ?? 0,
    observedGeneration: d.status?.observedGeneration ?? 0,
    previousImage: annotations[PREVIOUS_IMAGE_ANNOTATION] ?? null,
    previousVersionLabel: annotations[PREVIOUS_VERSION_ANNOTATION] ?? null,
    markHelmRevision: annotations[MARK_HELM_REVISION_ANNOTATION] ? Number(annotations[MARK_HELM_REVISION_ANNOTATION]) : null,
    paused: d.spec?.paused === true,
    pausedBy: annotations[PAUSED_BY_BOT_ANNOTATION] ?? null,
  };
}

/**
 * The ConfigMap mounted at /milvus/configs/user.yaml (the chart: volume `milvus-config`, the
 * `<fullname>` ConfigMap's user.yaml, or with `customConfigMap` that one's milvus.yaml).
 */
function mountedConfig(d: k8s.V1Deployment, container: k8s.V1Container | undefined): { configMap: string; key: string } | null {
  const volumes = d.spec?.template?.spec?.volumes ?? [];
  const mount = container?.volumeMounts?.find((m) => m.mountPath.replace(/\/+$/, '') === '/milvus/configs/user.yaml');
  const volume = volumes.find((v) => v.name === (mount?.name ?? 'milvus-config'));
  const name = volume?.configMap?.name;
  if (!name) return null;
  return { configMap: name, key: mount?.subPath || 'user.yaml' };
}

export function milvusSelector(release: string): string {
  return releasePodSelector(release);
}

/** Deployments and pods over the Kubernetes API: the half of ClusterOps that reads and moves workloads. */
export class KubeWorkloads {
  protected readonly apps: k8s.AppsV1Api;
  protected readonly core: k8s.CoreV1Api;
  protected readonly storage: k8s.StorageV1Api;
  private readonly versionApi: k8s.VersionApi;

  constructor(readonly kubeConfig: k8s.KubeConfig) {
    // Keep-alive clients: the stock ones open a TLS connection per request (kube-client.ts).
    this.apps = makeApiClient(kubeConfig, k8s.AppsV1Api);
    this.core = makeApiClient(kubeConfig, k8s.CoreV1Api);
    this.storage = makeApiClient(kubeConfig, k8s.StorageV1Api);
    this.versionApi = makeApiClient(kubeConfig, k8s.VersionApi);
  }

  async serverVersion(): Promise<string> {
    const v = await api('reading the server version', () => this.versionApi.getCode());
    return v.gitVersion;
  }

  async components(namespace: string, release: string): Promise<ComponentState[]> {
    const list = await api(`listing the Deployments of ${release}`, () => this.apps.listNamespacedDeployment({ namespace, labelSelector: milvusSelector(release) }));
    // Pods after Deployments, never together: a pod the status has stopped counting was already
    // terminating when this list is read, so no stopping pod falls between the two reads.
    const pods = await api(`listing the pods of ${release}`, () => this.core.listNamespacedPod({ namespace, labelSelector: milvusSelector(release) }));
    return list.items.map((d) => componentOf(d, pods.items)).sort((a, b) => a.deployment.localeCompare(b.deployment));
  }

  async component(namespace: string, deployment: string): Promise<ComponentState | null> {
    const d = await orNull(`reading Deployment ${deployment}`, () => this.apps.readNamespacedDeployment({ name: deployment, namespace }));
    if (!d) return null;
    // After the Deployment, as in components().
    const matchLabels = d.spec?.selector?.matchLabels ?? {};
    const labelSelector = Object.entries(matchLabels).map(([k, v]) => `${k}=${v}`).join(',');
    if (!labelSelector) return componentOf(d);
    const pods = await api(`listing the pods of Deployment ${deployment}`, () => this.core.listNamespacedPod({ namespace, labelSelector }));
    return componentOf(d, pods.items);
  }

  async statefulSet(namespace: string, name: string): Promise<StatefulSetRollout | null> {
    const s = await orNull(`reading StatefulSet ${name}`, () => this.apps.readNamespacedStatefulSet({ name, namespace }));
    if (!s) return null;
    return {
      name,
      replicas: s.spec?.replicas ?? 1,
      readyReplicas: s.status?.readyReplicas ?? 0,
      updatedReplicas: s.status?.updatedReplicas ?? 0,
      currentRevision: s.status?.currentRevision ?? '',
      updateRevision: s.status?.updateRevision ?? '',
      generation: s.metadata?.generation ?? 0,
      observedGeneration: s.status?.observedGeneration ?? 0,
    };
  }

  async deleteDeployment(namespace: string, deployment: string): Promise<void> {
    await orNull(`deleting Deployment ${deployment}`, () => this.apps.deleteNamespacedDeployment({ name: deployment, namespace, propagationPolicy: 'Foreground' }));
  }

  async patchDeployment(namespace: string, deployment: string, change: DeploymentChange): Promise<void> {
    const spec: Record<string, unknown> = {};
    const template: Record<string, unknown> = {};
    if (change.replicas !== undefined) spec.replicas = change.replicas;
    if (change.rollingUpdate) spec.strategy = { type: 'RollingUpdate' };
    if (change.minReadySeconds !== undefined) spec.minReadySeconds = change.minReadySeconds;
    if (change.image !== undefined) {
      template.spec = { containers: [{ name: change.container, image: change.image }] };
    }
    if (change.versionLabel !== undefined) {
      template.metadata = { labels: { 'app.kubernetes.io/version': change.versionLabel } };
    }
    if (Object.keys(template).length > 0) spec.template = template;
    const body: Record<string, unknown> = { spec };
    const metadata: Record<string, unknown> = {};
    if (change.versionLabel !== undefined) metadata.labels = { 'app.kubernetes.io/version': change.versionLabel };
    if (change.annotations) metadata.annotations = change.annotations;
    if (Object.keys(metadata).length > 0) body.metadata = metadata;
    await api(`patching Deployment ${deployment}`, () =>
      this.apps.patchNamespacedDeployment({ name: deployment, namespace, body }, strategic),
    );
  }

  async setPaused(namespace: string, deployment: string, paused: boolean, mark: string | null): Promise<void> {
    // One merge patch: the pause and the bot's mark (annotation and label) change together, so a
    // mark never names a running Deployment.
    const body = { metadata: { annotations: { [PAUSED_BY_BOT_ANNOTATION]: mark }, labels: { [PAUSED_BY_BOT_LABEL]: mark === null ? null : 'true' } }, spec: { paused } };
    await api(`${paused ? 'pausing' : 'resuming'} Deployment ${deployment}`, () =>
      this.apps.patchNamespacedDeployment({ name: deployment, namespace, body }, strategic),
    );
  }

  async releasesPausedByBot(namespace: string): Promise<string[]> {
    const list = await api(`listing the Deployments paused by the bot in ${namespace}`, () =>
      this.apps.listNamespacedDeployment({ namespace, labelSelector: PAUSED_BY_BOT_LABEL }),
    );
    const releases = list.items.map((d) => d.metadata?.labels?.['app.kubernetes.io/instance']).filter((r): r is string => !!r);
    return [...new Set(releases)].sort();
  }

  async countPods(namespace: string, labelSelector: string): Promise<number> {
    const list = await api('listing pods', () => this.core.listNamespacedPod({ namespace, labelSelector }));
    return list.items.length;
  }

  async podsHealth(namespace: string, release: string): Promise<PodHealth[]> {
    const list = await api(`listing the pods of ${release}`, () => this.core.listNamespacedPod({ namespace, labelSelector: milvusSelector(release) }));
    return list.items
      .filter((p) => !p.metadata?.deletionTimestamp)
      .map(podHealthOf)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async podLogTail(namespace: string, name: string, lines: number): Promise<string> {
    try {
      const log = await this.core.readNamespacedPodLog({ name, namespace, tailLines: lines });
      return String(log).trim() || '(empty log)';
    } catch (err) {
      return `(log not available: ${err instanceof Error ? err.message.split('\n')[0] : String(err)})`;
    }
  }

  /**
   * The release's Deployments, StatefulSets and PVCs: Milvus's own (app.kubernetes.io/instance)
   * and its dependencies' (pulsar and minio label theirs `release=`), plus the PVCs its
   * StatefulSets made from their templates (which may carry neither label).
   */
  async releaseObjects(namespace: string, release: string): Promise<KubeObject[]> {
    const selectors = [`app.kubernetes.io/instance=${release}`, `release=${release}`];
    const [deployments, statefulSets, pvcs] = await Promise.all([
      Promise.all(selectors.map((labelSelector) => api(`listing the Deployments of ${release}`, () => this.apps.listNamespacedDeployment({ namespace, labelSelector })))),
      Promise.all(selectors.map((labelSelector) => api(`listing the StatefulSets of ${release}`, () => this.apps.listNamespacedStatefulSet({ namespace, labelSelector })))),
      api(`listing the PVCs of ${namespace}`, () => this.core.listNamespacedPersistentVolumeClaim({ namespace })),
    ]);
    const out = new Map<string, KubeObject>();
    const add = (kind: string, o: { metadata?: k8s.V1ObjectMeta; spec?: unknown }) => {
      const name = o.metadata?.name;
      if (name) out.set(`${kind}/${name}`, { apiVersion: kind === 'PersistentVolumeClaim' ? 'v1' : 'apps/v1', kind, metadata: { name, labels: o.metadata?.labels ?? {} }, spec: o.spec });
    };
    for (const list of deployments) for (const d of list.items) add('Deployment', d);
    for (const list of statefulSets) for (const s of list.items) add('StatefulSet', s);
    const claimPrefixes = [...out.values()]
      .filter((o) => o.kind === 'StatefulSet')
      .flatMap((o) => ((o.spec as k8s.V1StatefulSetSpec | undefined)?.volumeClaimTemplates ?? []).map((t) => `${t.metadata?.name}-${o.metadata.name}-`));
    for (const pvc of pvcs.items) {
      const labels = pvc.metadata?.labels ?? {};
      const name = pvc.metadata?.name ?? '';
      const ours = labels['app.kubernetes.io/instance'] === release || labels.release === release || claimPrefixes.some((p) => name.startsWith(p) && /^\d+$/.test(name.slice(p.length)));
      if (ours) add('PersistentVolumeClaim', pvc);
    }
    return [...out.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.metadata.name.localeCompare(b.metadata.name));
  }

  /** The release's etcd client endpoint: the non-headless etcd Service's port named `client`. */
  async etcdEndpoint(namespace: string, release: string): Promise<string | null> {
    const list = await api('listing Services', () =>
      this.core.listNamespacedService({ namespace, labelSelector: `app.kubernetes.io/name=etcd,app.kubernetes.io/instance=${release}` }),
    );
    for (const svc of list.items) {
      if (svc.spec?.clusterIP === 'None') continue;
      const port = svc.spec?.ports?.find((p) => p.name === 'client');
      if (port) return `${svc.metadata?.name}.${namespace}:${port.port}`;
    }
    return null;
  }
}

/**
 * What the health gate reads of a pod: Ready is the pod's condition (the chart's readiness probe
 * is Milvus's /healthz), not the phase; a container waiting names why (CrashLoopBackOff...); the
 * last termination tells a restart during the hop from an older one.
 */
export function podHealthOf(p: k8s.V1Pod): PodHealth {
  return {
    name: p.metadata?.name ?? '',
    component: p.metadata?.labels?.component ?? '',
    ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    phase: p.status?.phase ?? 'Unknown',
    containers: (p.status?.containerStatuses ?? []).map((c) => ({
      name: c.name,
      ready: c.ready,
      restartCount: c.restartCount,
      waitingReason: c.state?.waiting?.reason ?? null,
      lastTerminatedAt: c.lastState?.terminated?.finishedAt ? new Date(c.lastState.terminated.finishedAt).getTime() : null,
    })),
  };
}
