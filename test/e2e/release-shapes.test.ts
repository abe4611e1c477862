/**
 * Issue 9 items 4-7 on the real control plane: Attu is left alone, every resource-group
 * Deployment is upgraded, and the refusals of the migration tool's range and of the 2.6 line
 * leave the whole release as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cluster, helmStatus, helmT, installRelease, newNamespace, waitSettled } from './helpers.js';
import { kubectl } from '../harness/control-plane.js';
import { diffConfigs, diffSnapshots, snapshotRelease, type ReleaseSnapshot } from './release-snapshot.js';

/** Coordinators settle 1 s instead of the script's 30 s; waits poll every 200 ms. */
const FAST = ['--coordinator-min-ready', '1', '--poll-ms', '200'];
const snap = (ns: string, release: string) => snapshotRelease(cluster().kubeconfig, ns, release);
const deploymentImages = (s: ReleaseSnapshot) =>
  Object.fromEntries(s.workloads.filter((w) => w.kind === 'Deployment').map((w) => [w.name, Object.values(w.images).join(',')]));

describe('Attu beside a rolling upgrade', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-attu');
    await installRelease(ns.name, 'my-release', '4.0.31', { 'attu.enabled': 'true' });
  });
  afterAll(async () => ns.cleanup());

  it('status lists Attu apart; the rolling plan and run leave it as it was', async () => {
    const status = JSON.parse((await cli(['status', 'my-release', '-n', ns.name, '--json'])).stdout);
    expect(status.others.map((o: { deployment: string }) => o.deployment)).toEqual(['my-release-milvus-attu']);
    expect(status.components.map((c: { component: string }) => c.component)).not.toContain('attu');

    const before = await snap(ns.name, 'my-release');
    const plan = JSON.parse((await cli(['plan', 'my-release', '2.4.5', '-n', ns.name, '--strategy', 'rolling', '--json', ...FAST])).stdout);
    expect(JSON.stringify(plan.steps)).not.toContain('my-release-milvus-attu');
    const up = await cli(['upgrade', 'my-release', '2.4.5', '-n', ns.name, '--strategy', 'rolling', '--yes', ...FAST]);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const after = await snap(ns.name, 'my-release');
    const images = deploymentImages(after);
    expect(images['my-release-milvus-attu']).toBe(deploymentImages(before)['my-release-milvus-attu']);
    expect(images['my-release-milvus-attu']).toMatch(/^zilliz\/attu:/);
    for (const [name, image] of Object.entries(images)) if (name !== 'my-release-milvus-attu') expect(image, name).toBe('milvusdb/milvus:v2.4.5');
    // Only Milvus images changed: no StatefulSet, PVC or replica count moved.
    expect(diffSnapshots(before, after).filter((d) => !(d.kind === 'Deployment' && d.field === 'image')).map((d) => d.text)).toEqual([]);
  });
});

describe('resource groups (chart 5.0.19): several querynode and streamingnode Deployments', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-rg');
    await installRelease(ns.name, 'rg', '5.0.19', { replicaResourceGroups: '{rg1,rg2}', 'image.all.tag': 'v2.6.14' });
  });
  afterAll(async () => ns.cleanup());

  it('a rolling upgrade takes every Deployment of every group to the target and checks it at the end', async () => {
    const before = await snap(ns.name, 'rg');
    const plan = JSON.parse((await cli(['plan', 'rg', '2.6.15', '-n', ns.name, '--strategy', 'rolling', '--json'])).stdout);
    const updated = plan.steps.filter((s: { kind: string }) => s.kind === 'update-deployment').map((s: { target: { deployment: string } }) => s.target.deployment);
    expect(updated).toEqual(expect.arrayContaining(['rg-milvus-querynode-rg1', 'rg-milvus-querynode-rg2', 'rg-milvus-streamingnode-rg1', 'rg-milvus-streamingnode-rg2']));
    expect(plan.steps[plan.steps.length - 1].kind).toBe('verify-deployments');
    const up = await cli(['upgrade', 'rg', '2.6.15', '-n', ns.name, '--strategy', 'rolling', '--yes', ...FAST]);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const after = await snap(ns.name, 'rg');
    for (const [name, image] of Object.entries(deploymentImages(after))) expect(image, name).toBe('milvusdb/milvus:v2.6.15');
    expect(Object.keys(deploymentImages(after)).sort()).toEqual(Object.keys(deploymentImages(before)).sort());
    expect(diffSnapshots(before, after).filter((d) => !(d.kind === 'Deployment' && d.field === 'image')).map((d) => d.text)).toEqual([]);
  });
});

describe('refusals leave the whole release unchanged', () => {
  const cases: Array<{ name: string; chart: string; set?: Record<string, string>; args: string[]; message: RegExp }> = [
    // 2.4 -> 2.6 and 2.1 -> 2.4 are routes now (route-26.test.ts); these have no documented way.
    { name: 'a route given a --chart (each hop uses its own)', chart: '4.2.20', args: ['2.6.15', '--chart', '5.0.19'], message: /--chart cannot be given for a route/ },
    { name: 'a route asked as a rolling upgrade', chart: '4.2.20', args: ['2.6.15', '--strategy', 'rolling'], message: /a rolling upgrade cannot take r to 2\.6\.15: it goes through 2\.5\.16 first/ },
    { name: 'a rolling upgrade across 2.5 -> 2.6', chart: '4.2.58', args: ['2.6.15', '--strategy', 'rolling'], message: /streamingnode/ },
  ];
  for (const c of cases) {
    it(`refuses ${c.name} with exit 2`, async () => {
      const ns = await newNamespace('e2e-refuse');
      try {
        await installRelease(ns.name, 'r', c.chart, c.set ?? {});
        const before = await snap(ns.name, 'r');
        const r = await cli(['upgrade', 'r', ...c.args, '-n', ns.name, '--yes']);
        expect(r.code, r.stdout + r.stderr).toBe(2);
        expect(r.stderr).toMatch(c.message);
        expect(await helmStatus(ns.name, 'r')).toMatchObject({ revision: 1, status: 'deployed' });
        expect(diffSnapshots(before, await snap(ns.name, 'r'))).toEqual([]);
      } finally {
        await ns.cleanup();
      }
    });
  }
});

describe('a GPU release (issue 24): the flavour is kept by the helm path and by the rolling path', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-gpu');
    await installRelease(ns.name, 'gpu', '4.1.24', { 'image.all.tag': 'v2.3.11-gpu' });
  });
  afterAll(async () => ns.cleanup());

  const milvusImages = (s: ReleaseSnapshot) => Object.entries(deploymentImages(s)).filter(([name]) => name.startsWith('gpu-milvus-'));
  /** What may differ besides Milvus images: nothing of the StatefulSets and PVCs (the same objects). */
  const dataObjectChanges = (before: ReleaseSnapshot, after: ReleaseSnapshot) =>
    diffSnapshots(before, after).filter((d) => d.kind === 'StatefulSet' || d.kind === 'PersistentVolumeClaim').map((d) => d.text);

  it('2.3.11-gpu -> 2.4.5 by helm, then -> 2.4.7 by rolling update: every Milvus Deployment on the GPU build, the data objects untouched', async () => {
    const start = await snap(ns.name, 'gpu');
    expect(milvusImages(start).length).toBeGreaterThan(3);
    for (const [name, image] of milvusImages(start)) expect(image, name).toBe('milvusdb/milvus:v2.3.11-gpu');

    const refused = await cli(['plan', 'gpu', '2.4.5-gpu', '-n', ns.name]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('"2.4.5-gpu" names an image flavour, not a Milvus version');

    const plan = JSON.parse((await cli(['plan', 'gpu', '2.4.5', '-n', ns.name, '--json'])).stdout);
    expect(plan.from).toBe('2.3.11');
    const upgradeStep = plan.steps.find((s: { kind: string }) => s.kind === 'helm-upgrade');
    expect(upgradeStep.set['image.all.tag']).toBe('v2.4.5-gpu');
    const byHelm = await cli(['upgrade', 'gpu', '2.4.5', '-n', ns.name, '--yes', ...FAST]);
    expect(byHelm.code, byHelm.stdout + byHelm.stderr).toBe(0);
    expect(await helmStatus(ns.name, 'gpu')).toMatchObject({ chart: 'milvus-4.1.36' });
    const afterHelm = await snap(ns.name, 'gpu');
    for (const [name, image] of milvusImages(afterHelm)) expect(image, name).toBe('milvusdb/milvus:v2.4.5-gpu');
    expect(dataObjectChanges(start, afterHelm)).toEqual([]);

    const rolling = await cli(['upgrade', 'gpu', '2.4.7', '-n', ns.name, '--strategy', 'rolling', '--yes', ...FAST]);
    expect(rolling.code, rolling.stdout + rolling.stderr).toBe(0);
    const afterRolling = await snap(ns.name, 'gpu');
    for (const [name, image] of milvusImages(afterRolling)) expect(image, name).toBe('milvusdb/milvus:v2.4.7-gpu');
    // A rolling upgrade changes only the Milvus images (and the bot's rollback marks): same objects, same replicas.
    expect(diffSnapshots(afterHelm, afterRolling).filter((d) => !(d.kind === 'Deployment' && d.field === 'image')).map((d) => d.text)).toEqual([]);
  });
});

describe('into 2.6 from the shapes the mixcoord rule does not fit (issue 24)', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-shapes26');
  });
  afterAll(async () => ns.cleanup());

  const deploymentNames = (s: ReleaseSnapshot) => s.workloads.filter((w) => w.kind === 'Deployment').map((w) => w.name).sort();
  // The same objects, with the same claims and replicas; a dependency's image may move with its chart (etcd 3.5.18 -> 3.5.25 in 5.0.x).
  const dataObjectChanges = (before: ReleaseSnapshot, after: ReleaseSnapshot) =>
    diffSnapshots(before, after).filter((d) => (d.kind === 'StatefulSet' || d.kind === 'PersistentVolumeClaim') && d.field !== 'image').map((d) => d.text);

  it('a standalone 2.5.16 (rocksmq, MinIO standalone) goes to 2.6.15 in one helm hop: the same standalone Deployment, PVCs and MinIO; chart 5.x keeps rocksmq', async () => {
    await installRelease(ns.name, 'solo', '4.2.58', { 'cluster.enabled': 'false', 'pulsarv3.enabled': 'false', 'minio.mode': 'standalone' });
    const before = await snap(ns.name, 'solo');
    expect(deploymentNames(before)).toEqual(['solo-milvus-standalone', 'solo-minio']);
    // Its own PVC, MinIO's and etcd's (SPEC section 9; fixture-facts pins each).
    expect(before.pvcs.map((p) => p.name)).toEqual(['data-solo-etcd-0', 'solo-milvus', 'solo-minio']);
    const plan = JSON.parse((await cli(['plan', 'solo', '2.6.15', '-n', ns.name, '--json'])).stdout);
    // One hop: --json shows it as its single hop (issue 27), with no backup (no service here) and why there is no rollback.
    expect(plan.hops).toEqual([expect.objectContaining({ from: '2.5.16', to: '2.6.15', backup: null, rollback: null, restore: null, noRollback: expect.stringMatching(/into Milvus 2\.6 there is no way back/) })]);
    expect(plan).toMatchObject({ from: '2.5.16', to: '2.6.15', path: 'helm' });
    expect(plan.messageQueue.note).toMatch(/RocksMQ, kept/);
    const up = await cli(['upgrade', 'solo', '2.6.15', '-n', ns.name, '--yes', ...FAST]);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const after = await snap(ns.name, 'solo');
    expect(deploymentNames(after)).toEqual(['solo-milvus-standalone', 'solo-minio']);
    expect(deploymentImages(after)['solo-milvus-standalone']).toBe('milvusdb/milvus:v2.6.15');
    const diff = diffSnapshots(before, after);
    // The same objects: no Deployment, StatefulSet or PVC deleted and created again.
    expect(diff.filter((d) => d.field === 'uid' || d.field === 'added' || d.field === 'removed').map((d) => d.text)).toEqual([]);
    expect(after.pvcs.map((p) => `${p.name}:${p.uid}`)).toEqual(before.pvcs.map((p) => `${p.name}:${p.uid}`));
    expect(dataObjectChanges(before, after)).toEqual([]);
    // Chart 5.x's standalone default is woodpecker; its lookup kept the queue the data is in.
    expect(diffConfigs(before, after).filter((d) => /mq\.type|messageQueue/.test(d.container ?? '')).map((d) => d.text)).toEqual([]);
    expect(after.configs?.find((c) => c.name === 'solo-milvus')?.files['default.yaml']).toMatch(/^messageQueue: rocksmq$/m);
  });

  it('a standalone 2.3.11 -> 2.4.5 by helm, then -> 2.6.15 by a route through 2.5.16 (no mixcoord hop): one Deployment throughout, the same PVCs, rocksmq kept', async () => {
    await installRelease(ns.name, 'lone', '4.1.24', { 'cluster.enabled': 'false', 'pulsar.enabled': 'false', 'minio.mode': 'standalone' });
    const before = await snap(ns.name, 'lone');
    expect(deploymentNames(before)).toEqual(['lone-milvus-standalone', 'lone-minio']);
    const to24 = await cli(['upgrade', 'lone', '2.4.5', '-n', ns.name, '--yes', ...FAST]);
    expect(to24.code, to24.stdout + to24.stderr).toBe(0);
    expect(deploymentImages(await snap(ns.name, 'lone'))['lone-milvus-standalone']).toBe('milvusdb/milvus:v2.4.5');
    const plan = JSON.parse((await cli(['plan', 'lone', '2.6.15', '-n', ns.name, '--json'])).stdout);
    expect(plan.hops.map((h: { from: string; to: string; set: Record<string, string> }) => `${h.from}->${h.to}${h.set['mixCoordinator.enabled'] ? ' mixcoord' : ''}`)).toEqual(['2.4.5->2.5.16', '2.5.16->2.6.15']);
    const up = await cli(['upgrade', 'lone', '2.6.15', '-n', ns.name, '--yes', ...FAST]);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const after = await snap(ns.name, 'lone');
    expect(deploymentNames(after)).toEqual(['lone-milvus-standalone', 'lone-minio']);
    expect(deploymentImages(after)['lone-milvus-standalone']).toBe('milvusdb/milvus:v2.6.15');
    expect(diffSnapshots(before, after).filter((d) => d.field === 'uid' || d.field === 'added' || d.field === 'removed').map((d) => d.text)).toEqual([]);
    expect(after.pvcs.map((p) => `${p.name}:${p.uid}`)).toEqual(before.pvcs.map((p) => `${p.name}:${p.uid}`));
    expect(dataObjectChanges(before, after)).toEqual([]);
    expect(after.configs?.find((c) => c.name === 'lone-milvus')?.files['default.yaml']).toMatch(/^messageQueue: rocksmq$/m);
  });

  it('a 2.5.16 cluster on the four coordinators: 2.5.16 again with mixcoord, then 2.6.15; the data objects stay', async () => {
    await installRelease(ns.name, 'four', '4.2.58', { 'mixCoordinator.enabled': 'false' });
    const before = await snap(ns.name, 'four');
    expect(deploymentNames(before)).toEqual(expect.arrayContaining(['four-milvus-rootcoord', 'four-milvus-datacoord', 'four-milvus-querycoord', 'four-milvus-indexcoord']));
    const plan = JSON.parse((await cli(['plan', 'four', '2.6.15', '-n', ns.name, '--json'])).stdout);
    expect(plan.hops.map((h: { from: string; to: string; chart: string | null }) => [h.from, h.to, h.chart])).toEqual([['2.5.16', '2.5.16', '4.2.58'], ['2.5.16', '2.6.15', '5.0.19']]);
    const up = await cli(['upgrade', 'four', '2.6.15', '-n', ns.name, '--yes', ...FAST]);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const after = await snap(ns.name, 'four');
    expect(deploymentNames(after)).toEqual(['four-milvus-datanode', 'four-milvus-mixcoord', 'four-milvus-proxy', 'four-milvus-querynode', 'four-milvus-streamingnode']);
    for (const [name, image] of Object.entries(deploymentImages(after))) expect(image, name).toBe('milvusdb/milvus:v2.6.15');
    expect(dataObjectChanges(before, after)).toEqual([]);
  });
});

describe('nameOverride (issue 24): the chart\'s name label changes, the release is still found and upgraded', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-nameov');
    await installRelease(ns.name, 'named', '4.1.24', { nameOverride: 'vdb' });
  });
  afterAll(async () => ns.cleanup());

  it('status lists its components; a helm upgrade takes every one to the target; the data objects stay', async () => {
    const before = await snap(ns.name, 'named');
    const names = Object.keys(deploymentImages(before));
    expect(names).toContain('named-vdb-proxy');
    const status = await cli(['status', 'named', '-n', ns.name, '--json']);
    expect(status.code, status.stdout + status.stderr).toBe(0);
    const components = JSON.parse(status.stdout).components.map((c: { deployment: string }) => c.deployment).sort();
    expect(components).toEqual(names.filter((n) => n.startsWith('named-vdb-')).sort());
    const up = await cli(['upgrade', 'named', '2.4.5', '-n', ns.name, '--yes', ...FAST]);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const after = await snap(ns.name, 'named');
    for (const name of components) expect(deploymentImages(after)[name], name).toBe('milvusdb/milvus:v2.4.5');
    expect(diffSnapshots(before, after).filter((d) => d.kind === 'StatefulSet' || d.kind === 'PersistentVolumeClaim').map((d) => d.text)).toEqual([]);
  });
});

describe('the config guard (issue 24): chart 4.0.0 dropped metadata.rootPath', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-rootpath');
    await installRelease(ns.name, 'rooted', '3.3.6', { 'metadata.rootPath': 'team-a' });
  });
  afterAll(async () => ns.cleanup());

  const renderedConfig = async () => {
    const out = await kubectl(cluster(), ['get', 'configmap', 'rooted-milvus', '-n', ns.name, '-o', 'json']);
    return (JSON.parse(out) as { data: Record<string, string> }).data;
  };

  it('a 3.x release with a custom etcd root: the 4.x chart is refused, naming the setting and the fix; once carried in user.yaml, it upgrades and keeps it', async () => {
    const before = await snap(ns.name, 'rooted');
    expect((await renderedConfig())['default.yaml']).toContain('rootPath: team-a');
    const refused = await cli(['plan', 'rooted', '2.2.13', '-n', ns.name]);
    expect(refused.code, refused.stdout + refused.stderr).not.toBe(0);
    expect(refused.stderr).toContain('Milvus config etcd.rootPath: team-a -> by-dev (where in etcd the metadata is)');
    expect(refused.stderr).toContain('write it in extraConfigFiles."user.yaml" (for the etcd root: etcd.rootPath)');
    const up = await cli(['upgrade', 'rooted', '2.2.13', '-n', ns.name, '--yes', ...FAST]);
    expect(up.code).not.toBe(0);
    expect(await helmStatus(ns.name, 'rooted')).toMatchObject({ revision: 1, chart: 'milvus-3.3.6' });
    expect(diffSnapshots(before, await snap(ns.name, 'rooted'))).toEqual([]);

    // The fix the refusal gives: the setting in the release's own user.yaml, on the chart it runs.
    await helmT(['upgrade', 'rooted', 'zilliztech/milvus', '-n', ns.name, '--version', '3.3.6', '--reuse-values', '--set-string', 'extraConfigFiles.user\\.yaml=etcd:\n  rootPath: team-a\n', '--wait', '--timeout', '120s']);
    await waitSettled(ns.name, 'rooted');
    const carried = await cli(['upgrade', 'rooted', '2.2.13', '-n', ns.name, '--yes', ...FAST]);
    expect(carried.code, carried.stdout + carried.stderr).toBe(0);
    expect(await helmStatus(ns.name, 'rooted')).toMatchObject({ chart: 'milvus-4.0.31' });
    const config = await renderedConfig();
    expect(config['default.yaml']).not.toContain('rootPath: team-a');
    expect(config['user.yaml']).toContain('rootPath: team-a');
  });
});

describe('message queues into 2.6 (issue 24): the queue and its data objects stay', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-queues26');
  });
  afterAll(async () => ns.cleanup());

  const statefulSets = (s: ReleaseSnapshot) => s.workloads.filter((w) => w.kind === 'StatefulSet').map((w) => `${w.name}:${w.uid}`).sort();
  const pvcs = (s: ReleaseSnapshot) => s.pvcs.map((p) => `${p.name}:${p.uid}`).sort();
  const milvus = (s: ReleaseSnapshot, release: string) => Object.entries(deploymentImages(s)).filter(([n]) => n.startsWith(`${release}-milvus-`) && !n.endsWith('-attu'));

  it('Kafka, 2.3.11 -> 2.6.15 through 2.5.16: every StatefulSet (kafka, zookeeper, etcd, minio) and PVC is the same object; the config still names kafka', async () => {
    await installRelease(ns.name, 'kaf', '4.1.24', { 'kafka.enabled': 'true', 'pulsar.enabled': 'false' });
    const before = await snap(ns.name, 'kaf');
    expect(statefulSets(before).map((s) => s.split(':')[0])).toEqual(expect.arrayContaining(['kaf-kafka', 'kaf-zookeeper']));
    const plan = JSON.parse((await cli(['plan', 'kaf', '2.6.15', '-n', ns.name, '--json'])).stdout);
    expect(plan.hops.map((h: { to: string }) => h.to)).toEqual(['2.5.16', '2.6.15']);
    expect(plan.messageQueue.note).toMatch(/Kafka, kept/);
    const up = await cli(['upgrade', 'kaf', '2.6.15', '-n', ns.name, '--yes', ...FAST]);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const after = await snap(ns.name, 'kaf');
    for (const [name, image] of milvus(after, 'kaf')) expect(image, name).toBe('milvusdb/milvus:v2.6.15');
    expect(statefulSets(after)).toEqual(statefulSets(before));
    expect(pvcs(after)).toEqual(pvcs(before));
    const cm = JSON.parse(await kubectl(cluster(), ['get', 'configmap', 'kaf-milvus', '-n', ns.name, '-o', 'json'])) as { data: Record<string, string> };
    expect(cm.data['default.yaml']).toMatch(/^messageQueue: kafka$/m);
  });

  it('Pulsar v3 (chart 4.2.58 default), 2.5.16 -> 2.6.15: the Pulsar v3 StatefulSets and PVCs are the same objects', async () => {
    await installRelease(ns.name, 'pv3', '4.2.58');
    const before = await snap(ns.name, 'pv3');
    expect(statefulSets(before).some((s) => s.startsWith('pv3-pulsarv3-'))).toBe(true);
    const plan = JSON.parse((await cli(['plan', 'pv3', '2.6.15', '-n', ns.name, '--json'])).stdout);
    expect(plan.messageQueue.note).toMatch(/Pulsar v3, kept/);
    const up = await cli(['upgrade', 'pv3', '2.6.15', '-n', ns.name, '--yes', ...FAST]);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const after = await snap(ns.name, 'pv3');
    for (const [name, image] of milvus(after, 'pv3')) expect(image, name).toBe('milvusdb/milvus:v2.6.15');
    expect(statefulSets(after)).toEqual(statefulSets(before));
    expect(pvcs(after)).toEqual(pvcs(before));
  });
});

describe('MinIO FS (issue 24): a 4.0.12 standalone, upgraded past chart 4.0.13', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-miniofs');
    await installRelease(ns.name, 'fs', '4.0.12', { 'cluster.enabled': 'false', 'minio.mode': 'standalone', 'pulsar.enabled': 'false' });
  });
  afterAll(async () => ns.cleanup());

  const OLD = 'minio/minio:RELEASE.2022-03-17T06-34-49Z';
  const minioReady = async () => {
    const out = await kubectl(cluster(), ['get', 'pods', '-n', ns.name, '-l', 'app=minio,release=fs', '-o', 'json']);
    const pods = (JSON.parse(out) as { items: Array<{ metadata: { deletionTimestamp?: string }; spec: { containers: Array<{ image: string }> }; status: { conditions?: Array<{ type: string; status: string }> } }> }).items.filter((p) => !p.metadata.deletionTimestamp);
    return pods.map((p) => `${p.spec.containers[0]!.image} ${p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? 'ready' : 'not ready'}`);
  };

  it('is refused before any change, naming both MinIO images and the fix; once minio.image.tag is kept, 2.2.4 -> 2.2.13 upgrades and MinIO keeps its image, pod and PVC', async () => {
    const before = await snap(ns.name, 'fs');
    expect(before.workloads.find((w) => w.name === 'fs-minio')?.images).toEqual({ minio: OLD });
    const refused = await cli(['upgrade', 'fs', '2.2.13', '-n', ns.name, '--yes', ...FAST]);
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stderr).toContain(`MinIO Deployment/fs-minio runs ${OLD} on one drive`);
    expect(refused.stderr).toContain('cannot read it ("found backend type fs")');
    const fix = `helm upgrade fs zilliztech/milvus -n ${ns.name} --version 4.0.12 --reuse-values --set minio.image.tag=RELEASE.2022-03-17T06-34-49Z`;
    expect(refused.stderr).toContain(fix);
    expect(await helmStatus(ns.name, 'fs')).toMatchObject({ revision: 1, chart: 'milvus-4.0.12' });
    expect(diffSnapshots(before, await snap(ns.name, 'fs'))).toEqual([]);
    expect(diffConfigs(before, await snap(ns.name, 'fs'))).toEqual([]);

    // The fix, as the refusal gives it: the release's own value, on the chart it runs (nothing restarts).
    await helmT([...fix.split(' ').slice(1), '--wait', '--timeout', '120s']);
    await waitSettled(ns.name, 'fs');
    const pinned = await snap(ns.name, 'fs');
    expect(diffSnapshots(before, pinned)).toEqual([]);
    const up = await cli(['upgrade', 'fs', '2.2.13', '-n', ns.name, '--yes', ...FAST]);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(await helmStatus(ns.name, 'fs')).toMatchObject({ chart: 'milvus-4.0.31' });
    const after = await snap(ns.name, 'fs');
    expect(deploymentImages(after)['fs-milvus-standalone']).toBe('milvusdb/milvus:v2.2.13');
    expect(deploymentImages(after)['fs-minio']).toBe(OLD);
    expect(diffSnapshots(before, after).filter((d) => !(d.name === 'fs-milvus-standalone' && d.field === 'image')).map((d) => d.text)).toEqual([]);
    expect(after.pvcs.map((p) => `${p.name}:${p.uid}`)).toEqual(before.pvcs.map((p) => `${p.name}:${p.uid}`));
    expect(await minioReady()).toEqual([`${OLD} ready`]);
  });
});

describe('external etcd and S3 (issue 24): kept external through an upgrade', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  const external = {
    'etcd.enabled': 'false',
    'minio.enabled': 'false',
    'externalEtcd.enabled': 'true',
    'externalEtcd.endpoints': '{etcd-a.db:2379,etcd-b.db:2379}',
    'externalS3.enabled': 'true',
    'externalS3.host': 's3.db',
    'externalS3.port': '443',
    'externalS3.bucketName': 'prod-vectors',
    'externalS3.rootPath': 'milvus',
  };
  beforeAll(async () => {
    ns = await newNamespace('e2e-external');
    await installRelease(ns.name, 'ext', '4.1.24', external);
  });
  afterAll(async () => ns.cleanup());

  it('2.3.11 -> 2.4.5 by helm: no in-chart etcd or MinIO appears, the Pulsar StatefulSets and PVCs stay, the config still names the external endpoints, bucket and root', async () => {
    const before = await snap(ns.name, 'ext');
    const sets = (s: ReleaseSnapshot) => s.workloads.filter((w) => w.kind === 'StatefulSet').map((w) => w.name);
    expect(sets(before).filter((n) => /etcd|minio/.test(n))).toEqual([]);
    const up = await cli(['upgrade', 'ext', '2.4.5', '-n', ns.name, '--yes', ...FAST]);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const after = await snap(ns.name, 'ext');
    expect(sets(after)).toEqual(sets(before));
    expect(after.pvcs.map((p) => `${p.name}:${p.uid}`)).toEqual(before.pvcs.map((p) => `${p.name}:${p.uid}`));
    expect(diffSnapshots(before, after).filter((d) => d.kind !== 'Deployment').map((d) => d.text)).toEqual([]);
    const where = /^default\.yaml (etcd\.endpoints|minio\.(address|port|bucketName|rootPath))$/;
    expect(diffConfigs(before, after).filter((d) => where.test(d.container ?? '')).map((d) => d.text)).toEqual([]);
    const config = after.configs?.find((c) => c.name === 'ext-milvus')?.files['default.yaml'] ?? '';
    expect(config).toMatch(/^ {4}- etcd-a\.db:2379$/m);
    expect(config).toMatch(/^ {2}address: s3\.db$/m);
    expect(config).toMatch(/^ {2}bucketName: prod-vectors$/m);
  });
});
