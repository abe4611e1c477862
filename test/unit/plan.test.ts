import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { InputError, PreflightError } from '../../src/upgrade/errors.js';
import { migrationNames, releasePodSelector } from '../../src/upgrade/milvus/names.js';
import { planUpgrade } from '../../src/upgrade/planner/upgrade.js';
import { fingerprint, runningVersion, type Plan, type PlanSettings, type Strategy } from '../../src/upgrade/plan.js';
import type { ReleaseState, ToolingState } from '../../src/upgrade/state.js';
import type { Step } from '../../src/upgrade/steps.js';
import { parseVersion } from '../../src/upgrade/milvus/version.js';
import {
  component,
  milvusIndex,
  planSettings,
  releaseState,
  thrown,
  tooling,
} from './helpers.js';

const index = milvusIndex();

function plan(
  state: ReleaseState,
  target: string,
  o: { strategy?: Strategy; tooling?: ToolingState; settings?: PlanSettings } = {},
): Plan {
  return planUpgrade({
    request: { cluster: 'test', namespace: state.namespace, release: state.release, target: parseVersion(target), strategy: o.strategy },
    state,
    tooling: o.tooling ?? tooling(),
    charts: index,
    settings: o.settings ?? planSettings(),
  });
}

type StepOf<K extends Step['kind']> = Extract<Step, { kind: K }>;
function stepsOf<K extends Step['kind']>(steps: readonly Step[], kind: K): StepOf<K>[] {
  return steps.filter((s): s is StepOf<K> => s.kind === kind);
}

describe('planUpgrade: preflight refusals (nothing planned)', () => {
  const cases: Array<[string, { tooling?: ToolingState; state?: ReleaseState }, string]> = [
    ['helm 3.13.0', { tooling: tooling({ helmVersion: 'v3.13.0' }) }, '3.14.0'],
    ['Kubernetes 1.19', { tooling: tooling({ kubernetesVersion: 'v1.19.16' }) }, '1.20.0'],
    ['status pending-upgrade', { state: releaseState({ status: 'pending-upgrade' }) }, 'pending-upgrade'],
    [
      'a paused Deployment',
      { state: releaseState({ components: ['proxy', { ...component('datanode', { fullname: 'prod-milvus' }), paused: true, pausedBy: null }] }) },
      'prod-milvus-datanode is paused: resume it first (kubectl -n milvus rollout resume deployment/prod-milvus-datanode)',
    ],
    [
      'a Deployment not rolled out',
      { state: releaseState({ components: ['proxy', component('datanode', { fullname: 'prod-milvus', rolledOut: false, replicas: 2 })] }) },
      'prod-milvus-datanode is not rolled out',
    ],
  ];

  it.each(cases)('%s -> PreflightError', (_what, o, detail) => {
    const err = thrown(() => plan(o.state ?? releaseState(), '2.4.23', { tooling: o.tooling }));
    expect(err).toBeInstanceOf(PreflightError);
    const e = err as PreflightError;
    expect(e.code).toBe('preflight');
    expect(e.message).toBe('cannot upgrade prod: nothing was changed');
    expect(e.details.join('\n')).toContain(detail);
  });

  it('the archived repository under the repo name -> PreflightError telling how to fix it', () => {
    const err = thrown(() =>
      plan(releaseState(), '2.4.23', { tooling: tooling({ repos: { zilliztech: 'https://milvus-io.github.io/milvus-helm/' } }) }),
    ) as PreflightError;
    expect(err).toBeInstanceOf(PreflightError);
    expect(err.details).toHaveLength(1);
    expect(err.details[0]).toContain(
      'helm repo remove zilliztech && helm repo add zilliztech https://zilliztech.github.io/milvus-helm && helm repo update',
    );
  });

  it('lists tool and release problems together', () => {
    const err = thrown(() =>
      plan(releaseState({ status: 'failed' }), '2.4.23', { tooling: tooling({ helmVersion: 'v3.12.0', kubernetesVersion: 'v1.19.0' }) }),
    ) as PreflightError;
    expect(err.details).toHaveLength(3);
  });
});

describe('planUpgrade: helm path', () => {
  const state = releaseState({ version: '2.4.5', chartVersion: '4.1.36', revision: 3 });

  it('by default pauses every Deployment, runs helm without --wait, then resumes the components one by one in rolling order', () => {
    const p = plan(state, '2.4.23');
    expect(p.steps.map((s) => s.kind)).toEqual([
      'helm-repo-update', 'pause-deployments', 'helm-upgrade',
      ...Array(6).fill('resume-deployments'), 'wait-rollout', 'check-health',
    ]);
    expect(p.steps.at(-1)).toMatchObject({ kind: 'check-health', settleSeconds: 30, sinceStep: 0 });
    const upgrade = stepsOf(p.steps, 'helm-upgrade')[0]!;
    expect(upgrade.wait).toBe(false);
    expect(upgrade.description).toBe('helm upgrade prod zilliztech/milvus -n milvus --version 4.2.25 --set image.all.tag=v2.4.23 --reset-then-reuse-values --timeout 1800s');
    // Chart 4.2.25 replaces the four coordinators by mixcoord: it is resumed where they were, first.
    expect(stepsOf(p.steps, 'resume-deployments').map((s) => s.component)).toEqual(['mixcoord', 'indexnode', 'datanode', 'querynode', 'proxy', null]);
    expect(p.reasons.join('\n')).toContain("components roll one at a time in Milvus's order: mixcoord, indexnode, datanode, querynode, proxy");
  });

  it('the ordered rollback: pause, helm rollback without --wait, every component either side resumed in reverse order', () => {
    const p = plan(releaseState({ version: '2.4.5', chartVersion: '4.1.36', revision: 7 }), '2.4.23');
    const steps = p.rollback!.steps;
    expect(steps.map((s) => s.kind).slice(0, 3)).toEqual(['pause-deployments', 'helm-rollback', 'resume-deployments']);
    expect(stepsOf(steps, 'helm-rollback')[0]).toMatchObject({ toRevision: 7, wait: false, description: 'helm rollback prod 7 -n milvus --timeout 1800s' });
    expect(stepsOf(steps, 'resume-deployments').map((s) => s.component)).toEqual([
      'proxy', 'querynode', 'datanode', 'indexnode', 'querycoord', 'indexcoord', 'datacoord', 'rootcoord', 'mixcoord', null,
    ]);
    expect(steps.slice(-2).map((s) => s.kind)).toEqual(['wait-rollout', 'check-health']);
  });

  it('a standalone release keeps plain helm (one Deployment: nothing to order)', () => {
    const p = plan(releaseState({ version: '2.4.5', chartVersion: '4.1.36', mode: 'standalone', messageQueue: 'rocksmq' }), '2.4.23');
    expect(p.steps.map((s) => s.kind)).toEqual(['helm-repo-update', 'helm-upgrade', 'wait-rollout', 'check-health']);
  });

  it('2.4.5 -> 2.4.23 with --strategy helm-parallel: repo update, helm upgrade --wait to 4.2.25 with image.all.tag, wait', () => {
    const p = plan(state, '2.4.23', { strategy: 'helm-parallel' });
    expect(p.steps.at(-1)!.kind).toBe('check-health');
    expect(p).toMatchObject({
      id: 'test/milvus/prod@2.4.23',
      kind: 'upgrade',
      path: 'helm',
      from: '2.4.5',
      to: '2.4.23',
      image: 'milvusdb/milvus:v2.4.23',
      chart: { ref: 'zilliztech/milvus', version: '4.2.25', appVersion: '2.4.17' },
    });
    expect(p.steps.map((s) => s.kind)).toEqual(['helm-repo-update', 'helm-upgrade', 'wait-rollout', 'check-health']);
    expect(p.steps[0]).toMatchObject({ repoName: 'zilliztech', repoUrl: 'https://zilliztech.github.io/milvus-helm' });
    expect(p.steps[1]).toEqual({
      kind: 'helm-upgrade',
      chartRef: 'zilliztech/milvus',
      chartVersion: '4.2.25',
      set: { 'image.all.tag': 'v2.4.23' },
      fromRevision: 3,
      timeoutSeconds: 1800,
      description:
        'helm upgrade prod zilliztech/milvus -n milvus --version 4.2.25 --set image.all.tag=v2.4.23 --reset-then-reuse-values --wait --timeout 1800s',
    });
    expect(p.steps[2]).toMatchObject({ kind: 'wait-rollout', deployments: [], timeoutSeconds: 600 });
  });

  it('says plainly that it forces the image tag', () => {
    const p = plan(state, '2.4.23');
    const w = p.warnings.join('\n');
    expect(w).toContain('no chart carries Milvus 2.4.23');
    expect(w).toContain('image.all.tag=v2.4.23');
    expect(w).toContain('milvusdb/milvus:v2.4.23 must exist');
    expect(p.reasons.join('\n')).toContain('no chart carries Milvus 2.4.23');
  });

  it('warns that chart >= 4.2.4 replaces the coordinators by mixcoord', () => {
    expect(plan(state, '2.4.23').warnings.join('\n')).toContain('mixCoordinator');
  });

  it('no mixcoord warning for a release that already runs mixcoord', () => {
    const s = releaseState({
      version: '2.4.13',
      chartVersion: '4.2.14',
      components: ['mixcoord', 'proxy', 'datanode', 'querynode', 'indexnode'],
    });
    expect(plan(s, '2.4.17').warnings.join('\n')).not.toContain('mixCoordinator');
  });

  // --reset-then-reuse-values keeps a tag forced by an earlier upgrade, so the tag of the
  // chart's own Milvus is set explicitly too; only a forced tag earns the warning.
  it('a target a chart carries: image.all.tag is the chart\'s own version, no override warning', () => {
    const p = plan(state, '2.4.17');
    const upgrade = stepsOf(p.steps, 'helm-upgrade')[0]!;
    expect(upgrade.set).toEqual({ 'image.all.tag': 'v2.4.17' });
    expect(upgrade.chartVersion).toBe('4.2.25');
    expect(upgrade.description).toBe(
      'helm upgrade prod zilliztech/milvus -n milvus --version 4.2.25 --set image.all.tag=v2.4.17 --reset-then-reuse-values --timeout 1800s',
    );
    expect(p.warnings.join('\n')).not.toContain('no chart carries');
    expect(p.warnings.join('\n')).not.toContain('must exist');
  });

  it('a pre-release target a chart carries: the tag follows the chart (v2.5.0-beta)', () => {
    const s = releaseState({ version: '2.4.17', chartVersion: '4.2.25' });
    const upgrade = stepsOf(plan(s, '2.5.0-beta').steps, 'helm-upgrade')[0]!;
    expect(upgrade).toMatchObject({ chartVersion: '4.2.32', set: { 'image.all.tag': 'v2.5.0-beta' } });
  });

  it('rollback (helm-parallel): helm rollback --wait to the revision the release has now', () => {
    const p = plan(releaseState({ version: '2.4.5', chartVersion: '4.1.36', revision: 7 }), '2.4.23', { strategy: 'helm-parallel' });
    expect(p.rollback?.path).toBe('helm');
    expect(p.rollback?.steps).toEqual([
      {
        kind: 'helm-rollback',
        toRevision: 7,
        timeoutSeconds: 1800,
        description: 'helm rollback prod 7 -n milvus --wait --timeout 1800s',
      },
    ]);
    expect(p.rollback?.summary).toContain('revision 7');
    expect(p.rollback?.summary).toContain('4.1.36');
  });

  it('records what it was planned from', () => {
    const p = plan(state, '2.4.23');
    expect(p.observed).toEqual(fingerprint(state));
    expect(p.observed.helmRevision).toBe(3);
    expect(p.observed.images['prod-milvus-proxy']).toBe('milvusdb/milvus:v2.4.5');
  });

  it('2.2.0 -> 2.4.23 is helm even with nothing requested, and refuses rolling', () => {
    const s = releaseState({ version: '2.2.0', chartVersion: '3.3.6' });
    expect(plan(s, '2.4.23').path).toBe('helm');
    expect(thrown(() => plan(s, '2.4.23', { strategy: 'rolling' }))).toBeInstanceOf(InputError);
  });

  it('an unknown version line -> InputError', () => {
    expect(thrown(() => plan(state, '9.9.9'))).toBeInstanceOf(InputError);
  });

  it('a downgrade -> InputError', () => {
    expect(thrown(() => plan(state, '2.4.0'))).toBeInstanceOf(InputError);
    expect(thrown(() => plan(state, '2.4.5'))).toBeInstanceOf(InputError);
  });

  it('uses the release image repository', () => {
    const s = releaseState({
      version: '2.4.5',
      imageRepository: 'harbor.local:5000/ai/milvus',
      components: ['proxy', 'querynode'].map((c) =>
        component(c, { image: 'harbor.local:5000/ai/milvus:v2.4.5' }),
      ),
    });
    expect(plan(s, '2.4.23').image).toBe('harbor.local:5000/ai/milvus:v2.4.23');
  });
});

describe('runningVersion (SPEC §3: the image tag, not app_version)', () => {
  it('reads the proxy image', () => {
    const s = releaseState({
      version: '2.4.5',
      components: [component('proxy', { image: 'milvusdb/milvus:v2.4.13' }), component('querynode', { version: '2.4.5' })],
    });
    expect(runningVersion(s).text).toBe('2.4.13');
  });

  it('reads the standalone image in standalone mode', () => {
    const s = releaseState({ mode: 'standalone', components: [component('standalone', { version: '2.3.11' })] });
    expect(runningVersion(s).text).toBe('2.3.11');
  });

  it('falls back to the oldest versioned component when the proxy tag is not a version', () => {
    const s = releaseState({
      components: [
        component('proxy', { image: 'milvusdb/milvus:latest' }),
        component('querynode', { version: '2.4.13' }),
        component('datanode', { version: '2.4.5' }),
      ],
    });
    expect(runningVersion(s).text).toBe('2.4.5');
  });

  it('InputError when nothing tells the version', () => {
    const s = { ...releaseState({ components: [component('proxy', { image: 'milvusdb/milvus:latest' })] }) };
    const noApp = { ...s, helm: { ...s.helm, appVersion: 'master' } };
    expect(thrown(() => runningVersion(noApp))).toBeInstanceOf(InputError);
  });

  it('a plan from mixed versions warns about them', () => {
    const s = releaseState({
      version: '2.4.5',
      components: [component('proxy', { version: '2.4.5' }), component('querynode', { version: '2.4.13' })],
    });
    expect(plan(s, '2.4.23').warnings.join('\n')).toContain('components run different versions');
  });
});

describe('planUpgrade: rolling path', () => {
  const oldStyle = ['proxy', 'querynode', 'datanode', 'indexnode', 'querycoord', 'indexcoord', 'datacoord', 'rootcoord'];

  it('old coordinators: rootcoord, datacoord, indexcoord, querycoord, then indexnode, datanode, querynode, proxy', () => {
    const p = plan(releaseState({ version: '2.4.5', components: oldStyle }), '2.4.23', { strategy: 'rolling' });
    expect(p.path).toBe('rolling');
    expect(p.chart).toBeNull();
    expect(p.steps[0]!.kind).toBe('enable-active-standby');
    const updates = stepsOf(p.steps, 'update-deployment');
    // Between the config change and the closing check, only Deployment updates.
    expect(updates).toHaveLength(p.steps.length - 2);
    expect(p.steps.at(-1)!.kind).toBe('verify-deployments');
    expect(updates.map((s) => s.target.component)).toEqual([
      'rootcoord',
      'datacoord',
      'indexcoord',
      'querycoord',
      'indexnode',
      'datanode',
      'querynode',
      'proxy',
    ]);
  });

  it('mixcoord first, streamingnode between datanode and querynode', () => {
    const s = releaseState({
      release: 'milvus-prod',
      version: '2.6.0',
      chartVersion: '5.0.1',
      components: ['proxy', 'querynode', 'streamingnode', 'datanode', 'mixcoord'],
    });
    const p = plan(s, '2.6.15', { strategy: 'rolling' });
    expect(stepsOf(p.steps, 'update-deployment').map((s) => s.target.deployment)).toEqual([
      'milvus-prod-mixcoord',
      'milvus-prod-datanode',
      'milvus-prod-streamingnode',
      'milvus-prod-querynode',
      'milvus-prod-proxy',
    ]);
  });

  it('every component known to the chart in the full order; unknown ones last', () => {
    const all = [
      'proxy', 'cdc', 'querynode', 'streamingnode', 'datanode', 'indexnode',
      'querycoord', 'indexcoord', 'datacoord', 'rootcoord', 'mixcoord',
    ];
    const p = plan(releaseState({ version: '2.5.4', components: all }), '2.5.10', { strategy: 'rolling' });
    expect(stepsOf(p.steps, 'update-deployment').map((s) => s.target.component)).toEqual([
      'mixcoord', 'rootcoord', 'datacoord', 'indexcoord', 'querycoord',
      'indexnode', 'datanode', 'streamingnode', 'querynode', 'proxy', 'cdc',
    ]);
  });

  it('each update: new image and label, previous recorded, minReadySeconds 30 for coordinators only', () => {
    const components = [
      'mixcoord', 'rootcoord', 'datacoord', 'indexcoord', 'querycoord',
      'indexnode', 'datanode', 'streamingnode', 'querynode', 'proxy',
    ];
    const p = plan(releaseState({ version: '2.5.4', components }), '2.5.10', { strategy: 'rolling' });
    const updates = stepsOf(p.steps, 'update-deployment');
    const minReady = Object.fromEntries(updates.map((s) => [s.target.component, s.minReadySeconds]));
    expect(minReady).toEqual({
      mixcoord: 30, rootcoord: 30, datacoord: 30, indexcoord: 30, querycoord: 30,
      indexnode: null, datanode: null, streamingnode: null, querynode: null, proxy: null,
    });
    for (const s of updates) {
      expect(s.target).toEqual({
        component: s.target.component,
        deployment: `prod-milvus-${s.target.component}`,
        image: 'milvusdb/milvus:v2.5.10',
        versionLabel: '2.5.10',
        recordPrevious: { image: 'milvusdb/milvus:v2.5.4', versionLabel: '2.5.4', helmRevision: p.observed.helmRevision },
      });
      expect(s.timeoutSeconds).toBe(600);
    }
  });

  it('honours coordinatorMinReadySeconds from the settings', () => {
    const p = plan(releaseState({ version: '2.4.5', components: ['rootcoord', 'proxy'] }), '2.4.23', {
      strategy: 'rolling',
      settings: planSettings({ coordinatorMinReadySeconds: 45 }),
    });
    expect(stepsOf(p.steps, 'update-deployment').map((s) => s.minReadySeconds)).toEqual([45, null]);
  });

  it.each([
    ['milvus-prod', 'milvus-prod'],
    ['prod', 'prod-milvus'],
  ])('release %s: enable-active-standby writes user.yaml of ConfigMap %s', (release, cm) => {
    const p = plan(releaseState({ release, version: '2.4.5' }), '2.4.23', { strategy: 'rolling' });
    expect(p.steps[0]).toMatchObject({ kind: 'enable-active-standby', configMap: cm, key: 'user.yaml' });
  });

  it('uses state.configMapName, whatever it is', () => {
    const s = { ...releaseState({ version: '2.4.5' }), configMapName: 'custom-cm' };
    expect(plan(s, '2.4.23', { strategy: 'rolling' }).steps[0]).toMatchObject({ configMap: 'custom-cm' });
  });

  it('warns that helm still records the old chart', () => {
    const p = plan(releaseState({ version: '2.4.5', chartVersion: '4.1.36' }), '2.4.23', { strategy: 'rolling' });
    expect(p.warnings.join('\n')).toContain('helm still records chart 4.1.36');
    expect(p.warnings.join('\n')).toContain('image.all.tag=v2.4.23');
  });

  it('rollback: the reverse order, back to the images running now, clearing the marks', () => {
    const s = releaseState({ version: '2.4.5', components: oldStyle });
    const p = plan(s, '2.4.23', { strategy: 'rolling' });
    const forward = stepsOf(p.steps, 'update-deployment').map((x) => x.target.component);
    expect(p.rollback?.path).toBe('rolling');
    const back = (p.rollback?.steps ?? []) as readonly Step[];
    expect(back.slice(0, -1).every((x) => x.kind === 'update-deployment')).toBe(true);
    expect(back.at(-1)).toMatchObject({ kind: 'verify-deployments', everyMilvusDeploymentOn: null });
    const backUpdates = stepsOf(back, 'update-deployment');
    expect(backUpdates.map((x) => x.target.component)).toEqual([...forward].reverse());
    for (const x of backUpdates) {
      expect(x.target.image).toBe('milvusdb/milvus:v2.4.5');
      expect(x.target.versionLabel).toBe('2.4.5');
      expect(x.target.recordPrevious).toBeNull();
      expect(x.minReadySeconds).toBeNull();
    }
  });

  // A Deployment can still carry the previous-image mark of an EARLIER rolling upgrade
  // (2.4.5 -> 2.4.13, done by the bot). Undoing THIS upgrade (2.4.13 -> 2.4.23) must go back
  // to 2.4.13, the image running when it was planned (revertDeploymentStep's own comment says
  // so), not two versions back to 2.4.5.
  it('rollback of a second rolling upgrade goes back to the images running now, not to older marks', () => {
    const components = ['proxy', 'querynode', 'rootcoord'].map((c) =>
      component(c, { version: '2.4.13', previousImage: 'milvusdb/milvus:v2.4.5', previousVersionLabel: '2.4.5' }),
    );
    const p = plan(releaseState({ version: '2.4.13', components }), '2.4.23', { strategy: 'rolling' });
    const forward = stepsOf(p.steps, 'update-deployment');
    expect(forward.map((x) => x.target.recordPrevious?.image)).toEqual([
      'milvusdb/milvus:v2.4.13',
      'milvusdb/milvus:v2.4.13',
      'milvusdb/milvus:v2.4.13',
    ]);
    const back = stepsOf(p.rollback?.steps ?? [], 'update-deployment');
    expect(back.map((x) => x.target.image)).toEqual([
      'milvusdb/milvus:v2.4.13',
      'milvusdb/milvus:v2.4.13',
      'milvusdb/milvus:v2.4.13',
    ]);
    expect(back.map((x) => x.target.versionLabel)).toEqual(['2.4.13', '2.4.13', '2.4.13']);
  });

  it.each([
    ['standalone', releaseState({ version: '2.4.5', mode: 'standalone', messageQueue: 'pulsar' })],
    ['rocksmq', releaseState({ version: '2.4.5', messageQueue: 'rocksmq' })],
  ])('%s: rolling refused', (_what, s) => {
    expect(thrown(() => plan(s, '2.4.23', { strategy: 'rolling' }))).toBeInstanceOf(InputError);
    expect(plan(s, '2.4.23').path).toBe('helm');
  });
});

describe('planUpgrade: migration path (2.1.x -> 2.2+)', () => {
  const state = releaseState({
    version: '2.1.4',
    chartVersion: '3.2.18',
    components: [
      component('proxy', { version: '2.1.4', replicas: 2 }),
      component('rootcoord', { version: '2.1.4' }),
      component('querynode', { version: '2.1.4', replicas: 3 }),
      component('datanode', { version: '2.1.4' }),
    ],
  });
  const names = migrationNames('prod');

  it('names the resources after the release (with the -<instance> suffix everywhere)', () => {
    expect(names).toEqual({
      replicasConfigMap: 'milvus-deploy-replicas-prod',
      configMap: 'milvus-meta-migration-config-prod',
      pvc: 'milvus-meta-migration-backup-prod',
      backupPod: 'milvus-meta-migration-backup-prod',
      migratePod: 'milvus-meta-migration-prod',
      rollbackPod: 'milvus-meta-migration-rollback-prod',
    });
  });

  it('steps in order', () => {
    const p = plan(state, '2.2.0');
    expect(p.path).toBe('migrate');
    expect(p.chart).toBeNull();
    expect(p.steps.map((s) => (s.kind === 'run-meta-migration' ? `${s.kind}:${s.action}` : s.kind))).toEqual([
      'save-replicas',
      'stop-milvus',
      'wait-sessions-expired',
      'ensure-backup-pvc',
      'ensure-migration-config',
      'run-meta-migration:backup',
      'run-meta-migration:migrate',
      'start-milvus',
    ]);
  });

  it('saves the replica counts, stops every Deployment of the release, watches the sessions', () => {
    const p = plan(state, '2.2.0');
    expect(p.steps[0]).toMatchObject({
      kind: 'save-replicas',
      configMap: 'milvus-deploy-replicas-prod',
      replicas: [
        { component: 'proxy', deployment: 'prod-milvus-proxy', replicas: 2 },
        { component: 'rootcoord', deployment: 'prod-milvus-rootcoord', replicas: 1 },
        { component: 'querynode', deployment: 'prod-milvus-querynode', replicas: 3 },
        { component: 'datanode', deployment: 'prod-milvus-datanode', replicas: 1 },
      ],
    });
    expect(p.steps[1]).toMatchObject({
      kind: 'stop-milvus',
      deployments: ['prod-milvus-proxy', 'prod-milvus-rootcoord', 'prod-milvus-querynode', 'prod-milvus-datanode'],
      podSelector: 'app.kubernetes.io/instance=prod,component',
    });
    expect(p.steps[2]).toMatchObject({
      kind: 'wait-sessions-expired',
      etcdEndpoint: 'prod-etcd.milvus:2379',
      rootPath: 'by-dev',
      fallbackSeconds: 75,
    });
    expect(p.steps[3]).toMatchObject({ kind: 'ensure-backup-pvc', pvc: names.pvc, size: '10Gi', storageClass: null });
  });

  it('keeps replica counts saved by an interrupted earlier run (Deployments are at 0 now)', () => {
    const stopped = releaseState({
      version: '2.1.4',
      components: [component('proxy', { version: '2.1.4', replicas: 0 }), component('querynode', { version: '2.1.4', replicas: 0 })],
      savedReplicas: { 'prod-milvus-proxy': 2, 'prod-milvus-querynode': 3 },
    });
    const save = stepsOf(plan(stopped, '2.2.0').steps, 'save-replicas')[0]!;
    expect(save.replicas.map((r) => r.replicas)).toEqual([2, 3]);
  });

  it('config files carry sourceVersion, targetVersion, rootPath and the etcd endpoint', () => {
    const p = plan(state, '2.2.0');
    const cfg = stepsOf(p.steps, 'ensure-migration-config')[0]!;
    expect(cfg.configMap).toBe('milvus-meta-migration-config-prod');
    expect(Object.keys(cfg.files).sort()).toEqual(['backup.yaml', 'migration.yaml', 'rollback.yaml']);
    const types = { 'backup.yaml': 'backup', 'migration.yaml': 'run', 'rollback.yaml': 'rollback' } as const;
    for (const [file, type] of Object.entries(types)) {
      const text = cfg.files[file]!;
      expect(text).toContain('sourceVersion: 2.1.4');
      expect(text).toContain('targetVersion: 2.2.0');
      expect(text).toContain('rootPath: by-dev');
      expect(text).toContain('prod-etcd.milvus:2379');
      expect(parseYaml(text)).toEqual({
        cmd: { type, runWithBackup: true },
        config: { sourceVersion: '2.1.4', targetVersion: '2.2.0', backupFilePath: '/milvus/data/migration.bak' },
        metastore: { type: 'etcd' },
        etcd: { endpoints: ['prod-etcd.milvus:2379'], rootPath: 'by-dev', metaSubPath: 'meta', kvSubPath: 'kv' },
      });
    }
  });

  it('backup and migrate pods use the migration image, the PVC and the ConfigMap', () => {
    const pods = stepsOf(plan(state, '2.2.0').steps, 'run-meta-migration');
    expect(pods).toEqual([
      expect.objectContaining({
        action: 'backup',
        pod: 'milvus-meta-migration-backup-prod',
        image: 'milvusdb/meta-migration:v2.2.0-bugfix-20230112',
        configMap: names.configMap,
        pvc: names.pvc,
        configFile: 'backup.yaml',
      }),
      expect.objectContaining({
        action: 'migrate',
        pod: 'milvus-meta-migration-prod',
        image: 'milvusdb/meta-migration:v2.2.0-bugfix-20230112',
        configFile: 'migration.yaml',
      }),
    ]);
  });

  it('starts the new image on every Deployment, recording the old one', () => {
    const start = stepsOf(plan(state, '2.2.0').steps, 'start-milvus')[0]!;
    expect(start.replicasConfigMap).toBe('milvus-deploy-replicas-prod');
    expect(start.targets).toHaveLength(4);
    for (const t of start.targets) {
      expect(t.image).toBe('milvusdb/milvus:v2.2.0');
      expect(t.versionLabel).toBe('2.2.0');
      expect(t.recordPrevious).toEqual({ image: 'milvusdb/milvus:v2.1.4', versionLabel: '2.1.4', helmRevision: state.helm.revision });
    }
  });

  it('settings: etcd endpoint override, root path, storage class', () => {
    const p = plan(state, '2.2.0', {
      settings: planSettings({ migration: { etcdEndpoint: '10.0.0.5:2379', rootPath: 'my-root', storageClass: 'fast' } }),
    });
    const text = stepsOf(p.steps, 'ensure-migration-config')[0]!.files['migration.yaml']!;
    expect(text).toContain('- 10.0.0.5:2379');
    expect(text).toContain('rootPath: my-root');
    expect(stepsOf(p.steps, 'wait-sessions-expired')[0]).toMatchObject({ etcdEndpoint: '10.0.0.5:2379', rootPath: 'my-root' });
    expect(stepsOf(p.steps, 'ensure-backup-pvc')[0]!.storageClass).toBe('fast');
  });

  it('missing etcd endpoint -> InputError asking for --etcd-endpoint', () => {
    const err = thrown(() => plan(releaseState({ version: '2.1.4', etcdEndpoint: null }), '2.2.0')) as InputError;
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain('etcd');
    expect(err.details.join('\n')).toContain('--etcd-endpoint');
  });

  it('warns about the outage', () => {
    expect(plan(state, '2.2.0').warnings.join('\n')).toContain('Milvus is stopped');
  });

  it('deleteResourcesWhenDone adds a last clean-up step and a warning', () => {
    const p = plan(state, '2.2.0', { settings: planSettings({ migration: { deleteResourcesWhenDone: true } }) });
    expect(p.steps[p.steps.length - 1]).toMatchObject({
      kind: 'delete-migration-resources',
      pods: ['milvus-meta-migration-backup-prod', 'milvus-meta-migration-prod'],
      pvc: 'milvus-meta-migration-backup-prod',
      configMaps: ['milvus-meta-migration-config-prod', 'milvus-deploy-replicas-prod'],
    });
    expect(p.warnings.join('\n')).toContain('cannot be rolled back');
  });

  it('rollback: restore the backup, then start the old image again', () => {
    const p = plan(state, '2.2.0');
    expect(p.rollback?.path).toBe('migrate');
    const steps = p.rollback?.steps ?? [];
    expect(steps.map((s) => (s.kind === 'run-meta-migration' ? `${s.kind}:${s.action}` : s.kind))).toEqual([
      'save-replicas',
      'stop-milvus',
      'wait-sessions-expired',
      'ensure-migration-config',
      'run-meta-migration:rollback',
      'delete-pod',
      'delete-pod',
      'start-milvus',
      'delete-config-map',
    ]);
    expect(steps[steps.length - 1]).toMatchObject({ kind: 'delete-config-map', configMap: 'milvus-deploy-replicas-prod' });
    expect(stepsOf(steps, 'run-meta-migration')[0]).toMatchObject({
      pod: 'milvus-meta-migration-rollback-prod',
      configFile: 'rollback.yaml',
    });
    const start = stepsOf(steps, 'start-milvus')[0]!;
    expect(start.targets.map((t) => t.image)).toEqual(Array(4).fill('milvusdb/milvus:v2.1.4'));
    expect(start.targets.every((t) => t.recordPrevious === null)).toBe(true);
  });

  it('--strategy helm or rolling is refused for 2.1.4 -> 2.2.0', () => {
    expect(thrown(() => plan(state, '2.2.0', { strategy: 'helm' }))).toBeInstanceOf(InputError);
    expect(thrown(() => plan(state, '2.2.0', { strategy: 'rolling' }))).toBeInstanceOf(InputError);
  });

  it('releasePodSelector matches the chart labels', () => {
    expect(releasePodSelector('milvus-prod')).toBe('app.kubernetes.io/instance=milvus-prod,component');
  });
});

describe('planUpgrade: 2.5 -> 2.6 (SPEC §8)', () => {
  it.each(['2.5.0', '2.5.10', '2.5.15'])('%s -> 2.6.0 is refused: go through 2.5.16', (from) => {
    const s = releaseState({ version: from, chartVersion: '4.2.50' });
    const err = thrown(() => plan(s, '2.6.0')) as InputError;
    expect(err).toBeInstanceOf(InputError);
    expect(err.details.join('\n')).toContain('2.5.16');
  });

  it('2.5.16 -> 2.6.0 is planned (chart 5.0.x) with a no-rollback warning', () => {
    const s = releaseState({ version: '2.5.16', chartVersion: '4.2.56', components: ['mixcoord', 'proxy', 'querynode', 'datanode'] });
    const p = plan(s, '2.6.0');
    expect(p.path).toBe('helm');
    expect(p.chart?.version).toMatch(/^5\.0\./);
    expect(p.warnings.join('\n')).toContain('cannot be rolled back');
  });

  it('2.5.16 -> 2.6.15 rolls in the 2.6 guide\'s order (streamingnode, mixcoord, querynode, datanode, proxy), sets streaming on and indexnode off, and has no rollback', () => {
    const s = releaseState({ version: '2.5.16', chartVersion: '4.2.58', components: ['mixcoord', 'proxy', 'querynode', 'datanode', 'indexnode'] });
    const p = plan(s, '2.6.15');
    // A 2.6 streamingnode is healthy only with a 2.6 mixcoord: started first, waited for with it.
    expect(stepsOf(p.steps, 'resume-deployments').map((r) => [r.component, ...(r.with ?? [])])).toEqual([['streamingnode', 'mixcoord'], ['querynode'], ['datanode'], ['proxy'], [null]]);
    expect(stepsOf(p.steps, 'helm-upgrade')[0]!.set).toMatchObject({ 'image.all.tag': 'v2.6.15', 'streaming.enabled': 'true', 'indexNode.enabled': 'false' });
    expect(p.rollback).toBeNull();
  });

  it('2.5.16 -> 2.6.15 keeps indexnode through helm and removes it after proxy (the guide removes it last)', () => {
    const s = releaseState({ version: '2.5.16', chartVersion: '4.2.58', components: ['mixcoord', 'proxy', 'querynode', 'datanode', 'indexnode'] });
    const kinds = plan(s, '2.6.15').steps.map((st) => (st.kind === 'resume-deployments' ? `resume ${st.component ?? 'rest'}` : st.kind === 'keep-deployments' || st.kind === 'remove-deployments' ? `${st.kind} ${st.components.join()}` : st.kind));
    expect(kinds.indexOf('keep-deployments indexnode')).toBeLessThan(kinds.indexOf('helm-upgrade'));
    expect(kinds.indexOf('remove-deployments indexnode')).toBe(kinds.indexOf('resume proxy') + 1);
    expect(kinds.indexOf('resume rest')).toBeGreaterThan(kinds.indexOf('remove-deployments indexnode'));
    // No indexnode to keep, nothing to remove.
    const without = plan(releaseState({ version: '2.5.16', chartVersion: '4.2.58', components: ['mixcoord', 'proxy', 'querynode', 'datanode'] }), '2.6.15');
    expect(without.steps.some((st) => st.kind === 'keep-deployments' || st.kind === 'remove-deployments')).toBe(false);
  });

  it('2.5.16 -> 2.6.15 also warns', () => {
    const s = releaseState({ version: '2.5.16', components: ['mixcoord', 'proxy'] });
    expect(plan(s, '2.6.15').warnings.join('\n')).toContain('2.5 to 2.6');
  });

  // SPEC §8: "2.5 -> 2.6 must pass through 2.5.16"; the Milvus 2.6 upgrade guide requires a
  // source of 2.5.16 or later, so an older line cannot jump to 2.6 either.
  it('2.4.23 -> 2.6.0 skips 2.5.16 and is refused', () => {
    const s = releaseState({ version: '2.4.23', chartVersion: '4.2.25' });
    expect(thrown(() => plan(s, '2.6.0'))).toBeInstanceOf(InputError);
  });
});
