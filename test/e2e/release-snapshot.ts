/**
 * What a release holds on the cluster, for before/after assertions in end-to-end tests: EVERY
 * Deployment, StatefulSet and PersistentVolumeClaim of the release, Milvus or not, and its
 * ConfigMaps' files (the rendered Milvus config: where the data is, which queue).
 *
 * An object belongs to the release when any of these holds (the real chart's subcharts label
 * differently, so one selector is not enough):
 *   - label app.kubernetes.io/instance=<release> (Milvus, attu, etcd, kafka, zookeeper);
 *   - label release=<release> (minio, pulsar v2/v3);
 *   - its name is <release> or starts with "<release>-";
 *   - PVCs also: named <template>-<statefulset>-<n> after a StatefulSet of the release.
 *
 *   const before = await snapshotRelease(kubeconfig, ns, 'my-release');
 *   ... upgrade ...
 *   const diff = diffSnapshots(before, await snapshotRelease(kubeconfig, ns, 'my-release'));
 *   expect(diff.filter((d) => d.field !== 'image').map((d) => d.text)).toEqual([]);
 *   // Config changes are a diff of their own (an upgrade's config moves on purpose: active-standby...):
 *   expect(diffConfigs(before, after).map((d) => d.text)).toEqual([]);
 */
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  type V1Container,
  type V1ObjectMeta,
  type V1PersistentVolumeClaim,
} from '@kubernetes/client-node';
import { parseHelmYaml } from '../../src/cluster/helm-yaml.js';

export interface WorkloadSnapshot {
  readonly kind: 'Deployment' | 'StatefulSet';
  readonly name: string;
  /** spec.replicas (1 when unset, the API default). */
  readonly replicas: number;
  /** Container name -> image (regular containers only). */
  readonly images: Readonly<Record<string, string>>;
  /** Init container name -> image. */
  readonly initImages: Readonly<Record<string, string>>;
  /** Names of the StatefulSet's volumeClaimTemplates (empty for Deployments). */
  readonly volumeClaimTemplates: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  /** A new uid under the same name: the object was deleted and created again. */
  readonly uid: string;
}

export interface PvcSnapshot {
  readonly kind: 'PersistentVolumeClaim';
  readonly name: string;
  readonly phase: string;
  readonly storageClassName: string;
  readonly volumeName: string;
  readonly size: string;
  readonly uid: string;
}

export interface ConfigSnapshot {
  readonly kind: 'ConfigMap';
  readonly name: string;
  /** Each file (data key) as written. */
  readonly files: Readonly<Record<string, string>>;
  readonly uid: string;
}

export interface ReleaseSnapshot {
  readonly namespace: string;
  readonly release: string;
  /** Sorted by kind, then name. */
  readonly workloads: readonly WorkloadSnapshot[];
  /** Sorted by name. */
  readonly pvcs: readonly PvcSnapshot[];
  /** The release's ConfigMaps (Milvus's `<fullname>`, the queue's...), sorted by name; absent in hand-made snapshots. */
  readonly configs?: readonly ConfigSnapshot[];
}

export interface SnapshotDiff {
  readonly kind: string;
  readonly name: string;
  /** 'added' | 'removed' | 'image' | 'initImage' | 'replicas' | 'volumeClaimTemplates' | 'phase' | 'volumeName' | 'uid' */
  readonly field: string;
  /** Container name for image / initImage. */
  readonly container?: string;
  readonly before?: string;
  readonly after?: string;
  /** e.g. "Deployment r-milvus-proxy: image of proxy milvusdb/milvus:v2.3.11 -> milvusdb/milvus:v2.4.23". */
  readonly text: string;
}

export interface ReleaseClients {
  readonly apps: AppsV1Api;
  readonly core: CoreV1Api;
}

function clientsOf(source: string | KubeConfig | ReleaseClients): ReleaseClients {
  if (typeof source === 'object' && 'apps' in source && 'core' in source) return source;
  let kc: KubeConfig;
  if (typeof source === 'string') {
    kc = new KubeConfig();
    kc.loadFromFile(source);
  } else {
    kc = source;
  }
  return { apps: kc.makeApiClient(AppsV1Api), core: kc.makeApiClient(CoreV1Api) };
}

function belongs(meta: V1ObjectMeta | undefined, release: string): boolean {
  const labels = meta?.labels ?? {};
  const name = meta?.name ?? '';
  return (
    labels['app.kubernetes.io/instance'] === release ||
    labels.release === release ||
    name === release ||
    name.startsWith(`${release}-`)
  );
}

function imagesOf(containers: V1Container[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of containers ?? []) out[c.name] = c.image ?? '';
  return out;
}

/** Lists every Deployment, StatefulSet and PVC of the release (see the file comment). */
export async function snapshotRelease(
  kubeconfigOrClient: string | KubeConfig | ReleaseClients,
  namespace: string,
  release: string,
): Promise<ReleaseSnapshot> {
  const { apps, core } = clientsOf(kubeconfigOrClient);
  const [deps, sets, claims, maps] = await Promise.all([
    apps.listNamespacedDeployment({ namespace }),
    apps.listNamespacedStatefulSet({ namespace }),
    core.listNamespacedPersistentVolumeClaim({ namespace }),
    core.listNamespacedConfigMap({ namespace }),
  ]);
  const workloads: WorkloadSnapshot[] = [];
  for (const d of deps.items) {
    if (!belongs(d.metadata, release)) continue;
    workloads.push({
      kind: 'Deployment',
      name: d.metadata?.name ?? '',
      replicas: d.spec?.replicas ?? 1,
      images: imagesOf(d.spec?.template.spec?.containers),
      initImages: imagesOf(d.spec?.template.spec?.initContainers),
      volumeClaimTemplates: [],
      labels: { ...(d.metadata?.labels ?? {}) },
      uid: d.metadata?.uid ?? '',
    });
  }
  const claimPrefixes: string[] = [];
  for (const s of sets.items) {
    if (!belongs(s.metadata, release)) continue;
    const name = s.metadata?.name ?? '';
    const vcts = (s.spec?.volumeClaimTemplates ?? []).map((t) => t.metadata?.name ?? '');
    for (const t of vcts) claimPrefixes.push(`${t}-${name}-`);
    workloads.push({
      kind: 'StatefulSet',
      name,
      replicas: s.spec?.replicas ?? 1,
      images: imagesOf(s.spec?.template.spec?.containers),
      initImages: imagesOf(s.spec?.template.spec?.initContainers),
      volumeClaimTemplates: vcts,
      labels: { ...(s.metadata?.labels ?? {}) },
      uid: s.metadata?.uid ?? '',
    });
  }
  const ownedClaim = (pvc: V1PersistentVolumeClaim): boolean => {
    const name = pvc.metadata?.name ?? '';
    return belongs(pvc.metadata, release) || claimPrefixes.some((p) => name.startsWith(p) && /^\d+$/.test(name.slice(p.length)));
  };
  const pvcs: PvcSnapshot[] = claims.items.filter(ownedClaim).map((pvc) => ({
    kind: 'PersistentVolumeClaim',
    name: pvc.metadata?.name ?? '',
    phase: pvc.status?.phase ?? '',
    storageClassName: pvc.spec?.storageClassName ?? '',
    volumeName: pvc.spec?.volumeName ?? '',
    size: pvc.spec?.resources?.requests?.storage ?? '',
    uid: pvc.metadata?.uid ?? '',
  }));
  const configs: ConfigSnapshot[] = maps.items
    .filter((cm) => belongs(cm.metadata, release))
    .map((cm) => ({ kind: 'ConfigMap', name: cm.metadata?.name ?? '', files: { ...(cm.data ?? {}) }, uid: cm.metadata?.uid ?? '' }));
  workloads.sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  pvcs.sort((a, b) => a.name.localeCompare(b.name));
  configs.sort((a, b) => a.name.localeCompare(b.name));
  return { namespace, release, workloads, pvcs, configs };
}

/** A config file as dotted keys -> scalar text (a file that is no YAML mapping: one key, the file itself). */
function settingsOf(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let parsed: unknown;
  try {
    parsed = parseHelmYaml(text);
  } catch {
    parsed = undefined;
  }
  // An empty file (or only comments) says nothing, like an empty mapping.
  if (parsed === null || (parsed === undefined && text.trim().replace(/^#.*$/gm, '').trim() === '')) return out;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    out.set('', text);
    return out;
  }
  const walk = (value: unknown, path: string) => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k);
    } else out.set(path, Array.isArray(value) ? JSON.stringify(value) : String(value));
  };
  walk(parsed, '');
  return out;
}

/**
 * Differences of the release's ConfigMaps, one per setting that changed (a file's YAML read as
 * dotted keys): e.g. "ConfigMap r-milvus: default.yaml mq.type rocksmq -> woodpecker". Apart from
 * diffSnapshots because an upgrade changes its config on purpose (active-standby, new defaults):
 * a test says which settings must stay.
 */
export function diffConfigs(before: ReleaseSnapshot, after: ReleaseSnapshot): SnapshotDiff[] {
  const out: SnapshotDiff[] = [];
  const b = new Map((before.configs ?? []).map((c) => [c.name, c]));
  const a = new Map((after.configs ?? []).map((c) => [c.name, c]));
  for (const name of [...new Set([...b.keys(), ...a.keys()])].sort()) {
    const bc = b.get(name);
    const ac = a.get(name);
    if (!ac || !bc) {
      out.push({ kind: 'ConfigMap', name, field: ac ? 'added' : 'removed', text: `ConfigMap ${name}: ${ac ? 'added' : 'removed'}` });
      continue;
    }
    for (const file of [...new Set([...Object.keys(bc.files), ...Object.keys(ac.files)])].sort()) {
      const bs = settingsOf(bc.files[file] ?? '');
      const as = settingsOf(ac.files[file] ?? '');
      for (const key of [...new Set([...bs.keys(), ...as.keys()])].sort()) {
        const was = bs.get(key);
        const now = as.get(key);
        if (was === now) continue;
        const where = key ? `${file} ${key}` : file;
        out.push({ kind: 'ConfigMap', name, field: 'config', container: where, before: was, after: now, text: `ConfigMap ${name}: ${where} ${was ?? '(none)'} -> ${now ?? '(none)'}` });
      }
    }
  }
  return out;
}

function mapDiff(
  kind: string,
  name: string,
  field: 'image' | 'initImage',
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
): SnapshotDiff[] {
  const out: SnapshotDiff[] = [];
  const label = field === 'image' ? 'image of' : 'init image of';
  for (const c of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const b = before[c];
    const a = after[c];
    if (b === a) continue;
    out.push({ kind, name, field, container: c, before: b, after: a, text: `${kind} ${name}: ${label} ${c} ${b ?? '(none)'} -> ${a ?? '(none)'}` });
  }
  return out;
}

/**
 * Differences between two snapshots of the same release, in a stable order: objects removed or
 * added, then per object the changed images (per container), replicas, uid, volumeClaimTemplates,
 * and for PVCs phase, bound volume and uid (a new uid means the object was deleted and re-created:
 * a StatefulSet re-created under its name would otherwise pass unseen).
 */
export function diffSnapshots(before: ReleaseSnapshot, after: ReleaseSnapshot): SnapshotDiff[] {
  const out: SnapshotDiff[] = [];
  const key = (x: { kind: string; name: string }) => `${x.kind}/${x.name}`;
  const beforeW = new Map(before.workloads.map((w) => [key(w), w]));
  const afterW = new Map(after.workloads.map((w) => [key(w), w]));
  const beforeP = new Map(before.pvcs.map((p) => [key(p), p]));
  const afterP = new Map(after.pvcs.map((p) => [key(p), p]));
  const all = [...new Set([...beforeW.keys(), ...afterW.keys(), ...beforeP.keys(), ...afterP.keys()])].sort();
  for (const k of all) {
    const [kind = '', name = ''] = k.split('/');
    const b = beforeW.get(k) ?? beforeP.get(k);
    const a = afterW.get(k) ?? afterP.get(k);
    if (b && !a) {
      out.push({ kind, name, field: 'removed', text: `${kind} ${name}: removed` });
      continue;
    }
    if (!b && a) {
      out.push({ kind, name, field: 'added', text: `${kind} ${name}: added` });
      continue;
    }
    const bw = beforeW.get(k);
    const aw = afterW.get(k);
    if (bw && aw) {
      out.push(...mapDiff(kind, name, 'image', bw.images, aw.images));
      out.push(...mapDiff(kind, name, 'initImage', bw.initImages, aw.initImages));
      if (bw.replicas !== aw.replicas) {
        out.push({ kind, name, field: 'replicas', before: String(bw.replicas), after: String(aw.replicas), text: `${kind} ${name}: replicas ${bw.replicas} -> ${aw.replicas}` });
      }
      if (bw.uid !== aw.uid) out.push({ kind, name, field: 'uid', before: bw.uid, after: aw.uid, text: `${kind} ${name}: uid ${bw.uid} -> ${aw.uid} (deleted and created again)` });
      const bv = bw.volumeClaimTemplates.join(',');
      const av = aw.volumeClaimTemplates.join(',');
      if (bv !== av) {
        out.push({ kind, name, field: 'volumeClaimTemplates', before: bv, after: av, text: `${kind} ${name}: volumeClaimTemplates [${bv}] -> [${av}]` });
      }
    }
    const bp = beforeP.get(k);
    const ap = afterP.get(k);
    if (bp && ap) {
      for (const field of ['phase', 'volumeName', 'uid'] as const) {
        if (bp[field] !== ap[field]) {
          out.push({ kind, name, field, before: bp[field], after: ap[field], text: `${kind} ${name}: ${field} ${bp[field]} -> ${ap[field]}` });
        }
      }
    }
  }
  return out;
}
