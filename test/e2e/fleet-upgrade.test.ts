/**
 * Fleets (issue 28), the run: on the control plane with real helm and the fixture charts.
 * - Six releases in two namespaces, waves 1,50%,100%: all upgraded, and the order of the waves
 *   seen from a watch on the ReplicaSets (the cluster's word, not the bot's log): no release of a
 *   wave gets a new ReplicaSet before every release of the wave before has its last one.
 * - A canary that crash-loops on the new version: the fleet halts after wave 1, nothing of
 *   wave 2 starts (no new ReplicaSet, no image changed), the others are ended "not run" with the
 *   reason, and the canary's rollback is offered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppsV1Api, KubeConfig, Watch, type V1ReplicaSet } from '@kubernetes/client-node';
import { cli, cluster, imagesByComponent, installRelease, newNamespace } from './helpers.js';
import { snapshotRelease, diffSnapshots } from './release-snapshot.js';

const FAST = ['--poll-ms', '200', '--settle', '1'];

/** The first and last new ReplicaSet of each release (instance label) in the namespaces, by creation order. */
async function watchFleet(namespaces: readonly string[]): Promise<{ order: Array<{ release: string; tag: string; seq: number }>; stop: () => void }> {
  const kc = new KubeConfig();
  kc.loadFromFile(cluster().kubeconfig);
  const order: Array<{ release: string; tag: string; seq: number }> = [];
  const stops: Array<() => void> = [];
  let seq = 0;
  for (const namespace of namespaces) {
    const existing = await kc.makeApiClient(AppsV1Api).listNamespacedReplicaSet({ namespace });
    const known = new Set(existing.items.map((rs) => rs.metadata?.uid));
    const req = await new Watch(kc).watch(
      `/apis/apps/v1/namespaces/${namespace}/replicasets`,
      { resourceVersion: existing.metadata?.resourceVersion },
      (type: string, rs: V1ReplicaSet) => {
        if (type !== 'ADDED' || known.has(rs.metadata?.uid)) return;
        known.add(rs.metadata?.uid);
        const image = rs.spec?.template?.spec?.containers?.[0]?.image ?? '';
        order.push({ release: `${namespace}/${rs.metadata?.labels?.['app.kubernetes.io/instance'] ?? '?'}`, tag: image.split(':').pop() ?? '', seq: seq++ });
      },
      () => {},
    );
    stops.push(() => req.abort());
  }
  return { order, stop: () => stops.forEach((s) => s()) };
}

describe('fleet upgrade', () => {
  let x: { name: string; cleanup: () => Promise<void> };
  let y: { name: string; cleanup: () => Promise<void> };
  const names: Array<[string, string]> = [];

  beforeAll(async () => {
    x = await newNamespace('e2e-fleetup-x');
    y = await newNamespace('e2e-fleetup-y');
    for (const [ns, release] of [
      [x.name, 'milvus-a'],
      [x.name, 'milvus-b'],
      [x.name, 'milvus-c'],
      [y.name, 'milvus-d'],
      [y.name, 'milvus-e'],
      [y.name, 'milvus-f'],
    ] as const) {
      names.push([ns, release]);
    }
    await Promise.all(names.map(([ns, release]) => installRelease(ns, release, '4.2.58')));
  });
  afterAll(async () => {
    await x?.cleanup();
    await y?.cleanup();
  });

  it('CLI: six releases in waves 1,50%,100%: all on 2.6.15, each wave after the whole wave before (seen from a watch), data objects untouched', async () => {
    const before = await Promise.all(names.map(([ns, r]) => snapshotRelease(cluster().kubeconfig, ns, r)));
    const watch = await watchFleet([x.name, y.name]);
    let r;
    try {
      r = await cli(['fleet', 'upgrade', '2.6.15', '--select', 'e2e-fleetup-*/milvus-*', '--waves', '1,50%,100%', '--max-in-flight', '2', '--yes', '--json', ...FAST]);
    } finally {
      watch.stop();
    }
    expect(r.code, r.stdout.slice(-3000) + r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const result = JSON.parse(lines.slice(lines.findIndex((l) => l === '{')).join('\n')) as { result: string; members: Array<{ wave: number; namespace: string; release: string; state: string }> };
    expect(result.result).toBe('succeeded');
    const waves = [1, 2, 3].map((w) => result.members.filter((m) => m.wave === w).map((m) => `${m.namespace}/${m.release}`));
    expect(waves.map((w) => w.length)).toEqual([1, 2, 3]);
    expect(waves[0]).toEqual([`${x.name}/milvus-a`]);
    expect(result.members.every((m) => m.state === 'succeeded')).toBe(true);
    // The cluster's order: every new ReplicaSet of a wave comes after the last one of the wave before.
    const ofWave = (w: number) => watch.order.filter((o) => waves[w]!.includes(o.release));
    for (const w of [1, 2]) {
      const lastBefore = Math.max(...ofWave(w - 1).map((o) => o.seq));
      const firstHere = Math.min(...ofWave(w).map((o) => o.seq));
      expect(ofWave(w).length, `wave ${w + 1} made ReplicaSets`).toBeGreaterThan(0);
      expect(firstHere, `wave ${w + 1} began after wave ${w} ended`).toBeGreaterThan(lastBefore);
    }
    for (const [ns, release] of names) expect(new Set(Object.values(await imagesByComponent(ns, release))), release).toEqual(new Set(['milvusdb/milvus:v2.6.15']));
    // As one upgrade of the chart: the Milvus Deployments, the config and etcd's image (the new
    // chart's) change; every StatefulSet and PVC keeps its uid.
    const after = await Promise.all(names.map(([ns, rel]) => snapshotRelease(cluster().kubeconfig, ns, rel)));
    const allowed = (d: { kind: string; field?: string }) => d.kind === 'Deployment' || d.kind === 'ConfigMap' || (d.kind === 'StatefulSet' && d.field === 'image');
    before.forEach((b, i) => expect(diffSnapshots(b, after[i]!).filter((d) => !allowed(d)).map((d) => d.text), names[i]!.join('/')).toEqual([]));
  });
});

describe('fleet upgrade with a canary that crash-loops', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-fleetsick');
    await installRelease(ns.name, 'milvus-a', '4.2.58', { 'queryNode.annotations.fake-kubelet/crashloop-on': 'v2.6.15' });
    await Promise.all(['milvus-b', 'milvus-c'].map((r) => installRelease(ns.name, r, '4.2.58')));
  });
  afterAll(async () => ns?.cleanup());

  it('halts after wave 1: nothing of wave 2 starts, the rest is ended "not run" with the reason, the canary\'s rollback is offered', async () => {
    const before = await Promise.all(['milvus-b', 'milvus-c'].map((r) => snapshotRelease(cluster().kubeconfig, ns.name, r)));
    const watch = await watchFleet([ns.name]);
    let r;
    try {
      r = await cli(['fleet', 'upgrade', '2.6.15', '--select', `${ns.name}/milvus-*`, '--yes', '--rollout-timeout', '40', ...FAST]);
    } finally {
      watch.stop();
    }
    expect(r.code, r.stdout.slice(-3000) + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/fleet fleet-\d+ halted: the fleet halted in wave 1 \(the canary\): milvus-a failed/);
    expect(r.stdout).toMatch(/wave 2: e2e-fleetsick-\w+\/milvus-b \(req-\d+\) cancelled: not run: the fleet halted in wave 1 \(the canary\): milvus-a failed/);
    expect(r.stdout).toMatch(/to roll back milvus-a: milvus-upgrade rollback milvus-a -n e2e-fleetsick-\w+ --yes/);
    // Nothing of wave 2 ever started.
    expect(watch.order.filter((o) => !o.release.endsWith('/milvus-a'))).toEqual([]);
    const after = await Promise.all(['milvus-b', 'milvus-c'].map((rel) => snapshotRelease(cluster().kubeconfig, ns.name, rel)));
    before.forEach((b, i) => expect(diffSnapshots(b, after[i]!).map((d) => d.text)).toEqual([]));
  });
});
