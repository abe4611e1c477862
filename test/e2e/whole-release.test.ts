/**
 * Issue 9 on the real control plane with real helm and the fixture charts that reproduce the
 * real chart's queue facts: no upgrade may delete a message queue. Every test lists the WHOLE
 * release (every Deployment, StatefulSet, PVC and image) before and after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cluster, helmStatus, installRelease, newNamespace } from './helpers.js';
import { diffSnapshots, snapshotRelease, type ReleaseSnapshot, type SnapshotDiff } from './release-snapshot.js';

const snap = (ns: string, release: string) => snapshotRelease(cluster().kubeconfig, ns, release);
const statefulSets = (s: ReleaseSnapshot) => s.workloads.filter((w) => w.kind === 'StatefulSet');
/**
 * What may differ after an upgrade: Milvus's own Deployments, and the images the new chart gives
 * its dependencies; no StatefulSet, PVC, claim template or replica count of theirs.
 */
const dataDiffs = (d: readonly SnapshotDiff[]) => d.filter((x) => x.kind !== 'Deployment' && x.field !== 'image').map((x) => x.text);

const PULSAR_V2 = ['bookie', 'broker', 'proxy', 'recovery', 'zookeeper'].map((c) => `my-release-pulsar-${c}`);

describe('the headline upgrade of a Pulsar v2 release (chart 4.1.24, Milvus 2.3.11) to 2.4.23', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  let before: ReleaseSnapshot;
  beforeAll(async () => {
    ns = await newNamespace('e2e-whole');
    await installRelease(ns.name, 'my-release', '4.1.24');
    before = await snap(ns.name, 'my-release');
  });
  afterAll(async () => ns.cleanup());

  it('the release starts with its five Pulsar v2 StatefulSets, etcd and minio, with PVCs', () => {
    expect(statefulSets(before).map((w) => w.name)).toEqual(expect.arrayContaining([...PULSAR_V2, 'my-release-etcd', 'my-release-minio']));
    expect(before.pvcs.length).toBeGreaterThanOrEqual(5);
    expect(before.pvcs.every((p) => p.phase === 'Bound')).toBe(true);
  });

  it('a plan on chart 4.2.25 (which cannot render Pulsar v2) is refused with the fix, and nothing changes', async () => {
    const r = await cli(['plan', 'my-release', '2.4.23', '-n', ns.name, '--chart', '4.2.25']);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    for (const sts of PULSAR_V2) expect(r.stderr).toContain(`StatefulSet/${sts} would be deleted`);
    expect(r.stderr).toContain('message queue the release uses Pulsar v2; the upgrade removes Pulsar v2');
    expect(r.stderr).toContain('fix: use chart 4.2.20 with image.all.tag=v2.4.23');
    const up = await cli(['upgrade', 'my-release', '2.4.23', '-n', ns.name, '--chart', '4.2.25', '--yes']);
    expect(up.code, up.stdout + up.stderr).toBe(2);
    expect(await helmStatus(ns.name, 'my-release')).toMatchObject({ revision: 1, status: 'deployed' });
    expect(diffSnapshots(before, await snap(ns.name, 'my-release'))).toEqual([]);
  });

  it("the bot's own choice keeps Pulsar v2: chart 4.2.20 with image.all.tag, every StatefulSet and PVC still there", async () => {
    const plan = await cli(['plan', 'my-release', '2.4.23', '-n', ns.name, '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    const p = JSON.parse(plan.stdout);
    expect(p.chart).toBe('4.2.20');
    expect(p.steps.find((s: { kind: string }) => s.kind === 'helm-upgrade').set).toEqual({ 'image.all.tag': 'v2.4.23' });
    expect(p.reasons.join(' ')).toContain('4.2.21-4.2.29 are passed over');
    expect(p.messageQueue).toEqual({ kind: 'pulsar-v2', note: 'message queue: Pulsar v2, kept' });
    const changes = p.changes as Array<{ kind: string; name: string; change: string; detail: string }>;
    expect(changes.filter((c) => c.kind === 'StatefulSet' && c.change === 'removed')).toEqual([]);
    // 4.2.20 has mixcoord: the four coordinators go, mixcoord comes, the rest change image.
    expect(changes.filter((c) => c.kind === 'Deployment' && c.change === 'removed').map((c) => c.name).sort()).toEqual(
      ['datacoord', 'indexcoord', 'querycoord', 'rootcoord'].map((c) => `my-release-milvus-${c}`),
    );
    expect(changes.find((c) => c.name === 'my-release-milvus-proxy')).toMatchObject({
      change: 'changed',
      detail: expect.stringContaining('milvusdb/milvus:v2.3.11 -> milvusdb/milvus:v2.4.23'),
    });
    // The dependencies' images are in the changes too, before -> after.
    const etcdChange = changes.find((c) => c.name === 'my-release-etcd');
    const etcdBefore = statefulSets(before).find((w) => w.name === 'my-release-etcd')!.images.etcd;
    const text = await cli(['plan', 'my-release', '2.4.23', '-n', ns.name]);
    expect(text.stdout).toContain('message queue: Pulsar v2, kept');
    expect(text.stdout).toMatch(/changes: \d+ changed, 1 added, 4 removed/);

    const up = await cli(['upgrade', 'my-release', '2.4.23', '-n', ns.name, '--yes']);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(await helmStatus(ns.name, 'my-release')).toMatchObject({ revision: 2, status: 'deployed', chart: 'milvus-4.2.20' });
    const after = await snap(ns.name, 'my-release');
    expect(dataDiffs(diffSnapshots(before, after))).toEqual([]);
    const etcdAfter = statefulSets(after).find((w) => w.name === 'my-release-etcd')!.images.etcd;
    if (etcdAfter !== etcdBefore) expect(etcdChange?.detail).toBe(`etcd: ${etcdBefore} -> ${etcdAfter}`);
    else expect(etcdChange).toBeUndefined();
    const milvus = after.workloads.filter((w) => w.kind === 'Deployment').map((w) => `${w.name}=${Object.values(w.images).join(',')}`);
    expect(milvus.sort()).toEqual(
      ['datanode', 'indexnode', 'mixcoord', 'proxy', 'querynode'].map((c) => `my-release-milvus-${c}=milvusdb/milvus:v2.4.23`),
    );
  });

  it('then 2.4 -> 2.5 (chart 4.2.30, Pulsar v3 by default) keeps Pulsar v2 by carrying the flags', async () => {
    const plan = JSON.parse((await cli(['plan', 'my-release', '2.5.0-beta', '-n', ns.name, '--json'])).stdout);
    expect(plan.chart).toBe('4.2.30');
    expect(plan.steps.find((s: { kind: string }) => s.kind === 'helm-upgrade').set).toEqual({
      'image.all.tag': 'v2.5.0-beta',
      'pulsar.enabled': 'true',
      'pulsarv3.enabled': 'false',
    });
    expect(plan.messageQueue.note).toContain('Pulsar v2, kept (carried: pulsar.enabled=true, pulsarv3.enabled=false');
    const up = await cli(['upgrade', 'my-release', '2.5.0-beta', '-n', ns.name, '--yes']);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const after = await snap(ns.name, 'my-release');
    // The renamed v2 subchart keeps the StatefulSet names and PVCs; only its image may move on.
    expect(dataDiffs(diffSnapshots(before, after))).toEqual([]);
    expect(statefulSets(after).map((w) => w.name).filter((n) => n.includes('pulsarv3'))).toEqual([]);
    expect(after.pvcs.map((p) => `${p.name}:${p.uid}`)).toEqual(before.pvcs.map((p) => `${p.name}:${p.uid}`));
  });
});

describe('a Kafka release keeps Kafka into a Pulsar-v3-default chart', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-kafka');
    await installRelease(ns.name, 'kq', '4.2.20', { 'pulsar.enabled': 'false', 'kafka.enabled': 'true' });
  });
  afterAll(async () => ns.cleanup());

  it('2.4.16 -> 2.5.0-beta carries pulsarv3.enabled=false; the Kafka StatefulSets and PVCs stay', async () => {
    const before = await snap(ns.name, 'kq');
    expect(statefulSets(before).map((w) => w.name)).toEqual(expect.arrayContaining(['kq-kafka']));
    const plan = JSON.parse((await cli(['plan', 'kq', '2.5.0-beta', '-n', ns.name, '--json'])).stdout);
    expect(plan.messageQueue.kind).toBe('kafka');
    expect(plan.steps.find((s: { kind: string }) => s.kind === 'helm-upgrade').set).toMatchObject({ 'pulsarv3.enabled': 'false' });
    const up = await cli(['upgrade', 'kq', '2.5.0-beta', '-n', ns.name, '--yes']);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const after = await snap(ns.name, 'kq');
    expect(dataDiffs(diffSnapshots(before, after))).toEqual([]);
    expect(statefulSets(after).some((w) => w.name.includes('pulsar'))).toBe(false);
  });
});
