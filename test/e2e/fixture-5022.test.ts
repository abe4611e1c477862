/**
 * Chart 5.0.22 (Milvus 2.6.20), the baseline of the Milvus docs' 2.6 -> 3.0 upgrade, on the real
 * control plane with the real helm (issue 27). With its defaults (cluster mode) it runs mixcoord,
 * datanode, querynode, streamingnode and proxy, no indexnode, and Woodpecker embedded (the config
 * says woodpecker.storage.type minio). The docs' upgrade keeps the chart and changes only
 * image.all.tag with --reset-then-reuse-values: every Milvus Deployment moves to v3.0.3, and
 * nothing else moves (the same objects, the same config); the fake kubelet runs the 3.0 pods and
 * the fake Milvus following the release speaks 3.0.3 and serves. Woodpecker as its own service
 * (embedded false and woodpecker.enabled) renders its StatefulSet and headless Service, and the
 * config says storage type service.
 */
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesClusterOps } from '../../src/cluster/kube.js';
import { SdkMilvusDataReader } from '../../src/cluster/milvus-data.js';
import { queueOfObjects, queuesOfObjects } from '../../src/upgrade/milvus/message-queue.js';
import { parseHelmYaml } from '../../src/cluster/helm-yaml.js';
import { kubectl } from '../harness/control-plane.js';
import { startFakeMilvus, type FakeMilvus } from '../harness/fake-milvus.js';
import { followRelease, type Following } from '../harness/fake-milvus/follow.js';
import { cluster, helmStatus, helmT, installRelease, newNamespace, waitSettled } from './helpers.js';
import { diffConfigs, diffSnapshots, snapshotRelease, type ReleaseSnapshot } from './release-snapshot.js';

const CHART = '5.0.22';
const MILVUS_COMPONENTS = ['datanode', 'mixcoord', 'proxy', 'querynode', 'streamingnode'];
const snap = (ns: string, release: string) => snapshotRelease(cluster().kubeconfig, ns, release);
const deploymentsOf = (s: ReleaseSnapshot) => s.workloads.filter((w) => w.kind === 'Deployment');

/** The Milvus config the release's pods mount (default.yaml of <release>-milvus), parsed. */
function configOf(s: ReleaseSnapshot): { mq?: { type?: string }; woodpecker?: { storage?: { type?: string; rootPath?: string }; client?: unknown } } {
  const text = s.configs?.find((c) => c.name === `${s.release}-milvus`)?.files['default.yaml'];
  if (text === undefined) throw new Error(`no ConfigMap ${s.release}-milvus in the snapshot`);
  return parseHelmYaml(text) as ReturnType<typeof configOf>;
}

function releaseObjects(namespace: string, release: string) {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cluster().kubeconfig);
  return new KubernetesClusterOps(kc).releaseObjects(namespace, release);
}

describe(`chart ${CHART}: 2.6.20 with its defaults, then the docs' image-only upgrade to v3.0.3`, () => {
  const release = 'base';
  const reader = new SdkMilvusDataReader({ callTimeoutMs: 5_000, canaryTimeoutMs: 1_500 });
  let ns: { name: string; cleanup: () => Promise<void> };
  let milvus: FakeMilvus;
  let following: Following;
  beforeAll(async () => {
    ns = await newNamespace('e2e-5022');
    await installRelease(ns.name, release, CHART);
    milvus = await startFakeMilvus({ version: 'v0.0.0-not-followed', collections: [{ name: 'books', loadState: 'Loaded', rowCount: 100 }] });
    following = await followRelease(milvus, { kubeconfig: cluster().kubeconfig, namespace: ns.name, release });
  });
  afterAll(async () => {
    following?.stop();
    await milvus?.close();
    await ns?.cleanup();
  });
  const endpoint = () => ({ address: milvus.address });
  const poll = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 30_000, interval: 200 });

  it('runs mixcoord, datanode, querynode, streamingnode and proxy on v2.6.20 (no indexnode), Woodpecker embedded on minio', async () => {
    const s = await snap(ns.name, release);
    const deps = deploymentsOf(s);
    expect(deps.map((d) => d.labels.component).sort()).toEqual(MILVUS_COMPONENTS);
    expect(deps.map((d) => d.name)).toEqual(MILVUS_COMPONENTS.map((c) => `${release}-milvus-${c}`));
    for (const d of deps) expect(d.images, d.name).toEqual({ [d.labels.component!]: 'milvusdb/milvus:v2.6.20' });
    const config = configOf(s);
    expect(config.woodpecker).toEqual({ storage: { type: 'minio', rootPath: '/woodpecker/data' } });
    // The chart's default queue is Pulsar v3; Woodpecker runs no workload of its own.
    expect(config.mq?.type).toBe('pulsar');
    expect(s.workloads.filter((w) => w.kind === 'StatefulSet' && w.name.includes('woodpecker'))).toEqual([]);
    const values = parseHelmYaml(await helmT(['get', 'values', release, '-n', ns.name, '--all', '-o', 'yaml'])) as Record<string, Record<string, unknown>>;
    expect(values.streaming).toMatchObject({ enabled: true, woodpecker: { embedded: true, storage: { type: 'minio' } } });
    expect(values.woodpecker).toMatchObject({ enabled: false });
    await poll(async () => (await reader.snapshot(endpoint())).serverVersion).toBe('v2.6.20');
  });

  it('helm upgrade --version 5.0.22 --reset-then-reuse-values --set image.all.tag=v3.0.3: only the Milvus images move; 3.0.3 serves', async () => {
    const canary = await reader.pickCanary(endpoint(), 'books', 3);
    expect(canary).not.toBeNull();
    const before = await snap(ns.name, release);
    const queuesBefore = queuesOfObjects(await releaseObjects(ns.name, release));
    await helmT(['upgrade', release, 'zilliztech/milvus', '-n', ns.name, '--version', CHART, '--reset-then-reuse-values', '--set', 'image.all.tag=v3.0.3', '--wait', '--timeout', '180s'], 200_000);
    await waitSettled(ns.name, release);
    const after = await snap(ns.name, release);
    expect(await helmStatus(ns.name, release)).toMatchObject({ revision: 2, status: 'deployed', chart: `milvus-${CHART}` });

    // The same Deployments, StatefulSets and PVCs (same uids, replicas, claims): only images differ,
    // and only the Milvus Deployments', each to v3.0.3.
    const diff = diffSnapshots(before, after);
    expect(diff.filter((d) => d.field !== 'image').map((d) => d.text)).toEqual([]);
    expect(diff.filter((d) => d.field === 'image').map((d) => `${d.kind} ${d.name}: ${d.before} -> ${d.after}`)).toEqual(
      MILVUS_COMPONENTS.map((c) => `Deployment ${release}-milvus-${c}: milvusdb/milvus:v2.6.20 -> milvusdb/milvus:v3.0.3`),
    );
    expect(after.workloads.map((w) => `${w.kind}/${w.name}:${w.uid}`)).toEqual(before.workloads.map((w) => `${w.kind}/${w.name}:${w.uid}`));
    expect(after.pvcs.map((p) => `${p.name}:${p.uid}:${p.phase}`)).toEqual(before.pvcs.map((p) => `${p.name}:${p.uid}:${p.phase}`));
    expect(after.pvcs.length).toBeGreaterThan(0);
    for (const d of deploymentsOf(after)) expect(Object.values(d.images), d.name).toEqual(['milvusdb/milvus:v3.0.3']);
    // The config is the same, woodpecker section included; the queue too.
    expect(diffConfigs(before, after).map((d) => d.text)).toEqual([]);
    expect(configOf(after).woodpecker?.storage?.type).toBe('minio');
    expect(queuesOfObjects(await releaseObjects(ns.name, release))).toEqual(queuesBefore);

    // The fake kubelet runs the 3.0 pods: every Deployment's pods Ready on v3.0.3.
    const pods = JSON.parse(await kubectl(cluster(), ['get', 'pods', '-n', ns.name, '-l', `app.kubernetes.io/instance=${release},component`, '-o', 'json'])) as {
      items: Array<{ metadata: { labels: Record<string, string> }; spec: { containers: Array<{ image: string }> }; status: { conditions?: Array<{ type: string; status: string }> } }>;
    };
    const milvusPods = pods.items.filter((p) => MILVUS_COMPONENTS.includes(p.metadata.labels.component ?? ''));
    expect(milvusPods.map((p) => p.metadata.labels.component).sort()).toEqual(deploymentsOf(after).flatMap((d) => Array<string>(d.replicas).fill(d.labels.component!)).sort());
    for (const p of milvusPods) {
      expect(p.spec.containers[0]?.image).toBe('milvusdb/milvus:v3.0.3');
      expect(p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).toBe(true);
    }

    // The fake Milvus follows: 3.0.3 through the SDK, loads not stuck, the canary answers.
    await poll(async () => (await reader.snapshot(endpoint())).serverVersion).toBe('v3.0.3');
    expect(following.behaviour).toMatchObject({ serverVersion: 'v3.0.3', unavailable: false, dataCallsTimeOut: false, loadsStuck: false, why: [] });
    expect((await reader.snapshot(endpoint())).collections[0]?.loadState).toBe('loaded');
    expect(await reader.probe(endpoint(), canary!)).toEqual({ found: 3, searchHits: 3 });
  });
});

describe(`chart ${CHART}: Woodpecker as its own service`, () => {
  const release = 'wps';
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-5022wp');
    // As the docs run Woodpecker as the queue: Pulsar v3 (the chart's default) off, so the release
    // runs one queue.
    await installRelease(ns.name, release, CHART, { 'streaming.woodpecker.embedded': 'false', 'woodpecker.enabled': 'true', 'pulsarv3.enabled': 'false' });
  });
  afterAll(async () => ns?.cleanup());

  it('renders the StatefulSet <fullname>-woodpecker (4 pods, Ready) behind its headless Service; the config says storage type service; the bot sees a Woodpecker queue', async () => {
    const s = await snap(ns.name, release);
    const wp = s.workloads.find((w) => w.kind === 'StatefulSet' && w.name === `${release}-milvus-woodpecker`);
    expect(wp).toMatchObject({
      replicas: 4,
      images: { woodpecker: 'milvusdb/woodpecker:latest' },
      volumeClaimTemplates: ['woodpecker-storage'],
      labels: { 'app.kubernetes.io/name': 'milvus', 'app.kubernetes.io/instance': release, component: 'woodpecker', 'helm.sh/chart': `milvus-${CHART}` },
    });
    expect(s.workloads.filter((w) => w.kind === 'StatefulSet').map((w) => w.name)).toEqual([`${release}-etcd`, `${release}-minio`, `${release}-milvus-woodpecker`].sort());
    expect(s.pvcs.filter((p) => p.name.startsWith('woodpecker-storage-')).map((p) => `${p.name} ${p.phase}`)).toEqual(
      [0, 1, 2, 3].map((i) => `woodpecker-storage-${release}-milvus-woodpecker-${i} Bound`),
    );
    const sts = JSON.parse(await kubectl(cluster(), ['get', 'statefulset', `${release}-milvus-woodpecker`, '-n', ns.name, '-o', 'json'])) as { spec: { serviceName: string; podManagementPolicy: string }; status: { readyReplicas?: number } };
    expect(sts.spec).toMatchObject({ serviceName: `${release}-milvus-woodpecker-headless`, podManagementPolicy: 'Parallel' });
    expect(sts.status.readyReplicas).toBe(4);
    const svc = JSON.parse(await kubectl(cluster(), ['get', 'service', `${release}-milvus-woodpecker-headless`, '-n', ns.name, '-o', 'json'])) as { spec: { clusterIP: string; selector: Record<string, string> } };
    expect(svc.spec).toMatchObject({ clusterIP: 'None', selector: { 'app.kubernetes.io/instance': release, component: 'woodpecker' } });

    const config = configOf(s);
    expect(config.mq?.type).toBe('woodpecker');
    expect(config.woodpecker?.storage).toEqual({ type: 'service', rootPath: '/woodpecker/data' });
    expect(JSON.stringify(config.woodpecker?.client)).toContain(`${release}-milvus-woodpecker-0.${release}-milvus-woodpecker-headless:18080`);

    // The bot's reading of the release: the Woodpecker StatefulSet is the queue's workload; the
    // Milvus Deployments are the 2.6 topology.
    const objects = await releaseObjects(ns.name, release);
    expect(queueOfObjects(objects)).toBe('woodpecker');
    expect(queuesOfObjects(objects)).toEqual(['woodpecker']);
    expect(deploymentsOf(s).map((d) => d.labels.component).sort()).toEqual(MILVUS_COMPONENTS);
  });
});
