/**
 * helm's records read from its Secrets (no helm process) against the helm binary's own answers,
 * on a release with history: an install, an upgrade with --set values, a rollback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HelmCliReleaseManager } from '../../src/cluster/helm.js';
import { HelmSecretStorage } from '../../src/cluster/helm-storage.js';
import { loadKubeConfig } from '../../src/cluster/kube-api.js';
import { CoreV1Api } from '@kubernetes/client-node';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngineAccess, createUpgradeEngine } from '../../src/engine-access.js';
import { HELM_BIN } from '../harness/control-plane.js';
import { testSettings } from './engine.js';
import { cluster, helmT, installRelease, newNamespace } from './helpers.js';

describe("helm's own storage and files, read in-process", () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  const cli = () => new HelmCliReleaseManager({ kubeconfig: cluster().kubeconfig, env: cluster().helmEnv });
  const stored = () => new HelmCliReleaseManager({ kubeconfig: cluster().kubeconfig, env: cluster().helmEnv, storage: new HelmSecretStorage(loadKubeConfig({ kubeconfig: cluster().kubeconfig }).makeApiClient(CoreV1Api)) });
  beforeAll(async () => {
    ns = await newNamespace('e2e-store');
    await installRelease(ns.name, 'kept', '4.1.24');
    await helmT(['upgrade', 'kept', 'zilliztech/milvus', '-n', ns.name, '--version', '4.1.36', '--reset-then-reuse-values', '--set', 'image.all.tag=v2.4.5', '--set', 'attu.enabled=false', '--wait', '--timeout', '120s']);
    await helmT(['rollback', 'kept', '1', '-n', ns.name, '--wait', '--timeout', '120s']);
  });
  afterAll(async () => ns.cleanup());

  it('release, history, values (given, computed, per revision) and manifest are what helm itself says', async () => {
    const [a, b] = [cli(), stored()];
    expect(await b.release(ns.name, 'kept')).toEqual(await a.release(ns.name, 'kept'));
    const history = await b.history(ns.name, 'kept');
    // helm's CLI history has no values; the record gives each revision's image tag besides.
    expect(history.map(({ imageTag: _tag, ...h }) => h)).toEqual(await a.history(ns.name, 'kept'));
    expect(history.map((h) => h.imageTag)).toEqual(['v2.3.11', 'v2.4.5', 'v2.3.11']);
    expect(history.map((h) => `${h.revision} ${h.status} ${h.chart}`)).toEqual(['1 superseded milvus-4.1.24', '2 superseded milvus-4.1.36', '3 deployed milvus-4.1.24']);
    for (const o of [{}, { all: true }, { revision: 2 }, { revision: 2, all: true }]) {
      expect(await b.values(ns.name, 'kept', o), JSON.stringify(o)).toEqual(await a.values(ns.name, 'kept', o));
    }
    expect(await b.values(ns.name, 'kept', { revision: 2 })).toMatchObject({ image: { all: { tag: 'v2.4.5' } } });
    expect(await b.manifest(ns.name, 'kept')).toEqual(await a.manifest(ns.name, 'kept'));
    expect(await b.repos()).toEqual(await a.repos());
    expect(await b.searchCharts('zilliztech')).toEqual(await a.searchCharts('zilliztech'));
    expect((await b.searchCharts('zilliztech')).length).toBeGreaterThan(10);
    expect(await b.release(ns.name, 'absent')).toBeNull();
    expect(await b.version()).toBe(await a.version());
    expect(await b.history(ns.name, 'absent')).toEqual([]);
  });

  it('status and versions, once warm, run no helm process at all', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mub-helm-count-'));
    const calls = join(dir, 'calls');
    writeFileSync(calls, '');
    const wrapper = join(dir, 'helm');
    writeFileSync(wrapper, `#!/usr/bin/env bash\necho "$1 $2" >> '${calls}'\nexec '${HELM_BIN}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    // A helm home of its own: other tests re-point or refresh the shared repository meanwhile.
    const helmEnv = { HELM_CONFIG_HOME: join(dir, 'config'), HELM_CACHE_HOME: join(dir, 'cache'), HELM_DATA_HOME: join(dir, 'data') };
    const engine = createUpgradeEngine(createEngineAccess({ kubeconfig: cluster().kubeconfig, helmEnv, helmBin: wrapper, settings: testSettings() }));
    // Warm: the helm version is asked once per process, the index refreshed if older than its TTL.
    await engine.status(undefined, ns.name, 'kept');
    await engine.versions(undefined);
    const warm = readFileSync(calls, 'utf8').split('\n').filter(Boolean);
    for (let i = 0; i < 3; i++) {
      expect((await engine.status(undefined, ns.name, 'kept')).state.helm).toMatchObject({ revision: 3, chartVersion: '4.1.24' });
      expect((await engine.versions(undefined)).length).toBeGreaterThan(5);
    }
    expect(readFileSync(calls, 'utf8').split('\n').filter(Boolean)).toEqual(warm);
    expect(warm.filter((c) => !/^(version|repo) /.test(c))).toEqual([]);
  });
});
