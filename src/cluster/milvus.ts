import { migrationNames, milvusFullname } from '../upgrade/milvus/names.js';
import type { KubeObject } from '../upgrade/objects.js';
import type { ReleaseObserver } from '../upgrade/ports.js';
import { splitByImage, type MigrationState, type ReleaseState, type ToolingState } from '../upgrade/state.js';
import { BACKUP_MARK } from '../upgrade/steps.js';
import type { HelmCliReleaseManager } from './helm.js';
import type { KubernetesClusterOps } from './kube.js';
import { parseHelmYaml, parsedFiles } from './helm-yaml.js';
import { configValueIn } from '../upgrade/milvus/data-settings.js';

/** Reads a release's real state from helm and the Kubernetes API (SPEC §3 and §4). */
export class HelmKubeReleaseObserver implements ReleaseObserver {
  private versions: { at: number; value: Promise<[string, string]> } | null = null;

  constructor(
    private readonly helm: HelmCliReleaseManager,
    private readonly kube: KubernetesClusterOps,
    private readonly clusterName: string,
    /** Tool versions change only with a deployment; a helm process per command is costly. */
    private readonly versionsTtlMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  async tooling(): Promise<ToolingState> {
    if (!this.versions || this.now() - this.versions.at > this.versionsTtlMs) {
      const entry = { at: this.now(), value: Promise.all([this.helm.version(), this.kube.serverVersion()]) };
      this.versions = entry;
      // A failed look-up is not kept: the next call tries again.
      entry.value.catch(() => {
        if (this.versions === entry) this.versions = null;
      });
    }
    const [[helmVersion, kubernetesVersion], repos] = await Promise.all([this.versions.value, this.helm.repos()]);
    return { helmVersion, kubernetesVersion, repos };
  }

  objects(namespace: string, release: string): Promise<KubeObject[]> {
    return this.kube.releaseObjects(namespace, release);
  }

  async release(namespace: string, release: string): Promise<ReleaseState | null> {
    const helm = await this.helm.release(namespace, release);
    if (!helm) return null;
    const [labelled, etcdEndpoint] = await Promise.all([
      this.kube.components(namespace, release),
      this.kube.etcdEndpoint(namespace, release),
    ]);
    // Attu and other helpers carry the Milvus labels too: only the Milvus image makes a component.
    const { imageRepository, milvus: components, others } = splitByImage(labelled);
    // The chart names Deployments <fullname>-<component> (resource groups add -<group>); reading
    // it back also honours fullnameOverride.
    const named = components.find((c) => c.deployment.endsWith(`-${c.component}`));
    const fullname = named ? named.deployment.slice(0, -(named.component.length + 1)) : milvusFullname(release);
    // The config the pods really mount: with customConfigMap there is no <fullname> ConfigMap.
    const mounted = (components.find((c) => c.component === 'proxy' && c.config) ?? components.find((c) => c.config))?.config ?? null;
    const configMapName = mounted?.configMap ?? fullname;
    const cm = await this.kube.configMap(namespace, configMapName);
    const names = migrationNames(release);
    const [migrationCm, replicasCm] = await Promise.all([
      this.kube.configMap(namespace, names.configMap),
      this.kube.configMap(namespace, names.replicasConfigMap),
    ]);
    return {
      cluster: this.clusterName,
      namespace,
      release,
      helm,
      fullname,
      mode: components.some((c) => c.component === 'standalone') ? 'standalone' : 'cluster',
      components,
      others,
      configMapName,
      configUserKey: mounted?.key ?? 'user.yaml',
      messageQueue: cm ? messageQueueOf(cm.data, mounted?.key) : null,
      etcdRootPath: cm ? etcdRootPathOf(cm.data, mounted?.key) : null,
      metastore: cm ? metastoreOf(cm.data, mounted?.key) : null,
      etcdEndpoint,
      imageRepository: imageRepository ?? 'milvusdb/milvus',
      migration: migrationCm ? migrationStateOf(names.configMap, migrationCm.data, migrationCm.annotations) : null,
      savedReplicas: replicasCm ? Object.fromEntries(Object.entries(replicasCm.data).map(([k, v]) => [k, Number(v)])) : null,
    };
  }
}

/**
 * `messageQueue:` from the key the pods mount as user.yaml, else user.yaml, default.yaml (user
 * settings win, as in Milvus).
 */
export function messageQueueOf(data: Readonly<Record<string, string>>, userKey = 'user.yaml'): string | null {
  return configStringOf(data, userKey, 'messageQueue');
}

/** `etcd.rootPath` as the pods read it: where the release's metadata lives in etcd. */
export function etcdRootPathOf(data: Readonly<Record<string, string>>, userKey = 'user.yaml'): string | null {
  return configStringOf(data, userKey, 'etcd.rootPath');
}

/** `metastore.type` as the pods read it (`etcd`, or `mysql` on charts that offered it). */
export function metastoreOf(data: Readonly<Record<string, string>>, userKey = 'user.yaml'): string | null {
  return configStringOf(data, userKey, 'metastore.type');
}

/** A string setting, read with the domain's precedence (configValueIn); a file we cannot parse says nothing. */
function configStringOf(data: Readonly<Record<string, string>>, userKey: string, key: string): string | null {
  const value = configValueIn(parsedFiles(data), userKey, key, (v) => typeof v === 'string');
  return typeof value === 'string' ? value : null;
}


function migrationStateOf(name: string, data: Readonly<Record<string, string>>, annotations: Readonly<Record<string, string>>): MigrationState {
  let sourceVersion: string | null = null;
  let targetVersion: string | null = null;
  try {
    const doc = parseHelmYaml(data['migration.yaml'] ?? '') as { config?: { sourceVersion?: unknown; targetVersion?: unknown } } | null;
    if (doc?.config?.sourceVersion != null) sourceVersion = String(doc.config.sourceVersion);
    if (doc?.config?.targetVersion != null) targetVersion = String(doc.config.targetVersion);
  } catch {
    // Versions unknown: the rollback planner says so.
  }
  return { configMap: name, backupDone: annotations[BACKUP_MARK.key] === BACKUP_MARK.value, sourceVersion, targetVersion };
}
