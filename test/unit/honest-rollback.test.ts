/**
 * Issue 24: after a migration (or a rolling upgrade) the Deployments run images helm never
 * recorded; a later helm upgrade offered "helm rollback to revision N", which would start the
 * images helm recorded (2.1.4) on 2.2 metadata. Now the rollback holds the Deployments paused
 * and sets them back to what ran before the upgrade; where it cannot, none is offered and the
 * card says why. A route is undone hop by hop, the last first.
 */
import { describe, expect, it } from 'vitest';
import { noRollbackReason, rollbackAt } from '../../src/upgrade/plan.js';
import { rollbackPlanFor } from '../../src/upgrade/planner/rollback.js';
import { component, planHop, planRoute, planSettings, releaseState, tooling } from './helpers.js';

const plan = planHop;

const COMPONENTS = ['proxy', 'rootcoord', 'datacoord', 'querycoord', 'indexcoord', 'querynode', 'datanode', 'indexnode'];

describe('a helm rollback that would not bring back what ran', () => {
  const migrated = releaseState({
    version: '2.2.0',
    chartVersion: '3.2.18',
    revision: 1,
    components: COMPONENTS.map((c) => component(c, { version: '2.2.0', previousImage: 'milvusdb/milvus:v2.1.4', previousVersionLabel: '2.1.4', markHelmRevision: 1 })),
  });

  it('after a migration (2.1.4 -> 2.2.0 outside helm, marked at revision 1): the rollback holds the Deployments paused and sets them back to 2.2.0 before any resumes', () => {
    const p = plan(migrated, '2.2.14');
    expect(p.path).toBe('helm');
    const steps = p.rollback!.steps;
    const kinds = steps.map((st) => st.kind);
    // Paused before helm rolls back to the revision that records 2.1.4; set back while paused; then resumed.
    expect(kinds.indexOf('pause-deployments')).toBeLessThan(kinds.indexOf('helm-rollback'));
    expect(kinds.indexOf('restore-deployments')).toBe(kinds.indexOf('helm-rollback') + 1);
    expect(kinds.indexOf('resume-deployments')).toBeGreaterThan(kinds.indexOf('restore-deployments'));
    expect(steps.find((st) => st.kind === 'helm-rollback')).toMatchObject({ toRevision: 1, wait: false });
    const restore = steps.find((st): st is Extract<typeof st, { kind: 'restore-deployments' }> => st.kind === 'restore-deployments')!;
    expect(new Set(restore.targets.map((t) => t.image))).toEqual(new Set(['milvusdb/milvus:v2.2.0']));
    // The migration's marks stay, so its own rollback can still find the 2.1.4 images.
    expect(new Set(restore.targets.map((t) => t.recordPrevious?.image))).toEqual(new Set(['milvusdb/milvus:v2.1.4']));
    expect(p.rollback!.summary).toMatch(/each set back to 2\.2\.0 before it resumes/);
  });

  it('when the upgrade also changes which Deployments run (chart 4.2.x makes mixcoord), none is offered, saying why', () => {
    const p = plan(migrated, '2.4.16');
    expect(p.rollback).toBeNull();
    const why = noRollbackReason(p, p.steps.length)!;
    expect(why).toContain("helm's revision 1 records Milvus 2.1.4, but prod runs 2.2.0");
    expect(why).toContain('also changes which Deployments run');
  });

  it('marks of an older revision (helm has recorded a revision since): the plain rollback, nothing set back', () => {
    const state = releaseState({
      version: '2.2.14',
      chartVersion: '4.0.31',
      revision: 2,
      components: COMPONENTS.map((c) => component(c, { version: '2.2.14', previousImage: 'milvusdb/milvus:v2.1.4', markHelmRevision: 1 })),
    });
    const p = plan(state, '2.3.11');
    expect(p.rollback).toMatchObject({ path: 'helm' });
    expect(p.rollback!.steps.some((st) => st.kind === 'restore-deployments')).toBe(false);
  });

  it('a route 2.1.4 -> 2.3.11 undone: the helm hop first (set back to 2.2, never 2.1 on 2.2 metadata), then the migration restores its metadata backup and starts 2.1.4', () => {
    const start = releaseState({ version: '2.1.4', chartVersion: '3.2.18', revision: 1, components: COMPONENTS.map((c) => component(c, { version: '2.1.4' })) });
    const route = planRoute(start, '2.3.11').plan;
    expect(route.hops!.map((h) => h.path)).toEqual(['migrate', 'helm']);
    expect(route.hops![0]!.rollback).toMatchObject({ path: 'migrate' });
    expect(route.hops![1]!.rollback!.steps.some((st) => st.kind === 'restore-deployments')).toBe(true);
    const whole = rollbackAt(route, route.steps.length)!;
    expect(whole.path).toBe('migrate');
    const kinds = whole.steps.map((st) => st.kind);
    const restored = kinds.indexOf('restore-deployments');
    const metadata = whole.steps.findIndex((st) => st.kind === 'run-meta-migration' && st.action === 'rollback');
    const started21 = kinds.indexOf('start-milvus');
    expect(restored).toBeGreaterThan(kinds.indexOf('helm-rollback'));
    // 2.1.4 images start only after the metadata backup is back.
    expect(metadata).toBeGreaterThan(restored);
    expect(started21).toBeGreaterThan(metadata);
    expect(whole.steps[0]!.description).toMatch(/^\[undo 2\.3\.11 -> 2\.2\.\d+\] /);
    expect(whole.steps.at(-1)!.description).toMatch(/^\[undo 2\.2\.\d+ -> 2\.1\.4\] /);
    // Each health gate counts restarts from its own part of the rollback.
    const gates = whole.steps.flatMap((st, i) => (st.kind === 'check-health' ? [[i, st.sinceStep]] : []));
    expect(gates[0]![1]).toBe(0);
    const asPlan = rollbackPlanFor(route)!;
    expect([asPlan.from, asPlan.to]).toEqual(['2.3.11', '2.1.4']);
    // Stopped inside the migration hop: only its own rollback.
    expect(rollbackAt(route, 1)).toBe(route.hops![0]!.rollback);
    expect(noRollbackReason(route, route.steps.length)).toBeNull();
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
