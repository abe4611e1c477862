/**
 * ClusterOps over the Kubernetes API: the workloads (kube-workloads.ts) and what a migration
 * creates beside them, its ConfigMaps, its backup PVC and its pod.
 */
import type { ClusterOps, ConfigMapInfo, MetaMigrationPodSpec, PodPhase } from '../upgrade/ports.js';
import { editConfigFile } from './config-file.js';
import { api, merge, orNull, statusOf } from './kube-api.js';
import { KubeWorkloads } from './kube-workloads.js';

export class KubernetesClusterOps extends KubeWorkloads implements ClusterOps {
  async configMap(namespace: string, name: string): Promise<ConfigMapInfo | null> {
    const cm = await orNull(`reading ConfigMap ${name}`, () => this.core.readNamespacedConfigMap({ name, namespace }));
    if (!cm) return null;
    return { data: cm.data ?? {}, annotations: cm.metadata?.annotations ?? {} };
  }

  async createConfigMap(namespace: string, name: string, data: Record<string, string>, annotations?: Record<string, string>): Promise<boolean> {
    try {
      await this.core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name, annotations, labels: { 'app.kubernetes.io/managed-by': 'milvus-upgrade-bot' } }, data },
      });
      return true;
    } catch (err) {
      if (statusOf(err) === 409) return false;
      return api(`creating ConfigMap ${name}`, () => Promise.reject(err));
    }
  }

  async replaceConfigMapData(namespace: string, name: string, data: Record<string, string>): Promise<void> {
    await api(`updating ConfigMap ${name}`, () =>
      this.core.patchNamespacedConfigMap({ name, namespace, body: { data } }, merge),
    );
  }

  async setConfigFlag(namespace: string, name: string, key: string, sections: readonly string[], flag: string): Promise<readonly string[] | null> {
    const cm = await this.configMap(namespace, name);
    if (!cm) return null;
    const edit = editConfigFile(cm.data[key] ?? '', sections, flag, `${key} in ConfigMap ${name} (namespace ${namespace})`);
    if (edit.changed.length > 0) await this.replaceConfigMapData(namespace, name, { ...cm.data, [key]: edit.text });
    return edit.changed;
  }

  async annotateConfigMap(namespace: string, name: string, annotations: Record<string, string>): Promise<void> {
    await api(`annotating ConfigMap ${name}`, () =>
      this.core.patchNamespacedConfigMap({ name, namespace, body: { metadata: { annotations } } }, merge),
    );
  }

  async deleteConfigMap(namespace: string, name: string): Promise<void> {
    await orNull(`deleting ConfigMap ${name}`, () => this.core.deleteNamespacedConfigMap({ name, namespace }));
  }

  async storageClassExists(name: string | null): Promise<boolean> {
    if (name) return (await orNull(`reading storage class ${name}`, () => this.storage.readStorageClass({ name }))) !== null;
    const list = await api('listing storage classes', () => this.storage.listStorageClass());
    return list.items.some((sc) => sc.metadata?.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true');
  }

  async ensurePvc(namespace: string, name: string, storageClass: string | null, size: string): Promise<void> {
    try {
      await this.core.createNamespacedPersistentVolumeClaim({
        namespace,
        body: {
          metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'milvus-upgrade-bot' } },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: size } },
            ...(storageClass ? { storageClassName: storageClass } : {}),
          },
        },
      });
    } catch (err) {
      if (statusOf(err) === 409) return;
      await api(`creating PVC ${name}`, () => Promise.reject(err));
    }
  }

  async deletePvc(namespace: string, name: string): Promise<void> {
    await orNull(`deleting PVC ${name}`, () => this.core.deleteNamespacedPersistentVolumeClaim({ name, namespace }));
  }

  async podPhase(namespace: string, name: string): Promise<PodPhase | null> {
    const pod = await orNull(`reading pod ${name}`, () => this.core.readNamespacedPod({ name, namespace }));
    if (!pod) return null;
    return (pod.status?.phase as PodPhase | undefined) ?? 'Pending';
  }

  async createMetaMigrationPod(namespace: string, spec: MetaMigrationPodSpec): Promise<void> {
    try {
      await this.core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name: spec.name, labels: { ...spec.labels } },
          spec: {
            restartPolicy: 'Never',
            containers: [
              {
                name: 'meta-migration',
                image: spec.image,
                command: ['/milvus/bin/meta-migration', `-config=/milvus/configs/meta/${spec.configFile}`],
                volumeMounts: [
                  { name: 'backup', mountPath: '/milvus/data' },
                  { name: 'config', mountPath: '/milvus/configs/meta' },
                ],
              },
            ],
            volumes: [
              { name: 'backup', persistentVolumeClaim: { claimName: spec.pvc } },
              { name: 'config', configMap: { name: spec.configMap } },
            ],
          },
        },
      });
    } catch (err) {
      if (statusOf(err) === 409) return;
      await api(`creating pod ${spec.name}`, () => Promise.reject(err));
    }
  }

  async deletePod(namespace: string, name: string): Promise<void> {
    await orNull(`deleting pod ${name}`, () => this.core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }));
  }
}
