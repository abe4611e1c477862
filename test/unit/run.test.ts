import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { Cancelled, StepFailed, UpgradeError } from '../../src/upgrade/errors.js';
import { migrationNames } from '../../src/upgrade/milvus/names.js';
import { planUpgrade } from '../../src/upgrade/planner/upgrade.js';
import { runSteps } from '../../src/upgrade/runner/run.js';
import type { ComponentState } from '../../src/upgrade/state.js';
import { BACKUP_MARK, PREVIOUS_IMAGE_ANNOTATION, PREVIOUS_VERSION_ANNOTATION, MARK_HELM_REVISION_ANNOTATION, type Step, type RunEvent } from '../../src/upgrade/steps.js';
import { parseVersion } from '../../src/upgrade/milvus/version.js';
import { FakeHelm, FakeSessions, fakePorts, type FakePorts } from './fakes.js';
import { component, milvusIndex, planSettings, releaseState, tooling } from './helpers.js';

const TARGET = { namespace: 'milvus', release: 'prod' };

function updateStep(
  c: ComponentState,
  image: string,
  versionLabel: string,
  o: { minReadySeconds?: number | null; timeoutSeconds?: number } = {},
): Step {
  return {
    kind: 'update-deployment',
    target: {
      component: c.component,
      deployment: c.deployment,
      image,
      versionLabel,
      recordPrevious: { image: c.image, versionLabel: c.versionLabel, helmRevision: 1 },
    },
    minReadySeconds: o.minReadySeconds ?? null,
    timeoutSeconds: o.timeoutSeconds ?? 600,
    description: `${c.component} -> ${image}`,
  };
}

async function run(ports: FakePorts, steps: readonly Step[], o: { signal?: AbortSignal; startAt?: number } = {}) {
  const events: RunEvent[] = [];
  const error = await runSteps(TARGET, steps, {
    ports,
    signal: o.signal,
    startAt: o.startAt,
    pollIntervalMs: 1000,
    onEvent: (e) => {
      events.push(e);
    },
  }).then(
    () => null,
    (err: unknown) => err,
  );
  return { events, error };
}

const progressOf = (events: RunEvent[]) =>
  events.flatMap((e) => (e.type === 'step-progress' ? [e.message] : []));

describe('runSteps: update-deployment', () => {
  it('skips a Deployment already on the image and rolled out (no patch)', async () => {
    const c = component('proxy', { version: '2.4.23' });
    const ports = fakePorts({ components: [c] });
    const step = updateStep(c, 'milvusdb/milvus:v2.4.23', '2.4.23');
    const { events, error } = await run(ports, [step]);
    expect(error).toBeNull();
    expect(ports.cluster.patches).toEqual([]);
    expect(events).toEqual([
      { type: 'step-started', index: 0, total: 1, step },
      { type: 'step-finished', index: 0, total: 1, skipped: true, detail: 'proxy already runs milvusdb/milvus:v2.4.23' },
    ]);
  });

  it('patches (image, label, RollingUpdate, previous-image marks), then waits for the rollout', async () => {
    const c = component('proxy', { version: '2.4.5', replicas: 2 });
    const ports = fakePorts({ components: [c] });
    const step = updateStep(c, 'milvusdb/milvus:v2.4.23', '2.4.23');
    const { events, error } = await run(ports, [step]);
    expect(error).toBeNull();
    expect(ports.cluster.patches).toEqual([
      {
        deployment: 'prod-milvus-proxy',
        change: {
          container: 'proxy',
          image: 'milvusdb/milvus:v2.4.23',
          versionLabel: '2.4.23',
          rollingUpdate: true,
          annotations: {
            [PREVIOUS_IMAGE_ANNOTATION]: 'milvusdb/milvus:v2.4.5',
            [PREVIOUS_VERSION_ANNOTATION]: '2.4.5',
            [MARK_HELM_REVISION_ANNOTATION]: '1',
          },
        },
      },
    ]);
    expect(progressOf(events)).toEqual([
      'proxy: waiting for the controller to see the change',
      'proxy: 0/2 pods on v2.4.23',
      'proxy: 1/2 pods on v2.4.23',
      'proxy: 2 old pod(s) still running',
      'proxy: 1 old pod(s) still running',
      'proxy: 1 pod(s) in graceful stop',
    ]);
    expect(events.map((e) => e.type)).toEqual([
      'step-started',
      ...Array<string>(6).fill('step-progress'),
      'step-finished',
    ]);
    expect(events[events.length - 1]).toEqual({
      type: 'step-finished',
      index: 0,
      total: 1,
      skipped: false,
      detail: 'proxy runs milvusdb/milvus:v2.4.23',
    });
    expect(ports.clock.sleeps).toEqual(Array<number>(6).fill(1000));
    const after = ports.cluster.deployments.get('prod-milvus-proxy')!;
    expect(after).toMatchObject({ image: 'milvusdb/milvus:v2.4.23', versionLabel: '2.4.23', previousImage: 'milvusdb/milvus:v2.4.5' });
  });

  it('a coordinator patch carries minReadySeconds', async () => {
    const c = component('mixcoord', { version: '2.5.4' });
    const ports = fakePorts({ components: [c] });
    await run(ports, [updateStep(c, 'milvusdb/milvus:v2.5.10', '2.5.10', { minReadySeconds: 30 })]);
    expect(ports.cluster.patches[0]!.change).toMatchObject({ container: 'mixcoord', minReadySeconds: 30, rollingUpdate: true });
  });

  it('a resumed step that was patched but not rolled out only waits (no second patch)', async () => {
    const c = { ...component('querynode', { version: '2.4.23', replicas: 2 }), updatedReplicas: 1, availableReplicas: 1 };
    const ports = fakePorts({ components: [c] });
    const { error } = await run(ports, [updateStep(c, 'milvusdb/milvus:v2.4.23', '2.4.23')]);
    expect(error).toBeNull();
    expect(ports.cluster.patches).toEqual([]);
    expect(ports.clock.sleeps.length).toBeGreaterThan(0);
  });

  it('times out with code "timeout" on the fake clock (no real sleeping)', async () => {
    const c = component('querynode', { version: '2.4.5', replicas: 2 });
    const ports = fakePorts({ components: [c] });
    ports.cluster.stuck.add('prod-milvus-querynode');
    const later = updateStep(component('proxy', { version: '2.4.5' }), 'milvusdb/milvus:v2.4.23', '2.4.23');
    const started = ports.clock.now();
    const { events, error } = await run(ports, [updateStep(c, 'milvusdb/milvus:v2.4.23', '2.4.23', { timeoutSeconds: 10 }), later]);
    expect(error).toBeInstanceOf(StepFailed);
    const e = error as StepFailed;
    expect(e.code).toBe('timeout');
    expect(e.stepIndex).toBe(0);
    expect(e.message).toContain('querynode did not roll out within 10s');
    expect(e.message).toContain('0/2 pods on v2.4.23');
    expect(e.details.join('\n')).toContain('kubectl -n milvus get pods -l app.kubernetes.io/instance=prod,component=querynode');
    expect(ports.clock.now() - started).toBeGreaterThanOrEqual(10_000);
    expect(ports.clock.now() - started).toBeLessThanOrEqual(11_000);
    expect(ports.clock.sleeps).toHaveLength(10);
    const last = events[events.length - 1]!;
    expect(last).toMatchObject({ type: 'step-failed', index: 0, total: 2, code: 'timeout' });
    // The run stops at the failed step.
    expect(events.filter((x) => x.type === 'step-started')).toHaveLength(1);
  });

  it('a cancelled signal before the start: code "cancelled", nothing touched', async () => {
    const c = component('proxy', { version: '2.4.5' });
    const ports = fakePorts({ components: [c] });
    const ac = new AbortController();
    ac.abort();
    const { events, error } = await run(ports, [updateStep(c, 'milvusdb/milvus:v2.4.23', '2.4.23')], { signal: ac.signal });
    expect(error).toBeInstanceOf(Cancelled);
    expect((error as Cancelled).code).toBe('cancelled');
    expect(ports.cluster.patches).toEqual([]);
    expect(events).toEqual([]);
  });

  it('cancelled while waiting: code "cancelled", later steps not started', async () => {
    const c = component('proxy', { version: '2.4.5', replicas: 3 });
    const d = component('querynode', { version: '2.4.5' });
    const ports = fakePorts({ components: [c, d] });
    const ac = new AbortController();
    ports.clock.onSleep = () => {
      ports.cluster.advance();
      if (ports.clock.sleeps.length === 2) ac.abort();
    };
    const { events, error } = await run(
      ports,
      [updateStep(c, 'milvusdb/milvus:v2.4.23', '2.4.23'), updateStep(d, 'milvusdb/milvus:v2.4.23', '2.4.23')],
      { signal: ac.signal },
    );
    expect(error).toBeInstanceOf(Cancelled);
    expect((error as UpgradeError).code).toBe('cancelled');
    expect(events[events.length - 1]).toMatchObject({ type: 'step-failed', index: 0, code: 'cancelled' });
    expect(ports.cluster.patches.map((p) => p.deployment)).toEqual(['prod-milvus-proxy']);
  });

  it('a missing Deployment fails the step with code "step-failed"', async () => {
    const ports = fakePorts({ components: [] });
    const { error, events } = await run(ports, [updateStep(component('proxy'), 'milvusdb/milvus:v2.4.23', '2.4.23')]);
    expect(error).toBeInstanceOf(StepFailed);
    expect((error as StepFailed).code).toBe('step-failed');
    expect((error as StepFailed).message).toContain('prod-milvus-proxy not found');
    expect(events.map((e) => e.type)).toEqual(['step-started', 'step-failed']);
  });
});

describe('runSteps: events and resume', () => {
  it('emits started/progress/finished per step with index and total', async () => {
    const a = component('proxy', { version: '2.4.23' });
    const b = component('querynode', { version: '2.4.5' });
    const ports = fakePorts({ components: [a, b] });
    const { events } = await run(ports, [
      updateStep(a, 'milvusdb/milvus:v2.4.23', '2.4.23'),
      updateStep(b, 'milvusdb/milvus:v2.4.23', '2.4.23'),
    ]);
    const shape = events.map((e) => `${e.type}#${e.index}/${e.total}`);
    expect(shape[0]).toBe('step-started#0/2');
    expect(shape[1]).toBe('step-finished#0/2');
    expect(shape[2]).toBe('step-started#1/2');
    expect(shape[shape.length - 1]).toBe('step-finished#1/2');
    expect(shape.slice(3, -1).every((s) => s === 'step-progress#1/2')).toBe(true);
    expect(shape.length).toBeGreaterThan(4);
  });

  it('startAt skips the steps already done', async () => {
    const a = component('proxy', { version: '2.4.5' });
    const b = component('querynode', { version: '2.4.5' });
    const ports = fakePorts({ components: [a, b] });
    const { events } = await run(
      ports,
      [updateStep(a, 'milvusdb/milvus:v2.4.23', '2.4.23'), updateStep(b, 'milvusdb/milvus:v2.4.23', '2.4.23')],
      { startAt: 1 },
    );
    expect(ports.cluster.patches.map((p) => p.deployment)).toEqual(['prod-milvus-querynode']);
    expect(events[0]).toMatchObject({ type: 'step-started', index: 1, total: 2 });
  });
});

describe('runSteps: helm-upgrade and helm-rollback', () => {
  const upgrade: Step = {
    kind: 'helm-upgrade',
    chartRef: 'zilliztech/milvus',
    chartVersion: '4.2.25',
    set: { 'image.all.tag': 'v2.4.23' },
    fromRevision: 3,
    timeoutSeconds: 1800,
    description: 'helm upgrade',
  };
  const info = (revision: number, chartVersion: string, status = 'deployed') => ({
    name: 'prod',
    namespace: 'milvus',
    revision,
    status,
    chart: `milvus-${chartVersion}`,
    chartVersion,
    appVersion: '2.4.17',
  });

  it('skipped when the release is already on the target chart with a later revision', async () => {
    const helm = new FakeHelm(info(4, '4.2.25'));
    const ports = fakePorts({ helm });
    const { events, error } = await run(ports, [upgrade]);
    expect(error).toBeNull();
    expect(helm.upgrades).toEqual([]);
    expect(events[events.length - 1]).toMatchObject({ type: 'step-finished', skipped: true, detail: 'already on chart 4.2.25 (revision 4)' });
  });

  it('not skipped when that later revision failed', async () => {
    const helm = new FakeHelm(info(4, '4.2.25', 'failed'));
    const { error } = await run(fakePorts({ helm }), [upgrade]);
    expect(error).toBeNull();
    expect(helm.upgrades).toHaveLength(1);
  });

  it('upgrades with the chart, --set values and timeout of the step', async () => {
    const helm = new FakeHelm(info(3, '4.1.36'));
    const { events, error } = await run(fakePorts({ helm }), [upgrade]);
    expect(error).toBeNull();
    expect(helm.upgrades).toEqual([
      {
        namespace: 'milvus',
        release: 'prod',
        chartRef: 'zilliztech/milvus',
        chartVersion: '4.2.25',
        set: { 'image.all.tag': 'v2.4.23' },
        timeoutSeconds: 1800,
        wait: true,
        signal: undefined,
      },
    ]);
    expect(events[events.length - 1]).toMatchObject({ skipped: false, detail: 'revision 4 deployed with chart 4.2.25' });
  });

  it('a helm upgrade of its own left pending (worker killed inside helm): rolls back to the last deployed revision, then upgrades again', async () => {
    const helm = new FakeHelm(info(4, '4.2.25', 'pending-upgrade'), [
      { revision: 3, status: 'deployed', chart: 'milvus-4.1.36', appVersion: '2.4.17', description: 'Upgrade complete' },
      { revision: 4, status: 'pending-upgrade', chart: 'milvus-4.2.25', appVersion: '2.4.23', description: 'Preparing upgrade' },
    ]);
    helm.valuesByRevision.set(4, { image: { all: { tag: 'v2.4.23' } } });
    const { events, error } = await run(fakePorts({ helm }), [upgrade]);
    expect(error).toBeNull();
    expect(helm.rollbacks).toEqual([{ revision: 3 }]);
    expect(helm.upgrades).toHaveLength(1);
    const said = events.flatMap((e) => (e.type === 'step-progress' ? [e.message] : []));
    expect(said.some((m) => /interrupted.*revision 4.*pending-upgrade.*rolling back to revision 3/.test(m))).toBe(true);
  });

  it('a pending helm operation is given the hand-over time before it is read as interrupted, and is then read again', async () => {
    // A superseded run stops its helm within a few fence checks; only after that is "pending" what a dead helm left.
    const helm = new FakeHelm(info(4, '4.2.25', 'pending-upgrade'));
    const ports = fakePorts({ helm });
    const clock = ports.clock;
    let readsBeforeSleep = 0;
    const release = helm.release.bind(helm);
    helm.release = async () => {
      if (clock.sleeps.length === 0) readsBeforeSleep++;
      // The earlier run's helm finished its upgrade during the wait.
      const current = await release();
      return current && clock.sleeps.length > 0 ? { ...current, status: 'deployed' } : current;
    };
    const { events, error } = await run(ports, [upgrade]);
    expect(error).toBeNull();
    expect(clock.sleeps).toEqual([6000]);
    expect(readsBeforeSleep).toBe(1);
    expect(helm.rollbacks).toEqual([]);
    expect(helm.upgrades).toEqual([]);
    expect(events[events.length - 1]).toMatchObject({ skipped: true, detail: 'already on chart 4.2.25 (revision 4)' });
  });

  it.each([
    ['another chart', info(4, '4.1.40', 'pending-upgrade'), { image: { all: { tag: 'v2.4.23' } } }],
    ['other values', info(4, '4.2.25', 'pending-upgrade'), { image: { all: { tag: 'v2.4.99' } } }],
    ['a rollback', info(4, '4.2.25', 'pending-rollback'), { image: { all: { tag: 'v2.4.23' } } }],
    ['an older revision', info(3, '4.2.25', 'pending-upgrade'), { image: { all: { tag: 'v2.4.23' } } }],
  ])('a pending helm operation that is not its own (%s) is refused, touching nothing', async (_what, release, values) => {
    const helm = new FakeHelm(release, [{ revision: 2, status: 'deployed', chart: 'milvus-4.1.36', appVersion: '2.4.17', description: '' }]);
    helm.valuesByRevision.set(release.revision, values);
    const { error } = await run(fakePorts({ helm }), [upgrade]);
    expect(error).toBeInstanceOf(StepFailed);
    expect((error as StepFailed).code).toBe('step-failed');
    expect((error as StepFailed).explain()).toMatch(/not started by this upgrade.*nothing was done/s);
    expect((error as StepFailed).explain()).toMatch(/helm history prod -n milvus/);
    expect(helm.upgrades).toEqual([]);
    expect(helm.rollbacks).toEqual([]);
  });

  it('fails when the release is gone', async () => {
    const { error } = await run(fakePorts({ helm: new FakeHelm(null) }), [upgrade]);
    expect((error as StepFailed).message).toContain('is gone');
  });

  const rollbackStep: Step = { kind: 'helm-rollback', toRevision: 2, timeoutSeconds: 900, description: 'helm rollback' };

  it('helm-rollback rolls back to the revision', async () => {
    const helm = new FakeHelm(info(3, '4.2.25'), [
      { revision: 2, status: 'superseded', chart: 'milvus-4.1.36', appVersion: '2.4.5', description: 'Upgrade complete' },
      { revision: 3, status: 'deployed', chart: 'milvus-4.2.25', appVersion: '2.4.17', description: 'Upgrade complete' },
    ]);
    const { error } = await run(fakePorts({ helm }), [rollbackStep]);
    expect(error).toBeNull();
    expect(helm.rollbacks).toEqual([{ revision: 2 }]);
  });

  it('helm-rollback is skipped when the last revision is that rollback', async () => {
    const helm = new FakeHelm(info(4, '4.1.36'), [
      { revision: 2, status: 'superseded', chart: 'milvus-4.1.36', appVersion: '2.4.5', description: 'Upgrade complete' },
      { revision: 3, status: 'superseded', chart: 'milvus-4.2.25', appVersion: '2.4.17', description: 'Upgrade complete' },
      { revision: 4, status: 'deployed', chart: 'milvus-4.1.36', appVersion: '2.4.5', description: 'Rollback to 2' },
    ]);
    const { events } = await run(fakePorts({ helm }), [rollbackStep]);
    expect(helm.rollbacks).toEqual([]);
    expect(events[events.length - 1]).toMatchObject({ type: 'step-finished', skipped: true });
  });

  it('helm-rollback fails when the revision left the history', async () => {
    const helm = new FakeHelm(info(9, '4.2.25'), [
      { revision: 9, status: 'deployed', chart: 'milvus-4.2.25', appVersion: '2.4.17', description: 'Upgrade complete' },
    ]);
    const { error } = await run(fakePorts({ helm }), [rollbackStep]);
    expect((error as StepFailed).message).toContain('no longer in helm');
    expect(helm.rollbacks).toEqual([]);
  });
});

describe('runSteps: enable-active-standby', () => {
  const step: Step = { kind: 'enable-active-standby', configMap: 'prod-milvus', key: 'user.yaml', description: 'active-standby' };
  const defaultYaml = 'messageQueue: pulsar\nrootCoord:\n  port: 53100\n';

  it('writes block YAML, keeps the existing content, and is skipped the second time', async () => {
    const ports = fakePorts();
    const userYaml = '# settings of the team\nproxy:\n  maxTaskNum: 2048\nrootCoord:\n  dmlChannelNum: 16\n';
    ports.cluster.configMaps.set('prod-milvus', { data: { 'default.yaml': defaultYaml, 'user.yaml': userYaml }, annotations: {} });
    const first = await run(ports, [step]);
    expect(first.error).toBeNull();
    expect(first.events[first.events.length - 1]).toMatchObject({ skipped: false });
    expect(ports.cluster.replacedConfigMaps).toHaveLength(1);
    const data = ports.cluster.configMaps.get('prod-milvus')!.data;
    expect(data['default.yaml']).toBe(defaultYaml);
    const text = data['user.yaml']!;
    expect(parseYaml(text)).toEqual({
      proxy: { maxTaskNum: 2048 },
      rootCoord: { dmlChannelNum: 16, enableActiveStandby: true },
      queryCoord: { enableActiveStandby: true },
      dataCoord: { enableActiveStandby: true },
      indexCoord: { enableActiveStandby: true },
    });
    expect(text).toContain('# settings of the team');
    expect(text).toContain('queryCoord:\n  enableActiveStandby: true\n');
    expect(text).not.toMatch(/[{}]/);

    const second = await run(ports, [step]);
    expect(second.error).toBeNull();
    expect(second.events[second.events.length - 1]).toMatchObject({ type: 'step-finished', skipped: true });
    expect(ports.cluster.replacedConfigMaps).toHaveLength(1);
  });

  it.each([
    ['an empty user.yaml', { 'user.yaml': '' }],
    ['a comment-only user.yaml', { 'user.yaml': '# nothing yet\n' }],
    ['no user.yaml key', {}],
  ])('%s gets the four sections in block style', async (_what, extra: Record<string, string>) => {
    const ports = fakePorts();
    ports.cluster.configMaps.set('prod-milvus', { data: { 'default.yaml': defaultYaml, ...extra }, annotations: {} });
    const { error } = await run(ports, [step]);
    expect(error).toBeNull();
    const text = ports.cluster.configMaps.get('prod-milvus')!.data['user.yaml']!;
    expect(parseYaml(text)).toEqual({
      rootCoord: { enableActiveStandby: true },
      queryCoord: { enableActiveStandby: true },
      dataCoord: { enableActiveStandby: true },
      indexCoord: { enableActiveStandby: true },
    });
    expect(text).not.toMatch(/[{}]/);
    expect(ports.cluster.configMaps.get('prod-milvus')!.data['default.yaml']).toBe(defaultYaml);
  });

  it('only adds what is missing', async () => {
    const ports = fakePorts();
    ports.cluster.configMaps.set('prod-milvus', {
      data: { 'user.yaml': 'rootCoord:\n  enableActiveStandby: true\nqueryCoord:\n  enableActiveStandby: true\n' },
      annotations: {},
    });
    const { events } = await run(ports, [step]);
    expect(events[events.length - 1]).toMatchObject({ detail: 'enableActiveStandby: true for dataCoord, indexCoord' });
  });

  it('fails on a missing ConfigMap and on invalid YAML, writing nothing', async () => {
    const missing = fakePorts();
    expect(((await run(missing, [step])).error as StepFailed).message).toContain('ConfigMap prod-milvus not found');
    const invalid = fakePorts();
    invalid.cluster.configMaps.set('prod-milvus', { data: { 'user.yaml': 'a: [unclosed\n' }, annotations: {} });
    const { error } = await run(invalid, [step]);
    expect(error).toBeInstanceOf(StepFailed);
    expect((error as StepFailed).message).toContain('not valid YAML');
    expect(invalid.cluster.replacedConfigMaps).toEqual([]);
  });
});

describe('runSteps: meta migration', () => {
  const names = migrationNames('prod');
  const podStep = (action: 'backup' | 'migrate' | 'rollback', pod: string, configFile: string): Step => ({
    kind: 'run-meta-migration',
    action,
    pod,
    image: 'milvusdb/meta-migration:v2.2.0',
    configMap: names.configMap,
    pvc: names.pvc,
    configFile,
    timeoutSeconds: 600,
    description: action,
  });

  it('migrate refuses without the backup mark, creating no pod', async () => {
    const ports = fakePorts();
    ports.cluster.configMaps.set(names.configMap, { data: { 'migration.yaml': 'x' }, annotations: {} });
    const { error } = await run(ports, [podStep('migrate', names.migratePod, 'migration.yaml')]);
    expect(error).toBeInstanceOf(StepFailed);
    expect((error as StepFailed).code).toBe('step-failed');
    expect((error as StepFailed).message).toBe('no successful metadata backup: refusing to migrate without one');
    expect(ports.cluster.createdPods).toEqual([]);
  });

  it('backup runs the pod and leaves the mark; a second backup is skipped', async () => {
    const ports = fakePorts();
    ports.cluster.configMaps.set(names.configMap, { data: {}, annotations: {} });
    const step = podStep('backup', names.backupPod, 'backup.yaml');
    expect((await run(ports, [step])).error).toBeNull();
    expect(ports.cluster.createdPods).toEqual([
      {
        name: 'milvus-meta-migration-backup-prod',
        image: 'milvusdb/meta-migration:v2.2.0',
        configMap: names.configMap,
        configFile: 'backup.yaml',
        pvc: names.pvc,
        labels: expect.objectContaining({ 'app.kubernetes.io/instance': 'prod', 'milvus-upgrade-bot.io/action': 'backup' }),
      },
    ]);
    expect(ports.cluster.configMaps.get(names.configMap)!.annotations[BACKUP_MARK.key]).toBe(BACKUP_MARK.value);
    const again = await run(ports, [step]);
    expect(again.events[again.events.length - 1]).toMatchObject({ skipped: true });
    expect(ports.cluster.createdPods).toHaveLength(1);
  });

  it('migrate with the mark runs the pod; an earlier failed migrate pod is refused', async () => {
    const ports = fakePorts();
    ports.cluster.configMaps.set(names.configMap, { data: {}, annotations: { backup: 'succeed' } });
    expect((await run(ports, [podStep('migrate', names.migratePod, 'migration.yaml')])).error).toBeNull();
    expect(ports.cluster.createdPods.map((p) => p.name)).toEqual(['milvus-meta-migration-prod']);

    const failed = fakePorts();
    failed.cluster.configMaps.set(names.configMap, { data: {}, annotations: { backup: 'succeed' } });
    failed.cluster.pods.set(names.migratePod, 'Failed');
    const { error } = await run(failed, [podStep('migrate', names.migratePod, 'migration.yaml')]);
    expect((error as StepFailed).message).toContain('failed');
    expect((error as StepFailed).details.join(' ')).toContain('roll back first');
    expect(failed.cluster.createdPods).toEqual([]);
  });

  it('rollback without a backup and without a migration is skipped; with a migration it fails', async () => {
    const never = fakePorts();
    never.cluster.configMaps.set(names.configMap, { data: {}, annotations: {} });
    const a = await run(never, [podStep('rollback', names.rollbackPod, 'rollback.yaml')]);
    expect(a.error).toBeNull();
    expect(a.events[a.events.length - 1]).toMatchObject({ skipped: true });

    const migrated = fakePorts();
    migrated.cluster.configMaps.set(names.configMap, { data: {}, annotations: {} });
    migrated.cluster.pods.set(names.migratePod, 'Succeeded');
    const b = await run(migrated, [podStep('rollback', names.rollbackPod, 'rollback.yaml')]);
    expect((b.error as StepFailed).message).toContain('no successful metadata backup');
  });

  it('wait-sessions-expired watches the keys until none is left', async () => {
    const ports = fakePorts({ sessions: new FakeSessions([3, 2, 1, 0]) });
    const step: Step = {
      kind: 'wait-sessions-expired',
      etcdEndpoint: 'prod-etcd.milvus:2379',
      rootPath: 'by-dev',
      fallbackSeconds: 75,
      timeoutSeconds: 300,
      description: 'sessions',
    };
    const { error, events } = await run(ports, [step]);
    expect(error).toBeNull();
    expect(events[events.length - 1]).toMatchObject({ detail: 'every Milvus session expired' });
    expect(ports.clock.sleeps).toEqual([1000, 1000]);
  });

  it('wait-sessions-expired falls back to a fixed wait when etcd cannot be reached', async () => {
    const ports = fakePorts({ sessions: new FakeSessions([null]) });
    const step: Step = {
      kind: 'wait-sessions-expired',
      etcdEndpoint: 'prod-etcd.milvus:2379',
      rootPath: 'by-dev',
      fallbackSeconds: 75,
      timeoutSeconds: 300,
      description: 'sessions',
    };
    const { error } = await run(ports, [step]);
    expect(error).toBeNull();
    expect(ports.clock.sleeps).toEqual([75_000]);
  });
});

describe('runSteps: whole plans on the fakes', () => {
  it('a rolling upgrade, then its rollback', async () => {
    const state = releaseState({ release: 'milvus-prod', version: '2.4.5', components: ['proxy', 'querynode', 'mixcoord', 'datanode'] });
    const plan = planUpgrade({
      request: { cluster: 'test', namespace: 'milvus', release: 'milvus-prod', target: parseVersion('2.4.23'), strategy: 'rolling' },
      state,
      tooling: tooling(),
      charts: milvusIndex(),
      settings: planSettings(),
    });
    const ports = fakePorts({ components: state.components });
    ports.cluster.configMaps.set('milvus-prod', { data: { 'user.yaml': '' }, annotations: {} });
    const up = await runSteps(plan, plan.steps, { ports, pollIntervalMs: 1000 }).then(() => null, (e: unknown) => e);
    expect(up).toBeNull();
    expect(ports.cluster.patches.map((p) => p.deployment)).toEqual([
      'milvus-prod-mixcoord',
      'milvus-prod-datanode',
      'milvus-prod-querynode',
      'milvus-prod-proxy',
    ]);
    for (const d of ports.cluster.deployments.values()) {
      expect(d).toMatchObject({ image: 'milvusdb/milvus:v2.4.23', versionLabel: '2.4.23', previousImage: 'milvusdb/milvus:v2.4.5' });
    }
    const down = await runSteps(plan, plan.rollback!.steps, { ports, pollIntervalMs: 1000 }).then(() => null, (e: unknown) => e);
    expect(down).toBeNull();
    expect(ports.cluster.patches.slice(4).map((p) => p.deployment)).toEqual([
      'milvus-prod-proxy',
      'milvus-prod-querynode',
      'milvus-prod-datanode',
      'milvus-prod-mixcoord',
    ]);
    for (const d of ports.cluster.deployments.values()) {
      expect(d).toMatchObject({ image: 'milvusdb/milvus:v2.4.5', versionLabel: '2.4.5', previousImage: null, previousVersionLabel: null });
    }
  });

  it('a metadata migration 2.1.4 -> 2.2.0', async () => {
    const state = releaseState({
      version: '2.1.4',
      chartVersion: '3.2.18',
      components: [component('proxy', { version: '2.1.4', replicas: 2 }), component('querynode', { version: '2.1.4', replicas: 3 })],
    });
    const plan = planUpgrade({
      request: { cluster: 'test', namespace: 'milvus', release: 'prod', target: parseVersion('2.2.0') },
      state,
      tooling: tooling(),
      charts: milvusIndex(),
      settings: planSettings(),
    });
    const ports = fakePorts({ components: state.components, sessions: new FakeSessions([0]) });
    const events: RunEvent[] = [];
    const err = await runSteps(plan, plan.steps, { ports, pollIntervalMs: 1000, onEvent: (e) => {
      events.push(e);
    } }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeNull();
    const names = migrationNames('prod');
    expect(ports.cluster.configMaps.get(names.replicasConfigMap)!.data).toEqual({ 'prod-milvus-proxy': '2', 'prod-milvus-querynode': '3' });
    expect(ports.cluster.configMaps.get(names.configMap)!.annotations).toMatchObject({ backup: 'succeed' });
    expect(ports.cluster.createdPods.map((p) => [p.name, p.configFile])).toEqual([
      ['milvus-meta-migration-backup-prod', 'backup.yaml'],
      ['milvus-meta-migration-prod', 'migration.yaml'],
    ]);
    expect(ports.cluster.deployments.get('prod-milvus-proxy')).toMatchObject({ image: 'milvusdb/milvus:v2.2.0', replicas: 2, previousImage: 'milvusdb/milvus:v2.1.4' });
    expect(ports.cluster.deployments.get('prod-milvus-querynode')).toMatchObject({ image: 'milvusdb/milvus:v2.2.0', replicas: 3 });
    expect(events.filter((e) => e.type === 'step-finished')).toHaveLength(plan.steps.length);
  });
});
