/**
 * The 2.1 -> 2.2 migration on the shapes issue 24 names: a custom etcd root (or a shared etcd),
 * a 2.0.x release, a MySQL metastore. Before, the tool always got `by-dev`, and the last two were
 * refused by the tool only after Milvus had been scaled to zero.
 */
import { describe, expect, it } from 'vitest';
import { etcdRootPathOf, metastoreOf } from '../../src/cluster/milvus.js';
import { planUpgrade } from '../../src/upgrade/planner/upgrade.js';
import type { ReleaseState } from '../../src/upgrade/state.js';
import { parseVersion } from '../../src/upgrade/milvus/version.js';
import { component, milvusIndex, planSettings, releaseState, tooling } from './helpers.js';

const v21 = (over: Partial<ReleaseState> = {}, version = '2.1.4'): ReleaseState => ({
  ...releaseState({ version, chartVersion: '3.2.18', revision: 1, components: ['proxy', 'rootcoord', 'querynode', 'datanode'].map((c) => component(c, { version })) }),
  ...over,
});

const plan = (state: ReleaseState, target = '2.2.14') =>
  planUpgrade({ request: { cluster: 'test', namespace: state.namespace, release: state.release, target: parseVersion(target) }, state, tooling: tooling(), charts: milvusIndex(), settings: planSettings() });

describe('the metadata migration and the release it runs on', () => {
  it('works on the etcd root the release\'s config names, not a fixed by-dev', () => {
    const p = plan(v21({ etcdRootPath: 'team-a' }));
    expect(p.path).toBe('migrate');
    const files = p.steps.flatMap((s) => (s.kind === 'ensure-migration-config' ? Object.values(s.files) : []));
    expect(files.length).toBe(3);
    for (const f of files) expect(f).toContain('  rootPath: team-a\n');
    const wait = p.steps.find((s) => s.kind === 'wait-sessions-expired');
    expect(wait).toMatchObject({ rootPath: 'team-a' });
    expect(wait!.description).toContain('under team-a/meta/session');
    // Its rollback too.
    const back = p.rollback!.steps.flatMap((s) => (s.kind === 'ensure-migration-config' ? Object.values(s.files) : s.kind === 'wait-sessions-expired' ? [s.rootPath] : []));
    expect(back.length).toBeGreaterThan(0);
    for (const f of back) expect(f).toContain('team-a');
  });

  it('without a root in the config: Milvus\'s default by-dev; a root given (META_ROOT_PATH, --meta-root-path) wins over the config', () => {
    const p = plan(v21({ etcdRootPath: null }));
    expect(p.steps.find((s) => s.kind === 'wait-sessions-expired')).toMatchObject({ rootPath: 'by-dev' });
    const given = planUpgrade({
      request: { cluster: 'test', namespace: 'milvus', release: 'prod', target: parseVersion('2.2.14') },
      state: v21({ etcdRootPath: 'team-a' }),
      tooling: tooling(),
      charts: milvusIndex(),
      settings: planSettings({ migration: { rootPath: 'ops-root' } }),
    });
    expect(given.steps.find((s) => s.kind === 'wait-sessions-expired')).toMatchObject({ rootPath: 'ops-root' });
  });

  it('a 2.0.x release is refused before any change, with the way round', () => {
    expect(() => plan(v21({}, '2.0.2'))).toThrow(/Milvus 2\.0\.2 cannot be migrated to 2\.2\.14: the metadata migration tool only converts 2\.1\.x/);
  });

  it('a MySQL metastore is refused before any change', () => {
    expect(() => plan(v21({ metastore: 'mysql' }))).toThrow(/the metadata of this release is in MySQL \(metastore.type: mysql\): the migration tool only reads etcd/);
    expect(plan(v21({ metastore: 'etcd' })).path).toBe('migrate');
  });

  it('reads etcd.rootPath and metastore.type from the config the pods mount, user settings first', () => {
    const data = { 'milvus.yaml': 'etcd:\n  rootPath: by-dev\nmetastore:\n  type: mysql\n', 'user.yaml': 'etcd:\n  rootPath: custom\n' };
    expect(etcdRootPathOf(data)).toBe('custom');
    expect(metastoreOf(data)).toBe('mysql');
    expect(etcdRootPathOf({ 'default.yaml': 'etcd:\n  endpoints: [a:2379]\n' })).toBeNull();
  });
});
