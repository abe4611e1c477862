import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, helmStatus, imagesByComponent, installRelease, newNamespace } from './helpers.js';

describe('helm path on the control plane', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-helm');
    await installRelease(ns.name, 'my-release', '4.1.24');
  });
  afterAll(async () => ns.cleanup());

  it('upgrades a 2.3.11 release (chart 4.1.24) to 2.4.5 with helm and rolls it back', async () => {
    const plan = await cli(['plan', 'my-release', '2.4.5', '-n', ns.name, '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    const p = JSON.parse(plan.stdout);
    expect(p).toMatchObject({ release: 'my-release', namespace: ns.name, path: 'helm', from: '2.3.11', to: '2.4.5', chart: '4.1.36', image: 'milvusdb/milvus:v2.4.5' });
    const kinds = p.steps.map((s: { kind: string }) => s.kind);
    expect(kinds.slice(0, 3)).toEqual(['helm-repo-update', 'pause-deployments', 'helm-upgrade']);
    expect(kinds.slice(-2)).toEqual(['wait-rollout', 'check-health']);
    expect(p.steps[2].set).toEqual({ 'image.all.tag': 'v2.4.5' });
    expect(p.rollback.steps[1]).toMatchObject({ kind: 'helm-rollback', toRevision: 1 });

    const up = await cli(['upgrade', 'my-release', '2.4.5', '-n', ns.name, '--yes']);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(await helmStatus(ns.name, 'my-release')).toMatchObject({ revision: 2, status: 'deployed', chart: 'milvus-4.1.36' });
    const upgraded = await imagesByComponent(ns.name, 'my-release');
    expect(Object.values(upgraded).every((i) => i === 'milvusdb/milvus:v2.4.5')).toBe(true);
    expect(Object.keys(upgraded).sort()).toEqual(['datacoord', 'datanode', 'indexcoord', 'indexnode', 'proxy', 'querycoord', 'querynode', 'rootcoord']);

    // Without --yes: the rollback plan, as JSON here, and nothing changed.
    const shown = await cli(['rollback', 'my-release', '-n', ns.name, '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ kind: 'rollback', release: 'my-release', from: '2.4.5', to: '2.3.11' });
    expect(shown.stderr).toContain('nothing was changed: add --yes to run this rollback');
    expect(await helmStatus(ns.name, 'my-release')).toMatchObject({ revision: 2, chart: 'milvus-4.1.36' });

    const back = await cli(['rollback', 'my-release', '-n', ns.name, '--yes']);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(await helmStatus(ns.name, 'my-release')).toMatchObject({ revision: 3, status: 'deployed', chart: 'milvus-4.1.24' });
    const restored = await imagesByComponent(ns.name, 'my-release');
    expect(Object.values(restored).every((i) => i === 'milvusdb/milvus:v2.3.11')).toBe(true);
  });

  it('reaches 2.4.23, which no chart carries, through the newest safe 2.4 chart and an image override', async () => {
    const n = await newNamespace('e2e-helm23');
    try {
      await installRelease(n.name, 'my-release', '4.1.24');
      const plan = JSON.parse((await cli(['plan', 'my-release', '2.4.23', '-n', n.name, '--json'])).stdout);
      // 4.2.21-4.2.29 cannot render this release's Pulsar v2: the newest 2.4 chart before them.
      expect(plan.chart).toBe('4.2.20');
      expect(plan.steps.find((s: { kind: string }) => s.kind === 'helm-upgrade').set).toEqual({ 'image.all.tag': 'v2.4.23' });
      expect(plan.warnings.join(' ')).toMatch(/no chart carries Milvus 2\.4\.23/);
      const up = await cli(['upgrade', 'my-release', '2.4.23', '-n', n.name, '--yes']);
      expect(up.code, up.stdout + up.stderr).toBe(0);
      const images = await imagesByComponent(n.name, 'my-release');
      // Chart 4.2.20 switches to mixcoord: the old coordinators are gone.
      expect(images).toEqual({
        mixcoord: 'milvusdb/milvus:v2.4.23', datanode: 'milvusdb/milvus:v2.4.23', indexnode: 'milvusdb/milvus:v2.4.23',
        proxy: 'milvusdb/milvus:v2.4.23', querynode: 'milvusdb/milvus:v2.4.23',
      });
      // The tag forced above is a user value that --reset-then-reuse-values carries forward:
      // the next upgrade must replace it, or the release would stay on 2.4.23.
      const next = await cli(['upgrade', 'my-release', '2.5.0-beta', '-n', n.name, '--yes']);
      expect(next.code, next.stdout + next.stderr).toBe(0);
      const images25 = Object.values(await imagesByComponent(n.name, 'my-release'));
      expect(new Set(images25)).toEqual(new Set(['milvusdb/milvus:v2.5.0-beta']));
    } finally {
      await n.cleanup();
    }
  });
});
