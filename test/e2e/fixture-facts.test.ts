/**
 * The fixture charts and the fake kubelet reproduce the facts of the real zilliztech/milvus chart
 * and of a real node that the bot must meet (SPEC section 9), on the real control plane with
 * real helm.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHelmYamlStream } from '../../src/cluster/helm-yaml.js';
import { kubectl } from '../harness/control-plane.js';
import { FAKE_STORAGE_CLASS } from '../harness/fake-kubelet.js';
import { cluster, ensureRepo, helmT, installRelease, newNamespace } from './helpers.js';
import { diffSnapshots, snapshotRelease, type ReleaseSnapshot } from './release-snapshot.js';

interface K8sObject {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: { template?: { spec?: { containers?: Array<{ name: string; image: string }> } } };
}

function objectsOf(manifest: string): K8sObject[] {
  return parseHelmYamlStream(manifest)
    .map((d) => d.value as K8sObject | null)
    .filter((o): o is K8sObject => o !== null && typeof o === 'object' && typeof o.kind === 'string');
}

function names(objs: K8sObject[], kind: string): string[] {
  return objs.filter((o) => o.kind === kind).map((o) => o.metadata.name).sort();
}

const PULSAR_COMPONENTS = ['bookie', 'broker', 'proxy', 'recovery', 'zookeeper'];

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface PodJson {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status: {
    phase?: string;
    conditions?: Array<{ type: string; status: string; reason?: string }>;
    containerStatuses?: Array<{ ready: boolean; state: Record<string, { reason?: string }> }>;
  };
}

async function pod(ns: string, name: string): Promise<PodJson | undefined> {
  try {
    return JSON.parse(await kubectl(cluster(), ['get', 'pod', name, '-n', ns, '-o', 'json'])) as PodJson;
  } catch (err) {
    if (/NotFound|not found/.test(String(err))) return undefined;
    throw err;
  }
}

const isReady = (p: PodJson | undefined) => p?.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

describe('fixture facts of the real chart', () => {
  const ns = { name: '', cleanup: async () => undefined as void };
  let before: ReleaseSnapshot;

  beforeAll(async () => {
    Object.assign(ns, await newNamespace('facts'));
    await ensureRepo();
    await installRelease(ns.name, 'r', '4.1.24');
    before = await snapshotRelease(cluster().kubeconfig, ns.name, 'r');
  });
  afterAll(async () => {
    await ns.cleanup();
  });

  it('4.1.24 defaults: five Pulsar v2 StatefulSets, etcd and minio StatefulSets, PVCs Bound, every pod Ready', async () => {
    const sets = before.workloads.filter((w) => w.kind === 'StatefulSet').map((w) => w.name);
    expect(sets).toEqual(['r-etcd', 'r-minio', ...PULSAR_COMPONENTS.map((c) => `r-pulsar-${c}`)].sort());
    const bookie = before.workloads.find((w) => w.name === 'r-pulsar-bookie');
    expect(bookie?.images).toEqual({ 'r-pulsar-bookie': 'apachepulsar/pulsar:2.8.2' });
    expect(bookie?.labels).toMatchObject({ app: 'pulsar', release: 'r', component: 'bookie' });
    const etcd = before.workloads.find((w) => w.name === 'r-etcd');
    expect(etcd?.labels).toMatchObject({ 'app.kubernetes.io/instance': 'r', 'app.kubernetes.io/name': 'etcd' });
    expect(etcd?.images.etcd).toMatch(/^docker\.io\/milvusdb\/etcd:3\.5\./);
    expect(before.workloads.find((w) => w.name === 'r-minio')?.labels).toMatchObject({ release: 'r', app: 'minio' });

    // The snapshot helper finds every Milvus Deployment too, and every claim of the StatefulSets.
    expect(before.workloads.filter((w) => w.kind === 'Deployment').map((w) => w.name)).toEqual(
      ['datacoord', 'datanode', 'indexcoord', 'indexnode', 'proxy', 'querycoord', 'querynode', 'rootcoord'].map((c) => `r-milvus-${c}`),
    );
    expect(before.pvcs.map((p) => p.name)).toEqual([
      'data-r-etcd-0',
      'export-r-minio-0',
      'r-pulsar-bookie-journal-r-pulsar-bookie-0',
      'r-pulsar-bookie-ledgers-r-pulsar-bookie-0',
      'r-pulsar-zookeeper-data-r-pulsar-zookeeper-0',
    ]);
    expect(before.pvcs.every((p) => p.phase === 'Bound' && p.storageClassName === FAKE_STORAGE_CLASS && p.volumeName !== '')).toBe(true);

    const pods = JSON.parse(await kubectl(cluster(), ['get', 'pods', '-n', ns.name, '-o', 'json'])) as { items: PodJson[] };
    expect(pods.items.length).toBe(8 + 1 + 7); // querynode has 2 replicas
    expect(pods.items.filter((p) => !isReady(p)).map((p) => p.metadata.name)).toEqual([]);

    // The ConfigMap names the queue that is enabled.
    const cm = await kubectl(cluster(), ['get', 'configmap', 'r-milvus', '-n', ns.name, '-o', 'jsonpath={.data.default\\.yaml}']);
    expect(cm).toMatch(/^messageQueue: pulsar$/m);
    expect(cm).toContain('address: r-pulsar-proxy');
  });

  // zilliztech/milvus-helm 4.1.24 (a433f9a), charts/pulsar-2.7.8 templates/proxy-configmap.yaml:
  // `httpNumThreads: "8"`, then `toYaml .Values.proxy.configData` with the Milvus chart's "100".
  it('4.1.24 defaults: the Pulsar v2 proxy ConfigMap renders httpNumThreads twice, as the real 4.1.24 does; the API keeps the last', async () => {
    const manifest = await helmT(['get', 'manifest', 'r', '-n', ns.name]);
    const doc = manifest.split(/^---$/m).find((d) => /name: "?r-pulsar-proxy"?$/m.test(d) && /^kind: ConfigMap$/m.test(d));
    expect(doc?.match(/^ {2}httpNumThreads: "(\d+)"$/gm)).toEqual(['  httpNumThreads: "8"', '  httpNumThreads: "100"']);
    const live = await kubectl(cluster(), ['get', 'configmap', 'r-pulsar-proxy', '-n', ns.name, '-o', 'jsonpath={.data.httpNumThreads}']);
    expect(live).toBe('100');
    const read = objectsOf(manifest).find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'r-pulsar-proxy') as unknown as { data: Record<string, string> };
    expect(read.data.httpNumThreads).toBe('100');
  });

  it('Pulsar v2 of the renamed subchart (4.2.30+) renders the key twice too; Pulsar v3 writes it once', async () => {
    const count = (out: string, cm: string) => {
      const doc = out.split(/^---$/m).find((d) => new RegExp(`name: "?${cm}"?$`, 'm').test(d) && /^kind: ConfigMap$/m.test(d));
      return doc?.match(/^ {2}httpNumThreads:/gm)?.length ?? 0;
    };
    const v2 = await helmT(['template', 'r', 'zilliztech/milvus', '--version', '4.2.58', '--set', 'pulsar.enabled=true,pulsarv3.enabled=false']);
    expect(count(v2, 'r-pulsar-proxy')).toBe(2);
    const v3 = await helmT(['template', 'r', 'zilliztech/milvus', '--version', '4.2.58']);
    expect(count(v3, 'r-pulsarv3-proxy')).toBe(1);
  });

  it('upgrading to 4.2.25 with the release values renders no Pulsar at all (the 4.2.21-4.2.29 clash)', async () => {
    const out = await helmT(['upgrade', 'r', 'zilliztech/milvus', '-n', ns.name, '--version', '4.2.25', '--reset-then-reuse-values', '--dry-run=server']);
    const objs = objectsOf(out.slice(out.indexOf('---')));
    expect(names(objs, 'StatefulSet')).toEqual(['r-etcd', 'r-minio']);
    expect(names(objs, 'Deployment')).toContain('r-milvus-mixcoord');
    // Forcing pulsar.enabled does not help: the v2 subchart is not in the package.
    const forced = objectsOf(await helmT(['template', 'r', 'zilliztech/milvus', '--version', '4.2.25', '--set', 'pulsar.enabled=true']));
    expect(names(forced, 'StatefulSet').filter((n) => n.includes('pulsar'))).toEqual([]);
    // Nothing changed on the cluster.
    expect(diffSnapshots(before, await snapshotRelease(cluster().kubeconfig, ns.name, 'r'))).toEqual([]);
  });

  it('4.2.30 defaults to pulsarv3; with pulsar.enabled=true,pulsarv3.enabled=false it renders v2 with the 4.1.24 names', async () => {
    const v3 = objectsOf(await helmT(['template', 'r', 'zilliztech/milvus', '--version', '4.2.30', '-n', ns.name]));
    expect(names(v3, 'StatefulSet')).toEqual(['r-etcd', 'r-minio', ...PULSAR_COMPONENTS.map((c) => `r-pulsarv3-${c}`)].sort());
    const v2 = objectsOf(
      await helmT(['template', 'r', 'zilliztech/milvus', '--version', '4.2.30', '-n', ns.name, '--set', 'pulsar.enabled=true,pulsarv3.enabled=false']),
    );
    expect(names(v2, 'StatefulSet')).toEqual(before.workloads.filter((w) => w.kind === 'StatefulSet').map((w) => w.name));
    // The alias makes .Chart.Name "pulsar": the label says pulsar-2.7.8, as upstream renders it.
    const bookie = v2.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'r-pulsar-bookie');
    expect(bookie?.metadata.labels).toMatchObject({ app: 'pulsar', release: 'r', component: 'bookie', chart: 'pulsar-2.7.8' });
  });

  it('kafka: StatefulSets r-kafka and r-zookeeper, and the ConfigMap names kafka', async () => {
    const objs = objectsOf(
      await helmT(['template', 'r', 'zilliztech/milvus', '--version', '4.2.58', '--set', 'kafka.enabled=true,pulsarv3.enabled=false']),
    );
    expect(names(objs, 'StatefulSet')).toEqual(['r-etcd', 'r-kafka', 'r-minio', 'r-zookeeper']);
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'r-milvus') as unknown as { data: Record<string, string> };
    expect(cm.data['default.yaml']).toMatch(/^messageQueue: kafka$/m);
  });

  it('chart 3.3.6 writes metadata.rootPath, the topic prefix and authorization into the config; 4.0.31 (as the real 4.0.0 on) writes none and has no such values', async () => {
    const set = ['--set', 'metadata.rootPath=team-a,msgChannel.chanNamePrefix.cluster=team-a,authorization.enabled=true'];
    const config = async (version: string) => {
      const objs = objectsOf(await helmT(['template', 'r', 'zilliztech/milvus', '--version', version, ...set]));
      return (objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'r-milvus') as unknown as { data: Record<string, string> }).data['default.yaml']!;
    };
    const v3 = await config('3.3.6');
    expect(v3).toMatch(/^ {2}rootPath: team-a$/m);
    expect(v3).toMatch(/^ {4}cluster: team-a$/m);
    expect(v3).toMatch(/^ {4}authorizationEnabled: true$/m);
    const v4 = await config('4.0.31');
    // (minio.rootPath, the bucket's root, is another setting: written by every chart.)
    expect(v4).not.toMatch(/team-a|chanNamePrefix|authorizationEnabled/);
    expect(v4).not.toMatch(/^etcd:\n(?: {2}.*\n)* {2}rootPath:/m);
    const values = await helmT(['show', 'values', 'zilliztech/milvus', '--version', '4.0.31']);
    expect(values).not.toMatch(/^(metadata|msgChannel|authorization):/m);
  });

  it('customConfigMap: no <fullname> ConfigMap, every pod mounts the named one', async () => {
    const out = await helmT(['template', 'r', 'zilliztech/milvus', '--version', '4.2.58', '--set', 'customConfigMap=my-config']);
    const objs = objectsOf(out);
    // The queue's own ConfigMaps (the Pulsar proxy's) are rendered as ever; Milvus's is not.
    expect(names(objs, 'ConfigMap').filter((n) => !n.startsWith('r-pulsar'))).toEqual([]);
    expect(names(objs, 'ConfigMap')).not.toContain('r-milvus');
    const deps = objs.filter((o) => o.kind === 'Deployment') as unknown as Array<{ spec: { template: { spec: { volumes: Array<{ configMap?: { name: string } }> } } } }>;
    expect(deps.length).toBeGreaterThan(0);
    for (const d of deps) expect(d.spec.template.spec.volumes.map((v) => v.configMap?.name)).toEqual(['my-config']);
  });
});

describe('chart 5.0.19: 2.6 defaults, resource groups and attu', () => {
  const ns = { name: '', cleanup: async () => undefined as void };
  afterAll(async () => {
    await ns.cleanup();
  });

  it('renders per-group querynode/streamingnode Deployments, no indexnode, and attu with the Milvus labels but its own image', async () => {
    Object.assign(ns, await newNamespace('rg'));
    await installRelease(ns.name, 'm', '5.0.19', { replicaResourceGroups: '{rg1,rg2}', 'attu.enabled': 'true' });
    const snap = await snapshotRelease(cluster().kubeconfig, ns.name, 'm');
    const deps = snap.workloads.filter((w) => w.kind === 'Deployment');
    expect(deps.map((d) => d.name)).toEqual(
      ['attu', 'datanode', 'mixcoord', 'proxy', 'querynode-rg1', 'querynode-rg2', 'streamingnode-rg1', 'streamingnode-rg2'].map((c) => `m-milvus-${c}`),
    );
    expect(deps.filter((d) => d.labels.component === 'querynode').map((d) => d.name)).toEqual(['m-milvus-querynode-rg1', 'm-milvus-querynode-rg2']);
    expect(deps.filter((d) => d.labels.component === 'streamingnode')).toHaveLength(2);
    const attu = deps.find((d) => d.name === 'm-milvus-attu');
    expect(attu?.labels).toMatchObject({ 'app.kubernetes.io/name': 'milvus', 'app.kubernetes.io/instance': 'm', component: 'attu' });
    expect(attu?.images).toEqual({ attu: 'zilliz/attu:v2.5.3' });
    for (const d of deps.filter((x) => x !== attu)) expect(Object.values(d.images)).toEqual(['milvusdb/milvus:v2.6.15']);
    expect(snap.workloads.filter((w) => w.kind === 'StatefulSet').map((w) => w.name)).toEqual(
      ['m-etcd', 'm-minio', ...PULSAR_COMPONENTS.map((c) => `m-pulsarv3-${c}`)].sort(),
    );
    expect(snap.pvcs.every((p) => p.phase === 'Bound')).toBe(true);
  });
});

describe('fake kubelet strictness', () => {
  const ns = { name: '', cleanup: async () => undefined as void };
  beforeAll(async () => {
    Object.assign(ns, await newNamespace('kubelet'));
  });
  afterAll(async () => {
    await ns.cleanup();
  });

  const podYaml = (name: string, image: string, extra = '') => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  containers:
  - name: c
    image: ${image}
${extra}`;

  it('a pod whose claim is not Bound stays Pending (unscheduled); a claim of the default class is provisioned and its pod runs', async () => {
    const claim = (name: string, cls?: string) => `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: ${name}
spec:
  ${cls ? `storageClassName: ${cls}` : ''}
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
`;
    const vol = (claimName: string) => `    volumeMounts:
    - name: d
      mountPath: /d
  volumes:
  - name: d
    persistentVolumeClaim:
      claimName: ${claimName}
`;
    await kubectl(cluster(), ['apply', '-n', ns.name, '-f', '-'], [claim('nowhere', 'no-such-class'), podYaml('stuck', 'busybox:1', vol('nowhere'))].join('---\n'));
    await kubectl(cluster(), ['apply', '-n', ns.name, '-f', '-'], [claim('fine'), podYaml('runs', 'busybox:1', vol('fine'))].join('---\n'));
    const stuck = await waitFor('PodScheduled=False on the stuck pod', async () => {
      const p = await pod(ns.name, 'stuck');
      return p?.status.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable') ? p : undefined;
    });
    expect(stuck.spec.nodeName).toBeUndefined();
    expect(stuck.status.phase).toBe('Pending');
    const runs = await waitFor('the pod with a Bound claim Ready', async () => {
      const p = await pod(ns.name, 'runs');
      return isReady(p) ? p : undefined;
    });
    expect(runs.spec.nodeName).toBe('fake-node');
    const pvcs = JSON.parse(await kubectl(cluster(), ['get', 'pvc', '-n', ns.name, '-o', 'json'])) as { items: Array<{ metadata: { name: string }; status: { phase: string } }> };
    expect(Object.fromEntries(pvcs.items.map((p) => [p.metadata.name, p.status.phase]))).toEqual({ fine: 'Bound', nowhere: 'Pending' });
    // Still unscheduled after the good pod ran (the claims were looked at meanwhile).
    expect((await pod(ns.name, 'stuck'))?.spec.nodeName).toBeUndefined();
  });

  it('a missing image: the pod stays Pending with ImagePullBackOff', async () => {
    await kubectl(cluster(), ['apply', '-n', ns.name, '-f', '-'], podYaml('nopull', 'milvusdb/milvus:v9.9.9-missing'));
    const p = await waitFor('ImagePullBackOff', async () => {
      const x = await pod(ns.name, 'nopull');
      return x?.status.containerStatuses?.[0]?.state.waiting?.reason === 'ImagePullBackOff' ? x : undefined;
    });
    expect(p.status.phase).toBe('Pending');
    expect(isReady(p)).toBe(false);
  });

  it('readiness waits for the probe initialDelaySeconds (scaled): running-not-ready first, then Ready', async () => {
    const probe = `    readinessProbe:
      httpGet: {path: /healthz, port: 9091}
      initialDelaySeconds: 200
`;
    await kubectl(cluster(), ['apply', '-n', ns.name, '-f', '-'], podYaml('slow', 'busybox:1', probe));
    const running = await waitFor('Running but not ready', async () => {
      const x = await pod(ns.name, 'slow');
      return x?.status.phase === 'Running' && x.status.containerStatuses?.[0]?.state.running ? x : undefined;
    });
    // 200 s x 5 ms = 1 s: the first report is not ready.
    expect(isReady(running)).toBe(false);
    await waitFor('Ready', async () => (isReady(await pod(ns.name, 'slow')) ? true : undefined));
  });

  it('a terminating pod takes its scaled grace time instead of vanishing at once', async () => {
    await kubectl(cluster(), ['apply', '-n', ns.name, '-f', '-'], podYaml('graceful', 'busybox:1', '  terminationGracePeriodSeconds: 60\n'));
    await waitFor('Ready', async () => (isReady(await pod(ns.name, 'graceful')) ? true : undefined));
    await kubectl(cluster(), ['delete', 'pod', 'graceful', '-n', ns.name, '--wait=false']);
    const terminating = await pod(ns.name, 'graceful');
    // 60 s x 3000 ms / 30 s = 6 s: still there, terminating.
    expect(terminating?.metadata.deletionTimestamp).toBeDefined();
    await waitFor('the pod gone', async () => ((await pod(ns.name, 'graceful')) === undefined ? true : undefined));
  });

  it('a 2.6 streamingnode becomes Ready only once a 2.6 mixcoord of its release is (zilliztech/milvus-operator#446)', async () => {
    const milvusPod = (name: string, component: string, tag: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: {app.kubernetes.io/instance: gate, component: ${component}}
spec:
  containers:
  - name: ${component}
    image: milvusdb/milvus:${tag}
`;
    // A 2.6 streamingnode waits; a 2.5 mixcoord of its release does not free it.
    await kubectl(cluster(), ['apply', '-n', ns.name, '-f', '-'], milvusPod('sn-26', 'streamingnode', 'v2.6.15'));
    await kubectl(cluster(), ['apply', '-n', ns.name, '-f', '-'], milvusPod('mc-25', 'mixcoord', 'v2.5.16'));
    await waitFor('the 2.5 mixcoord Ready', async () => (isReady(await pod(ns.name, 'mc-25')) ? true : undefined));
    const waiting = await waitFor('the streamingnode running', async () => {
      const x = await pod(ns.name, 'sn-26');
      return x?.status.phase === 'Running' ? x : undefined;
    });
    await new Promise((r) => setTimeout(r, 1000));
    expect(isReady((await pod(ns.name, 'sn-26')) ?? waiting)).toBe(false);
    await kubectl(cluster(), ['apply', '-n', ns.name, '-f', '-'], milvusPod('mc-26', 'mixcoord', 'v2.6.15'));
    await waitFor('the streamingnode Ready after the 2.6 mixcoord', async () => (isReady(await pod(ns.name, 'sn-26')) ? true : undefined));
    expect(isReady(await pod(ns.name, 'mc-26'))).toBe(true);
  });
});

describe('standalone, MinIO, the 5.x standalone queue and external services (issue 24)', () => {
  const ns = { name: '', cleanup: async () => undefined as void };
  beforeAll(async () => {
    Object.assign(ns, await newNamespace('facts-solo'));
    await ensureRepo();
  });
  afterAll(async () => {
    await ns.cleanup();
  });

  const configOf = (objs: K8sObject[], name: string) =>
    (objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name) as unknown as { data: Record<string, string> }).data['default.yaml']!;
  const podsOf = async (selector: string) =>
    (JSON.parse(await kubectl(cluster(), ['get', 'pods', '-n', ns.name, '-l', selector, '-o', 'json'])) as { items: Array<PodJson & { spec: { containers: Array<{ image: string }> } }> }).items;

  // Real 4.1.24 (a433f9a): templates/pvc.yaml renders PVC <fullname> when cluster.enabled=false
  // (standalone.persistence.enabled, annotation helm.sh/resource-policy: keep), mounted by the
  // standalone at /var/lib/milvus; minio-8.0.17 renders a Deployment and a PVC <release>-minio
  // when minio.mode=standalone, a StatefulSet when "distributed", the milvus chart's default. The
  // mode does NOT follow cluster.enabled: the README's standalone installs add minio.mode=standalone.
  it('4.1.24 standalone (minio.mode=standalone, as the README installs it): the standalone Deployment with its own PVC, MinIO as a Deployment with a PVC; cluster.enabled=false alone keeps MinIO distributed', async () => {
    await installRelease(ns.name, 's', '4.1.24', { 'cluster.enabled': 'false', 'minio.mode': 'standalone', 'pulsar.enabled': 'false' });
    const snap = await snapshotRelease(cluster().kubeconfig, ns.name, 's');
    expect(snap.workloads.map((w) => `${w.kind}/${w.name}`)).toEqual(['Deployment/s-milvus-standalone', 'Deployment/s-minio', 'StatefulSet/s-etcd']);
    expect(snap.workloads.find((w) => w.name === 's-minio')?.labels).toMatchObject({ app: 'minio', release: 's' });
    expect(snap.pvcs.map((p) => p.name)).toEqual(['data-s-etcd-0', 's-milvus', 's-minio']);
    expect(snap.pvcs.every((p) => p.phase === 'Bound')).toBe(true);
    const standalone = JSON.parse(await kubectl(cluster(), ['get', 'deployment', 's-milvus-standalone', '-n', ns.name, '-o', 'json'])) as {
      spec: { template: { spec: { volumes: Array<{ name: string; persistentVolumeClaim?: { claimName: string } }>; containers: Array<{ volumeMounts: Array<{ name: string; mountPath: string }> }> } } };
    };
    expect(standalone.spec.template.spec.volumes.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName).toBe('s-milvus');
    expect(standalone.spec.template.spec.containers[0]!.volumeMounts.map((m) => m.mountPath)).toContain('/var/lib/milvus');
    const keep = await kubectl(cluster(), ['get', 'pvc', 's-milvus', '-n', ns.name, '-o', 'jsonpath={.metadata.annotations.helm\\.sh/resource-policy}']);
    expect(keep).toBe('keep');
    const distributed = objectsOf(await helmT(['template', 's', 'zilliztech/milvus', '--version', '4.1.24', '--set', 'cluster.enabled=false,pulsar.enabled=false']));
    expect(names(distributed, 'StatefulSet')).toEqual(['s-etcd', 's-minio']);
    expect(names(distributed, 'Deployment')).toEqual(['s-milvus-standalone']);
  });

  // Real chart history (values.yaml minio.image.tag): RELEASE.2022-03-17T06-34-49Z from 3.0.17 to
  // 4.0.12 (f3595dd); RELEASE.2023-03-20T20-16-18Z from 4.0.13 (db1804e, "Bump milvus to 2.2.5").
  // MinIO removed its FS backend in RELEASE.2022-10-29: the new image exits with "found backend type fs".
  it('MinIO FS: a 4.0.12 single-drive MinIO upgraded by plain helm to 4.0.13 crash-loops with "found backend type fs"; with minio.image.tag kept it runs', async () => {
    await installRelease(ns.name, 'fs', '4.0.12', { 'cluster.enabled': 'false', 'minio.mode': 'standalone', 'pulsar.enabled': 'false' });
    const minioImage = async () => (await kubectl(cluster(), ['get', 'deployment', 'fs-minio', '-n', ns.name, '-o', 'jsonpath={.spec.template.spec.containers[0].image}']));
    expect(await minioImage()).toBe('minio/minio:RELEASE.2022-03-17T06-34-49Z');
    const shown = await helmT(['show', 'values', 'zilliztech/milvus', '--version', '4.0.13']);
    expect(shown).toContain('tag: "RELEASE.2023-03-20T20-16-18Z"');
    // A fresh drive under the new image is the new format: nothing crash-loops there.
    expect(await helmT(['template', 'x', 'zilliztech/milvus', '--version', '4.0.13', '--set', 'cluster.enabled=false,minio.mode=standalone'])).not.toContain('crashloop');

    await helmT(['upgrade', 'fs', 'zilliztech/milvus', '-n', ns.name, '--version', '4.0.13', '--reset-then-reuse-values']);
    expect(await minioImage()).toBe('minio/minio:RELEASE.2023-03-20T20-16-18Z');
    const crashing = await waitFor('the new MinIO pod crash-looping', async () => {
      const pods = await podsOf('app=minio,release=fs');
      return pods.find((p) => p.spec.containers[0]!.image.endsWith('2023-03-20T20-16-18Z') && p.status.containerStatuses?.[0]?.state.waiting?.reason === 'CrashLoopBackOff');
    });
    expect(isReady(crashing)).toBe(false);
    expect(await kubectl(cluster(), ['logs', crashing.metadata.name, '-n', ns.name])).toContain('found backend type fs');

    await helmT(['upgrade', 'fs', 'zilliztech/milvus', '-n', ns.name, '--version', '4.0.13', '--reset-then-reuse-values', '--set', 'minio.image.tag=RELEASE.2022-03-17T06-34-49Z', '--wait', '--timeout', '60s']);
    await kubectl(cluster(), ['rollout', 'status', 'deployment/fs-minio', '-n', ns.name, '--timeout', '60s']);
    const pods = (await podsOf('app=minio,release=fs')).filter((p) => !p.metadata.deletionTimestamp);
    expect(pods.map((p) => p.spec.containers[0]!.image)).toEqual(['minio/minio:RELEASE.2022-03-17T06-34-49Z']);
    expect(pods.every(isReady)).toBe(true);
  });

  // Real 5.0.0 (7552d1d) values standalone.messageQueue: woodpecker; _helpers.tpl
  // "milvus.standalone.messageQueue": revision 1 or a non-default value as given, else the
  // running standalone Deployment's milvus.io/message-queue annotation, "rocksmq" without one.
  it('5.x standalone queue: a new standalone gets woodpecker; a 4.2.58 rocksmq standalone upgraded to 5.0.19 keeps rocksmq (lookup, rendered against the cluster); helm template alone says woodpecker', async () => {
    const fresh = objectsOf(await helmT(['template', 'w', 'zilliztech/milvus', '--version', '5.0.19', '--set', 'cluster.enabled=false,pulsarv3.enabled=false']));
    expect(configOf(fresh, 'w-milvus')).toMatch(/^messageQueue: woodpecker$/m);
    await installRelease(ns.name, 'rq', '4.2.58', { 'cluster.enabled': 'false', 'pulsarv3.enabled': 'false' });
    const out = await helmT(['upgrade', 'rq', 'zilliztech/milvus', '-n', ns.name, '--version', '5.0.19', '--reset-then-reuse-values', '--dry-run=server']);
    const rendered = objectsOf(out.slice(out.indexOf('---')));
    expect(configOf(rendered, 'rq-milvus')).toMatch(/^messageQueue: rocksmq$/m);
    expect(configOf(rendered, 'rq-milvus')).toMatch(/^ {2}type: rocksmq$/m);
    const standalone = rendered.find((o) => o.kind === 'Deployment' && o.metadata.name === 'rq-milvus-standalone') as unknown as { metadata: { annotations: Record<string, string> } };
    expect(standalone.metadata.annotations['milvus.io/message-queue']).toBe('rocksmq');
    const offline = objectsOf(await helmT(['template', 'rq', 'zilliztech/milvus', '--version', '5.0.19', '--set', 'cluster.enabled=false,pulsarv3.enabled=false', '--is-upgrade']));
    expect(configOf(offline, 'rq-milvus')).toMatch(/^messageQueue: woodpecker$/m);
  });

  // Real values (4.1.24 a433f9a, same keys in 5.0.19): externalEtcd.enabled/endpoints,
  // externalS3.enabled/host/port/bucketName/rootPath, externalPulsar.enabled/host/port,
  // externalKafka.enabled/brokerList; config.tpl writes them instead of the in-chart services. The
  // in-chart ones are switched off by etcd.enabled / minio.enabled / pulsar.enabled / kafka.enabled.
  it('external etcd, S3 and Kafka: no etcd, MinIO or queue StatefulSet; the config names the external endpoints, bucket and root', async () => {
    const set = 'etcd.enabled=false,minio.enabled=false,pulsar.enabled=false,externalEtcd.enabled=true,externalEtcd.endpoints={etcd.db:2379},externalS3.enabled=true,externalS3.host=s3.db,externalS3.port=443,externalS3.bucketName=prod,externalS3.rootPath=milvus,externalKafka.enabled=true,externalKafka.brokerList=kafka.db:9092';
    const objs = objectsOf(await helmT(['template', 'x', 'zilliztech/milvus', '--version', '4.1.24', '--set', set]));
    expect(names(objs, 'StatefulSet')).toEqual([]);
    const config = configOf(objs, 'x-milvus');
    expect(config).toMatch(/^ {4}- etcd\.db:2379$/m);
    expect(config).toMatch(/^ {2}address: s3\.db$/m);
    expect(config).toMatch(/^ {2}bucketName: prod$/m);
    expect(config).toMatch(/^ {2}rootPath: milvus$/m);
    expect(config).toMatch(/^messageQueue: kafka$/m);
    expect(config).toMatch(/^ {2}brokerList: kafka\.db:9092$/m);
    const pulsar = configOf(objectsOf(await helmT(['template', 'x', 'zilliztech/milvus', '--version', '4.1.24', '--set', 'pulsar.enabled=false,externalPulsar.enabled=true,externalPulsar.host=pulsar.db'])), 'x-milvus');
    expect(pulsar).toMatch(/^messageQueue: pulsar$/m);
    expect(pulsar).toMatch(/^ {2}address: pulsar\.db$/m);
  });
});
