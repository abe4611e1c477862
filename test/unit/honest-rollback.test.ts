/**
 * Issue 24: after a migration (or a rolling upgrade) the Deployments run images helm never
 * recorded; a later helm upgrade offered "helm rollback to revision N", which would start the
 * images helm recorded (2.1.4) on 2.2 metadata. No such rollback is offered now, and the card
 * says why.
 */
import { describe, expect, it } from 'vitest';
import { noRollbackReason } from '../../src/upgrade/plan.js';
import { component, planHop, planRoute, planSettings, releaseState, tooling } from './helpers.js';

const plan = planHop;

const COMPONENTS = ['proxy', 'rootcoord', 'datacoord', 'querycoord', 'indexcoord', 'querynode', 'datanode', 'indexnode'];

describe('a helm rollback that would not bring back what ran', () => {
  it('after a migration (2.1.4 -> 2.2.0 outside helm, marked at revision 1): the next helm upgrade offers no rollback, and says why', () => {
    const migrated = releaseState({
      version: '2.2.0',
      chartVersion: '3.2.18',
      revision: 1,
      components: COMPONENTS.map((c) => component(c, { version: '2.2.0', previousImage: 'milvusdb/milvus:v2.1.4', previousVersionLabel: '2.1.4', markHelmRevision: 1 })),
    });
    const p = plan(migrated, '2.2.14');
    expect(p.path).toBe('helm');
    expect(p.rollback).toBeNull();
    const why = noRollbackReason(p, p.steps.length)!;
    expect(why).toContain("helm's revision 1 records Milvus 2.1.4, but prod runs 2.2.0");
    expect(why).toContain('no rollback is offered');
  });

  it('marks of an older revision (helm has recorded a revision since): the rollback is offered as before', () => {
    const state = releaseState({
      version: '2.2.14',
      chartVersion: '4.0.31',
      revision: 2,
      components: COMPONENTS.map((c) => component(c, { version: '2.2.14', previousImage: 'milvusdb/milvus:v2.1.4', markHelmRevision: 1 })),
    });
    expect(plan(state, '2.3.11').rollback).toMatchObject({ path: 'helm' });
  });

  it('a route 2.1.4 -> 2.3.11: the migration hop keeps its rollback; the helm hop after it offers none, saying why', () => {
    const start = releaseState({ version: '2.1.4', chartVersion: '3.2.18', revision: 1, components: COMPONENTS.map((c) => component(c, { version: '2.1.4' })) });
    const route = planRoute(start, '2.3.11').plan;
    expect(route.hops!.map((h) => h.path)).toEqual(['migrate', 'helm']);
    expect(route.hops![0]!.rollback).toMatchObject({ path: 'migrate' });
    expect(route.hops![1]!.rollback).toBeNull();
    expect(route.hops![1]!.noRollback).toContain("helm's revision 1 records Milvus 2.1.4");
    // Stopped inside the helm hop: the card gives that reason, and no helm rollback to revision 1.
    expect(noRollbackReason(route, route.hops![1]!.firstStep + 1)).toContain('2.1.4');
  });
});

describe('a rollback from the release as it is', () => {
  it('after a migration and a helm upgrade: helm rollback to the 2.1 revision is refused, with the way back', async () => {
    const { planRollback } = await import('../../src/upgrade/planner/rollback.js');
    const state = releaseState({ version: '2.2.14', chartVersion: '4.0.31', revision: 2, components: COMPONENTS.map((c) => component(c, { version: '2.2.14' })) });
    const history = [
      { revision: 1, status: 'superseded', chart: 'milvus-3.2.18', appVersion: '2.1.4', description: 'Install complete' },
      { revision: 2, status: 'deployed', chart: 'milvus-4.0.31', appVersion: '2.2.13', description: 'Upgrade complete', imageTag: 'v2.2.14' },
    ];
    expect(() => planRollback({ cluster: 'test', state, history, tooling: tooling(), settings: planSettings() })).toThrow(
      /prod cannot be rolled back from 2\.2\.14 to 2\.1\.4 this way/,
    );
  });
});
