import { describe, expect, it } from 'vitest';
import { InputError, PreflightError } from '../../src/upgrade/errors.js';
import { planRollback } from '../../src/upgrade/planner/rollback.js';
import type { HelmRevisionInfo, MigrationState, ReleaseState, ToolingState } from '../../src/upgrade/state.js';
import type { Step } from '../../src/upgrade/steps.js';
import { component, releaseState, revision, thrown, tooling } from './helpers.js';

function rollback(state: ReleaseState, history: HelmRevisionInfo[] = [], t: ToolingState = tooling()) {
  return planRollback({ cluster: 'test', state, history, tooling: t });
}

type StepOf<K extends Step['kind']> = Extract<Step, { kind: K }>;
function stepsOf<K extends Step['kind']>(steps: readonly Step[], kind: K): StepOf<K>[] {
  return steps.filter((s): s is StepOf<K> => s.kind === kind);
}

describe('planRollback: helm', () => {
  const state = releaseState({ version: '2.4.23', chartVersion: '4.2.25', revision: 3 });

  it('rolls back to the revision before the current one', () => {
    const history = [
      revision(1, 'superseded', '4.1.24', '2.3.11'),
      revision(2, 'superseded', '4.1.36', '2.4.5'),
      revision(3, 'deployed', '4.2.25', '2.4.17'),
    ];
    const p = rollback(state, history);
    expect(p).toMatchObject({
      id: 'test/milvus/prod@rollback-r2',
      kind: 'rollback',
      path: 'helm',
      from: '2.4.23',
      to: '2.4.5',
      chart: null,
      rollback: null,
    });
    expect(p.steps.map((s) => s.kind)).toEqual(['pause-deployments', 'helm-rollback', ...Array(9).fill('resume-deployments'), 'wait-rollout', 'check-health']);
    expect(p.steps[1]).toEqual({ kind: 'helm-rollback', toRevision: 2, timeoutSeconds: 1800, wait: false, description: 'helm rollback prod 2 -n milvus --timeout 1800s' });
    const resumed = p.steps.flatMap((s) => (s.kind === 'resume-deployments' ? [s.component] : []));
    expect(resumed).toEqual(['proxy', 'querynode', 'datanode', 'indexnode', 'querycoord', 'indexcoord', 'datacoord', 'rootcoord', null]);
    expect(p.reasons[0]).toContain('revision 3');
    expect(p.reasons[0]).toContain('revision 2');
  });

  it('names the version the target revision ran: its image tag, where no chart carried it (seen on the real chart 4.2.20 with image.all.tag=v2.4.23)', () => {
    const history = [
      revision(1, 'superseded', '4.1.24', '2.3.11'),
      { ...revision(2, 'superseded', '4.2.20', '2.4.16'), imageTag: 'v2.4.23' },
      { ...revision(3, 'deployed', '4.2.58', '2.5.16'), imageTag: 'v2.5.16' },
    ];
    expect(rollback(releaseState({ version: '2.5.16', chartVersion: '4.2.58', revision: 3 }), history)).toMatchObject({ from: '2.5.16', to: '2.4.23' });
    // Without the record's values (the helm CLI's history): what its chart was built for, as before.
    const noTags = history.map(({ imageTag: _t, ...h }) => h);
    expect(rollback(releaseState({ version: '2.5.16', chartVersion: '4.2.58', revision: 3 }), noTags)).toMatchObject({ to: '2.4.16' });
  });

  it('skips failed and pending revisions to the highest earlier superseded/deployed one', () => {
    const history = [
      revision(1, 'superseded', '4.1.24', '2.3.11'),
      revision(2, 'superseded', '4.1.36', '2.4.5'),
      revision(3, 'failed', '4.2.25', '2.4.17'),
      revision(4, 'pending-rollback', '4.2.25', '2.4.17'),
      revision(5, 'deployed', '4.2.25', '2.4.17'),
    ];
    expect(rollback(state, history).steps.filter((s) => s.kind === 'helm-rollback')).toMatchObject([{ kind: 'helm-rollback', toRevision: 2 }]);
  });

  it('from a failed current revision back to the last deployed one', () => {
    const history = [
      revision(1, 'superseded', '4.1.24', '2.3.11'),
      revision(2, 'deployed', '4.1.36', '2.4.5'),
      revision(3, 'failed', '4.2.25', '2.4.17'),
    ];
    const s = releaseState({ version: '2.4.5', status: 'failed', revision: 3, mode: 'standalone', messageQueue: 'rocksmq' });
    const p = rollback(s, history);
    // Standalone: one Deployment, plain helm rollback --wait.
    expect(p.steps).toMatchObject([{ kind: 'helm-rollback', toRevision: 2, description: 'helm rollback prod 2 -n milvus --wait --timeout 1800s' }]);
    expect(p.to).toBe('2.4.5');
  });

  it('no history -> InputError', () => {
    expect(thrown(() => rollback(state, []))).toBeInstanceOf(InputError);
  });

  it('no earlier deployed revision -> InputError showing the history', () => {
    const err = thrown(() =>
      rollback(state, [revision(1, 'failed', '4.2.24', '2.4.17'), revision(2, 'deployed', '4.2.25', '2.4.17')]),
    ) as InputError;
    expect(err).toBeInstanceOf(InputError);
    expect(err.details.join('\n')).toContain('1 failed milvus-4.2.24');
  });

  it('tooling problems refuse the rollback', () => {
    const history = [revision(1, 'superseded', '4.1.36', '2.4.5'), revision(2, 'deployed', '4.2.25', '2.4.17')];
    const err = thrown(() => rollback(state, history, tooling({ helmVersion: 'v3.13.0' })));
    expect(err).toBeInstanceOf(PreflightError);
  });
});

describe('planRollback: rolling (Deployments carry previous images)', () => {
  const names = [
    'proxy', 'querynode', 'streamingnode', 'datanode', 'indexnode',
    'querycoord', 'indexcoord', 'datacoord', 'rootcoord', 'mixcoord',
  ];
  const marked = (c: string) =>
    component(c, { version: '2.4.23', previousImage: 'milvusdb/milvus:v2.4.5', previousVersionLabel: '2.4.5' });

  it('puts the previous images back in reverse rolling order', () => {
    const shuffled = ['datanode', 'mixcoord', 'proxy', 'rootcoord', 'querynode', 'indexcoord', 'streamingnode', 'indexnode', 'querycoord', 'datacoord'];
    const s = releaseState({ version: '2.4.23', components: shuffled.map(marked) });
    const p = rollback(s, [revision(1, 'superseded', '4.1.24', '2.3.11'), revision(2, 'deployed', '4.1.36', '2.4.5')]);
    expect(p).toMatchObject({ path: 'rolling', from: '2.4.23', to: '2.4.5', image: 'milvusdb/milvus:v2.4.5' });
    const updates = stepsOf(p.steps, 'update-deployment');
    expect(updates).toHaveLength(p.steps.length - 1);
    expect(p.steps.at(-1)).toMatchObject({ kind: 'verify-deployments', everyMilvusDeploymentOn: null });
    expect(updates.map((u) => u.target.component)).toEqual(names);
    for (const u of updates) {
      expect(u.target).toEqual({
        component: u.target.component,
        deployment: `prod-milvus-${u.target.component}`,
        image: 'milvusdb/milvus:v2.4.5',
        versionLabel: '2.4.5',
        recordPrevious: null,
      });
    }
  });

  it('takes the version label from the previous image when none was recorded', () => {
    const c = component('proxy', { version: '2.4.23', previousImage: 'milvusdb/milvus:v2.4.5', previousVersionLabel: null });
    const p = rollback(releaseState({ version: '2.4.23', components: [c] }));
    expect(stepsOf(p.steps, 'update-deployment')[0]!.target.versionLabel).toBe('2.4.5');
  });

  it('only Deployments whose image differs from the mark are rolled back', () => {
    const s = releaseState({
      version: '2.4.23',
      components: [
        marked('proxy'),
        marked('querynode'),
        component('datanode', { version: '2.4.5', previousImage: 'milvusdb/milvus:v2.4.5' }),
        component('indexnode', { version: '2.4.23' }),
      ],
    });
    const p = rollback(s);
    expect(stepsOf(p.steps, 'update-deployment').map((u) => u.target.component)).toEqual(['proxy', 'querynode']);
  });

  it('needs no helm history', () => {
    expect(rollback(releaseState({ version: '2.4.23', components: [marked('proxy')] }), []).path).toBe('rolling');
  });
});

describe('planRollback: migration', () => {
  const migration: MigrationState = {
    configMap: 'milvus-meta-migration-config-prod',
    backupDone: true,
    sourceVersion: '2.1.4',
    targetVersion: '2.2.0',
  };
  const migrated = (c: string) =>
    component(c, { version: '2.2.0', previousImage: 'milvusdb/milvus:v2.1.4', previousVersionLabel: '2.1.4', replicas: 2 });

  it('a finished migration: restore the backup, start the old images', () => {
    const s = releaseState({
      version: '2.2.0',
      components: ['proxy', 'rootcoord', 'querynode'].map(migrated),
      migration,
      savedReplicas: { 'prod-milvus-proxy': 2, 'prod-milvus-rootcoord': 2, 'prod-milvus-querynode': 2 },
    });
    const p = rollback(s);
    expect(p).toMatchObject({
      id: 'test/milvus/prod@rollback-2.1.4',
      kind: 'rollback',
      path: 'migrate',
      from: '2.2.0',
      to: '2.1.4',
      image: 'milvusdb/milvus:v2.1.4',
      warnings: [],
    });
    expect(p.steps.map((st) => st.kind)).toEqual([
      'save-replicas',
      'stop-milvus',
      'wait-sessions-expired',
      'ensure-migration-config',
      'run-meta-migration',
      'delete-pod',
      'delete-pod',
      'start-milvus',
      'delete-config-map',
    ]);
    expect(stepsOf(p.steps, 'run-meta-migration')[0]).toMatchObject({
      action: 'rollback',
      pod: 'milvus-meta-migration-rollback-prod',
      configFile: 'rollback.yaml',
    });
    const cfg = stepsOf(p.steps, 'ensure-migration-config')[0]!;
    expect(cfg.files['rollback.yaml']).toContain('type: rollback');
    expect(cfg.files['rollback.yaml']).toContain('sourceVersion: 2.1.4');
    expect(cfg.files['rollback.yaml']).toContain('targetVersion: 2.2.0');
    const start = stepsOf(p.steps, 'start-milvus')[0]!;
    expect(start.targets.map((t) => [t.image, t.versionLabel])).toEqual([
      ['milvusdb/milvus:v2.1.4', '2.1.4'],
      ['milvusdb/milvus:v2.1.4', '2.1.4'],
      ['milvusdb/milvus:v2.1.4', '2.1.4'],
    ]);
  });

  it('a migration interrupted before the start (no marks, replicas saved): still a migration rollback', () => {
    const s = releaseState({
      version: '2.1.4',
      components: ['proxy', 'querynode'].map((c) => component(c, { version: '2.1.4', replicas: 0 })),
      migration,
      savedReplicas: { 'prod-milvus-proxy': 1, 'prod-milvus-querynode': 3 },
    });
    const p = rollback(s);
    expect(p.path).toBe('migrate');
    expect(p.to).toBe('2.1.4');
    expect(stepsOf(p.steps, 'save-replicas')[0]!.replicas.map((r) => r.replicas)).toEqual([1, 3]);
  });

  it('warns when no successful backup is recorded', () => {
    const s = releaseState({
      version: '2.2.0',
      components: ['proxy'].map(migrated),
      migration: { ...migration, backupDone: false },
    });
    expect(rollback(s).warnings.join('\n')).toContain('no successful backup');
  });

  // The migration resources stay by default (deleteResourcesWhenDone: false). A LATER rolling
  // upgrade (2.2.16 -> 2.3.21) re-marks the Deployments with 2.2.16. Rolling that back must put
  // 2.2.16 back, not restore the 2.1.4 metadata backup (and then start 2.2.16 on it).
  it('a rolling upgrade after a finished migration is rolled back as a rolling upgrade', () => {
    const s = releaseState({
      version: '2.3.21',
      components: ['proxy', 'querynode', 'mixcoord'].map((c) =>
        component(c, { version: '2.3.21', previousImage: 'milvusdb/milvus:v2.2.16', previousVersionLabel: '2.2.16' }),
      ),
      migration: { ...migration, targetVersion: '2.2.16' },
      savedReplicas: { 'prod-milvus-proxy': 1, 'prod-milvus-querynode': 1, 'prod-milvus-mixcoord': 1 },
    });
    const p = rollback(s);
    expect(p.steps.some((st) => st.kind === 'run-meta-migration')).toBe(false);
    expect(p.path).toBe('rolling');
    expect(p.to).toBe('2.2.16');
    expect(stepsOf(p.steps, 'update-deployment').map((u) => [u.target.component, u.target.image])).toEqual([
      ['proxy', 'milvusdb/milvus:v2.2.16'],
      ['querynode', 'milvusdb/milvus:v2.2.16'],
      ['mixcoord', 'milvusdb/milvus:v2.2.16'],
    ]);
  });

  it('a migration rollback needs the etcd endpoint', () => {
    const s = releaseState({ version: '2.2.0', components: ['proxy'].map(migrated), migration, etcdEndpoint: null });
    expect(thrown(() => rollback(s))).toBeInstanceOf(InputError);
  });
});
