import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/control-plane.js';
import { cli, cluster, deployments, helmStatus, installRelease, newNamespace } from './helpers.js';

const FAST = ['--coordinator-min-ready', '1', '--poll-ms', '200'];

describe('rolling path on the control plane', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-roll');
  });
  afterAll(async () => ns.cleanup());

  it('rolls a 2.2.13 release with separate coordinators to 2.4.23, one Deployment at a time, in the script order', async () => {
    await installRelease(ns.name, 'my-release', '4.0.31');
    const plan = JSON.parse((await cli(['plan', 'my-release', '2.4.23', '-n', ns.name, '--strategy', 'rolling', '--json', ...FAST])).stdout);
    expect(plan.path).toBe('rolling');
    const order = plan.steps.filter((s: { kind: string }) => s.kind === 'update-deployment').map((s: { target: { component: string } }) => s.target.component);
    expect(order).toEqual(['rootcoord', 'datacoord', 'indexcoord', 'querycoord', 'indexnode', 'datanode', 'querynode', 'proxy']);

    const run = await cli(['upgrade', 'my-release', '2.4.23', '-n', ns.name, '--strategy', 'rolling', '--yes', ...FAST]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    // Progress names pods on the new tag while the querynode (2 replicas) rolls.
    expect(run.stdout).toMatch(/querynode: \d\/2 pods (on v2\.4\.23|available)|querynode: 1 old pod/);
    const deps = await deployments(ns.name, 'my-release');
    expect(deps).toHaveLength(8);
    for (const d of deps) {
      expect(d.image).toBe('milvusdb/milvus:v2.4.23');
      expect(d.versionLabel).toBe('2.4.23');
      expect(d.readyReplicas).toBe(d.replicas);
      expect(d.annotations['milvus-upgrade-bot.io/previous-image']).toBe('milvusdb/milvus:v2.2.13');
    }
    const userYaml = await kubectl(cluster(), ['get', 'configmap', 'my-release-milvus', '-n', ns.name, '-o', 'jsonpath={.data.user\\.yaml}']);
    for (const section of ['rootCoord', 'queryCoord', 'dataCoord', 'indexCoord']) {
      expect(userYaml).toMatch(new RegExp(`${section}:\\n\\s+enableActiveStandby: true`));
    }
    // helm is not involved: the release record stays on its chart.
    expect(await helmStatus(ns.name, 'my-release')).toMatchObject({ revision: 1, chart: 'milvus-4.0.31' });

    const again = await cli(['upgrade', 'my-release', '2.4.23', '-n', ns.name, '--strategy', 'rolling', '--yes', ...FAST]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/not newer than the running 2\.4\.23/);

    const back = await cli(['rollback', 'my-release', '-n', ns.name, '--yes', ...FAST]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    const restored = await deployments(ns.name, 'my-release');
    for (const d of restored) {
      expect(d.image).toBe('milvusdb/milvus:v2.2.13');
      expect(d.versionLabel).toBe('2.2.13');
      expect(d.annotations['milvus-upgrade-bot.io/previous-image']).toBeUndefined();
    }
    // Reverse order: proxy goes back first.
    const steps = back.stdout.split('\n').filter((l) => /^\[\d+\/\d+\] \w+: back to/.test(l));
    expect(steps[0]).toMatch(/proxy: back to/);
    expect(steps[7]).toMatch(/rootcoord: back to/);
  });

  it('rolls a mixcoord release whose name contains "milvus" (fullname = release) and updates mixcoord too', async () => {
    const n = await newNamespace('e2e-mix');
    try {
      await installRelease(n.name, 'milvus-prod', '4.2.4', { 'streamingNode.enabled': 'true' });
      const before = await deployments(n.name, 'milvus-prod');
      expect(before.map((d) => d.name)).toContain('milvus-prod-mixcoord');
      const run = await cli(['upgrade', 'milvus-prod', '2.4.23', '-n', n.name, '--strategy', 'rolling', '--yes', ...FAST]);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      const after = await deployments(n.name, 'milvus-prod');
      expect(after.map((d) => [d.component, d.image])).toEqual(
        before.map((d) => [d.component, 'milvusdb/milvus:v2.4.23']),
      );
      expect(after.map((d) => d.component)).toEqual(expect.arrayContaining(['mixcoord', 'streamingnode']));
      const userYaml = await kubectl(cluster(), ['get', 'configmap', 'milvus-prod', '-n', n.name, '-o', 'jsonpath={.data.user\\.yaml}']);
      expect(userYaml).toMatch(/rootCoord:\n\s+enableActiveStandby: true/);
      // Both must be there (a missing one, -1, must not pass for "before"), mixcoord first.
      const updated = [...run.stdout.matchAll(/\b(mixcoord|proxy):/g)].map((m) => m[1]);
      expect([...new Set(updated)]).toEqual(['mixcoord', 'proxy']);
    } finally {
      await n.cleanup();
    }
  });

  it('a rollout that never becomes ready times out with a clear error, and rollback restores the old images', async () => {
    const n = await newNamespace('e2e-stuck');
    try {
      await installRelease(n.name, 'stuck', '4.0.31');
      const run = await cli(['upgrade', 'stuck', '2.4.23-never-ready', '-n', n.name, '--strategy', 'rolling', '--rollout-timeout', '4', '--yes', ...FAST]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/rootcoord did not roll out within 4s/);
      expect(run.stderr).toMatch(/kubectl -n \S+ get pods -l app\.kubernetes\.io\/instance=stuck,component=rootcoord/);
      const mid = await deployments(n.name, 'stuck');
      expect(mid.find((d) => d.component === 'rootcoord')!.image).toBe('milvusdb/milvus:v2.4.23-never-ready');
      expect(mid.find((d) => d.component === 'proxy')!.image).toBe('milvusdb/milvus:v2.2.13');

      const back = await cli(['rollback', 'stuck', '-n', n.name, '--yes', ...FAST]);
      expect(back.code, back.stdout + back.stderr).toBe(0);
      const after = await deployments(n.name, 'stuck');
      for (const d of after) {
        expect(d.image).toBe('milvusdb/milvus:v2.2.13');
        expect(d.readyReplicas).toBe(d.replicas);
      }
    } finally {
      await n.cleanup();
    }
  });
});
