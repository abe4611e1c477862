import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/control-plane.js';
import { cli, cluster, deployments, installRelease, newNamespace } from './helpers.js';
import { holdSession, keyExists, putPermanentKey } from './etcd.js';

// The release's own etcd Service has no etcd behind it here, so the bot (and the migration
// config) are pointed at the control plane's etcd, under a root path of the test's own.
function etcdArgs(rootPath: string): string[] {
  return ['--etcd-endpoint', cluster().etcdUrl.replace('http://', ''), '--meta-root-path', rootPath, '--poll-ms', '200'];
}

/** The pod's phase, or 'absent' when the API says NotFound; any other error fails the test. */
async function podPhase(ns: string, pod: string): Promise<string> {
  return kubectl(cluster(), ['get', 'pod', pod, '-n', ns, '-o', 'jsonpath={.status.phase}']).catch((err: Error) => {
    if (/\(NotFound\)/.test(err.message)) return 'absent';
    throw err;
  });
}

describe('metadata migration 2.1.4 -> 2.2.0 on the control plane', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-mig');
    // Attu carries Milvus's labels but is not Milvus: the migration must leave it running.
    await installRelease(ns.name, 'my-release', '3.2.18', { 'queryNode.replicas': '3', 'attu.enabled': 'true' });
  });
  afterAll(async () => ns.cleanup());

  it('migrates (waiting for live session keys to expire, not for the permanent id key), then rolls the migration back', async () => {
    const root = `e2e-${ns.name}`;
    const sessionKey = `${root}/meta/session/querynode-1`;
    // Milvus's server-id counter: no lease, never goes away. The wait must not count it.
    const idKey = `${root}/meta/session/id`;
    await putPermanentKey(idKey);
    // The session lives while Milvus pods run, and expires 3 s after the last one is gone.
    const session = await holdSession(sessionKey, 3);
    const attuBefore = (await deployments(ns.name, 'my-release')).find((d) => d.component === 'attu')!;
    expect(attuBefore.image).toMatch(/^zilliz\/attu:/);
    let attuScaledDown = false;
    // As in Milvus: the session ends when the last Milvus pod has stopped (graceful stop
    // included), not when the Deployments are scaled to zero.
    const milvusPodsLeft = async () => {
      const out = await kubectl(cluster(), ['get', 'pods', '-n', ns.name, '-l', 'app.kubernetes.io/instance=my-release,component,component!=attu', '-o', 'name']);
      return out.trim().split('\n').filter(Boolean).length;
    };
    const stopWhenScaledDown = setInterval(() => {
      void deployments(ns.name, 'my-release').then(async (ds) => {
        const milvus = ds.filter((d) => d.component !== 'attu');
        if (ds.some((d) => d.component === 'attu' && d.replicas === 0)) attuScaledDown = true;
        if (milvus.length > 0 && milvus.every((d) => d.replicas === 0) && (await milvusPodsLeft()) === 0) session.stop();
      });
    }, 300);

    const plan = JSON.parse((await cli(['plan', 'my-release', '2.2.0', '-n', ns.name, '--json', ...etcdArgs(root)])).stdout);
    expect(plan.path).toBe('migrate');
    expect(plan.steps.map((s: { kind: string; action?: string }) => s.action ?? s.kind)).toEqual([
      'save-replicas', 'stop-milvus', 'wait-sessions-expired', 'ensure-backup-pvc', 'ensure-migration-config', 'backup', 'migrate', 'start-milvus',
    ]);

    const run = await cli(['upgrade', 'my-release', '2.2.0', '-n', ns.name, '--yes', ...etcdArgs(root)]);
    clearInterval(stopWhenScaledDown);
    session.stop();
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/1 Milvus session key\(s\) still in etcd/);
    expect(run.stdout).not.toMatch(/2 Milvus session key\(s\) still in etcd/);
    expect(run.stdout).toMatch(/every Milvus session expired/);
    expect(await keyExists(sessionKey)).toBe(false);
    expect(await keyExists(idKey)).toBe(true);
    const all = await deployments(ns.name, 'my-release');
    expect(attuScaledDown).toBe(false);
    expect(all.find((d) => d.component === 'attu')).toMatchObject({ image: attuBefore.image, replicas: attuBefore.replicas, readyReplicas: attuBefore.replicas });
    const deps = all.filter((d) => d.component !== 'attu');
    expect(deps.length).toBeGreaterThanOrEqual(8);
    for (const d of deps) expect(d.image).toBe('milvusdb/milvus:v2.2.0');
    expect(deps.find((d) => d.component === 'querynode')).toMatchObject({ replicas: 3, readyReplicas: 3 });
    const saved = JSON.parse(await kubectl(cluster(), ['get', 'configmap', 'milvus-deploy-replicas-my-release', '-n', ns.name, '-o', 'jsonpath={.data}']));
    expect(saved['my-release-milvus-querynode']).toBe('3');
    const mark = await kubectl(cluster(), ['get', 'configmap', 'milvus-meta-migration-config-my-release', '-n', ns.name, '-o', 'jsonpath={.metadata.annotations.backup}']);
    expect(mark).toBe('succeed');
    const migrationYaml = await kubectl(cluster(), ['get', 'configmap', 'milvus-meta-migration-config-my-release', '-n', ns.name, '-o', 'jsonpath={.data.migration\\.yaml}']);
    expect(migrationYaml).toMatch(/sourceVersion: 2\.1\.4/);
    expect(migrationYaml).toMatch(/targetVersion: 2\.2\.0/);
    expect(migrationYaml).toMatch(new RegExp(`rootPath: ${root}`));
    expect(await podPhase(ns.name, 'milvus-meta-migration-backup-my-release')).toBe('Succeeded');
    expect(await podPhase(ns.name, 'milvus-meta-migration-my-release')).toBe('Succeeded');

    const back = await cli(['rollback', 'my-release', '-n', ns.name, '--yes', ...etcdArgs(root)]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(back.stdout).toMatch(/path: migrate/);
    expect(back.stdout).toMatch(/done: rollback pod milvus-meta-migration-rollback-my-release succeeded/);
    const after = (await deployments(ns.name, 'my-release')).filter((d) => d.component !== 'attu');
    for (const d of after) expect(d.image).toBe('milvusdb/milvus:v2.1.4');
    expect(after.find((d) => d.component === 'querynode')).toMatchObject({ replicas: 3, readyReplicas: 3 });
    // The old migration pod is gone, so a new migration can run.
    expect(await podPhase(ns.name, 'milvus-meta-migration-my-release')).toBe('absent');
  });

  it('a failed migration stops with its pod named and advice; rollback starts the old version again', async () => {
    const n = await newNamespace('e2e-migfail');
    try {
      await installRelease(n.name, 'broken', '3.2.18');
      const root = `e2e-${n.name}`;
      const run = await cli(['upgrade', 'broken', '2.2.0', '-n', n.name, '--yes', '--migration-image', 'milvusdb/meta-migration:v2.2.0-fail', ...etcdArgs(root)]);
      expect(run.code).toBe(1);
      // The backup pod runs the same image, so the failure shows at the backup step.
      expect(run.stderr).toMatch(/the backup pod milvus-meta-migration-backup-broken failed/);
      const stopped = await deployments(n.name, 'broken');
      expect(stopped.every((d) => d.replicas === 0)).toBe(true);
      const back = await cli(['rollback', 'broken', '-n', n.name, '--yes', ...etcdArgs(root)]);
      expect(back.code, back.stdout + back.stderr).toBe(0);
      expect(back.stdout).toMatch(/the metadata was never migrated: nothing to restore/);
      const after = await deployments(n.name, 'broken');
      for (const d of after) {
        expect(d.image).toBe('milvusdb/milvus:v2.1.4');
        expect(d.readyReplicas).toBe(d.replicas);
        expect(d.replicas).toBeGreaterThan(0);
      }
    } finally {
      await n.cleanup();
    }
  });
});
