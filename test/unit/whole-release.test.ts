/**
 * Issue 9: plans that see the whole release. The diff of rendered objects, the data guard, the
 * flags that keep the message queue, and the chart choice that knows the chart README.
 */
import { describe, expect, it } from 'vitest';
import { chooseChart, PULSAR_V2_UNSAFE_CHARTS } from '../../src/upgrade/milvus/charts.js';
import { dataRisks, DataRiskError } from '../../src/upgrade/planner/data-guard.js';
import { InputError } from '../../src/upgrade/errors.js';
import { queueInUse, queueKeepingFlags, queueOfObjects } from '../../src/upgrade/milvus/message-queue.js';
import { diffObjects, invertChanges, type KubeObject } from '../../src/upgrade/objects.js';
import { withHelmChanges } from '../../src/upgrade/planner/plan-changes.js';
import { planUpgrade } from '../../src/upgrade/planner/upgrade.js';
import type { Plan } from '../../src/upgrade/plan.js';
import { planRollback, rollbackPlanFor } from '../../src/upgrade/planner/rollback.js';
import { parseVersion } from '../../src/upgrade/milvus/version.js';
import { milvusIndex, planSettings, releaseState, revision, thrown, tooling } from './helpers.js';

const index = milvusIndex();

function workload(kind: string, name: string, image: string, extra: Record<string, unknown> = {}, labels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, labels: { 'helm.sh/chart': 'milvus-4.1.24', ...labels } },
    spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: name.split('-').pop(), image }] } }, ...extra },
  };
}

const claim = (name: string, size = '8Gi') => ({ metadata: { name }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } } });

function pulsarV2(release: string, tag = '2.8.2'): KubeObject[] {
  return ['bookie', 'broker', 'proxy', 'recovery', 'zookeeper'].map((c) =>
    workload('StatefulSet', `${release}-pulsar-${c}`, `apachepulsar/pulsar:${tag}`, {
      serviceName: `${release}-pulsar-${c}`,
      ...(c === 'bookie' ? { volumeClaimTemplates: [claim('journal'), claim('ledgers')] } : c === 'zookeeper' ? { volumeClaimTemplates: [claim('data')] } : {}),
    }),
  );
}

const milvusDeployments = (release: string, tag: string) =>
  ['proxy', 'querynode', 'datanode'].map((c) => workload('Deployment', `${release}-milvus-${c}`, `milvusdb/milvus:${tag}`));

const etcd = (release: string) => workload('StatefulSet', `${release}-etcd`, 'milvusdb/etcd:3.5.5-r4', { serviceName: `${release}-etcd-headless`, volumeClaimTemplates: [claim('data', '10Gi')] });

const pvc = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name }, spec: {} });

describe('diffObjects', () => {
  it('lists images before -> after, and ignores labels every chart version rewrites', () => {
    const before = [...milvusDeployments('r', 'v2.3.11'), etcd('r')];
    const after = [...milvusDeployments('r', 'v2.4.23'), { ...etcd('r'), metadata: { name: 'r-etcd', labels: { 'helm.sh/chart': 'milvus-4.2.20' } } }];
    const changes = diffObjects(before, after);
    expect(changes.map((c) => `${c.change} ${c.kind}/${c.name}`)).toEqual([
      'changed Deployment/r-milvus-datanode',
      'changed Deployment/r-milvus-proxy',
      'changed Deployment/r-milvus-querynode',
    ]);
    expect(changes[1]!.detail).toBe('proxy: milvusdb/milvus:v2.3.11 -> milvusdb/milvus:v2.4.23');
    expect(changes[1]!.images).toEqual([{ container: 'proxy', before: 'milvusdb/milvus:v2.3.11', after: 'milvusdb/milvus:v2.4.23' }]);
  });

  it('takes the image before from the live object when the cluster runs something else than helm recorded', () => {
    const recorded = milvusDeployments('r', 'v2.3.11');
    const live = milvusDeployments('r', 'v2.4.5');
    const changes = diffObjects(recorded, milvusDeployments('r', 'v2.4.23'), live);
    expect(changes[0]!.detail).toContain('milvusdb/milvus:v2.4.5 -> milvusdb/milvus:v2.4.23');
  });

  it('names removed and added objects, with the PVCs a removed StatefulSet leaves', () => {
    const before = [...milvusDeployments('r', 'v2.3.11'), ...pulsarV2('r')];
    const after = [...milvusDeployments('r', 'v2.3.11'), workload('StatefulSet', 'r-pulsarv3-broker', 'apachepulsar/pulsar:3.0.7')];
    const changes = diffObjects(before, after);
    expect(changes.filter((c) => c.change === 'removed').map((c) => c.name)).toEqual(pulsarV2('r').map((o) => o.metadata.name));
    expect(changes.find((c) => c.name === 'r-pulsar-bookie')!.detail).toContain('PVCs (journal, ledgers) stay behind');
    expect(changes.filter((c) => c.change === 'added').map((c) => c.name)).toEqual(['r-pulsarv3-broker']);
  });

  it('reports other changed fields of an object', () => {
    const b = workload('StatefulSet', 'r-etcd', 'milvusdb/etcd:3.5.5', { serviceName: 's' });
    const a = workload('StatefulSet', 'r-etcd', 'milvusdb/etcd:3.5.5', { serviceName: 's', replicas: 3 });
    expect(diffObjects([b], [a])[0]!.detail).toBe('spec.replicas changed');
  });
});

describe('invertChanges: what a rollback undoes', () => {
  const mixcoord = (tag: string) => workload('Deployment', 'r-milvus-mixcoord', `milvusdb/milvus:${tag}`);
  const coords = (tag: string) => ['rootcoord', 'datacoord'].map((c) => workload('Deployment', `r-milvus-${c}`, `milvusdb/milvus:${tag}`));

  it('brings back what the upgrade deleted, deletes what it added, and turns images back', () => {
    const before = [...milvusDeployments('r', 'v2.3.11'), ...coords('v2.3.11')];
    const after = [...milvusDeployments('r', 'v2.4.23'), mixcoord('v2.4.23')];
    const undo = invertChanges(diffObjects(before, after));
    expect(undo.map((c) => `${c.change} ${c.name}: ${c.detail}`)).toEqual([
      'removed r-milvus-mixcoord: deleted (ran milvusdb/milvus:v2.4.23)',
      'changed r-milvus-datanode: datanode: milvusdb/milvus:v2.4.23 -> milvusdb/milvus:v2.3.11',
      'changed r-milvus-proxy: proxy: milvusdb/milvus:v2.4.23 -> milvusdb/milvus:v2.3.11',
      'changed r-milvus-querynode: querynode: milvusdb/milvus:v2.4.23 -> milvusdb/milvus:v2.3.11',
      'added r-milvus-datacoord: back, runs milvusdb/milvus:v2.3.11',
      'added r-milvus-rootcoord: back, runs milvusdb/milvus:v2.3.11',
    ]);
    // Undoing twice is the upgrade's own list again, as far as images and kinds go.
    expect(invertChanges(undo).map((c) => `${c.change} ${c.name} ${JSON.stringify(c.images)}`)).toEqual(
      diffObjects(before, after).map((c) => `${c.change} ${c.name} ${JSON.stringify(c.images)}`),
    );
  });

  it('says other fields go back, and a non-workload change keeps its words', () => {
    const b = workload('StatefulSet', 'r-etcd', 'milvusdb/etcd:3.5.5', { serviceName: 's' });
    const a = workload('StatefulSet', 'r-etcd', 'milvusdb/etcd:3.5.18', { serviceName: 's', replicas: 3 });
    expect(invertChanges(diffObjects([b], [a]))[0]!.detail).toBe('etcd: milvusdb/etcd:3.5.18 -> milvusdb/etcd:3.5.5; spec.replicas changed back');
    expect(invertChanges([{ kind: 'ConfigMap', name: 'r-milvus', change: 'added', detail: 'new' }])).toEqual([{ kind: 'ConfigMap', name: 'r-milvus', change: 'removed', detail: 'deleted' }]);
  });
});

describe('dataRisks', () => {
  const live = (release: string) => [...pulsarV2(release), pvc(`journal-${release}-pulsar-bookie-0`), pvc(`ledgers-${release}-pulsar-bookie-0`), pvc(`data-${release}-pulsar-zookeeper-0`)];

  it('a render without Pulsar: five StatefulSets deleted, their PVCs orphaned, the queue removed', () => {
    const before = [...milvusDeployments('r', 'v2.3.11'), ...pulsarV2('r')];
    const after = milvusDeployments('r', 'v2.4.23');
    const risks = dataRisks({ before, after, live: live('r'), changes: diffObjects(before, after, live('r')), queue: 'pulsar-v2' });
    expect(risks.map((r) => r.subject)).toEqual([...pulsarV2('r').map((o) => `StatefulSet/${o.metadata.name}`), 'message queue']);
    expect(risks[0]!.reason).toContain('journal-r-pulsar-bookie-0, ledgers-r-pulsar-bookie-0');
    expect(risks[5]!.reason).toContain('removes Pulsar v2');
  });

  it('a switch from Pulsar v2 to an empty Pulsar v3 is a queue switch', () => {
    const before = pulsarV2('r');
    const after = [...pulsarV2('r'), workload('StatefulSet', 'r-pulsarv3-bookie', 'apachepulsar/pulsar:3.0.7')];
    const risks = dataRisks({ before, after, live: before, changes: diffObjects(before, after), queue: 'pulsar-v2' });
    expect(risks).toHaveLength(1);
    expect(risks[0]!.reason).toContain('starts an empty Pulsar v3');
  });

  it('a changed volumeClaimTemplate or serviceName is refused; images and replicas are not', () => {
    const b = etcd('r');
    const bigger = workload('StatefulSet', 'r-etcd', 'milvusdb/etcd:3.5.5-r4', { serviceName: 'r-etcd-headless', volumeClaimTemplates: [claim('data', '20Gi')] });
    const renamed = workload('StatefulSet', 'r-etcd', 'milvusdb/etcd:3.5.5-r4', { serviceName: 'other', volumeClaimTemplates: [claim('data', '10Gi')] });
    const newImage = workload('StatefulSet', 'r-etcd', 'milvusdb/etcd:3.5.18', { replicas: 3, serviceName: 'r-etcd-headless', volumeClaimTemplates: [claim('data', '10Gi')] });
    const risk = (a: KubeObject) => dataRisks({ before: [b], after: [a], live: [b], changes: diffObjects([b], [a]), queue: null });
    expect(risk(bigger).map((r) => r.reason)).toEqual([expect.stringContaining('volumeClaimTemplates')]);
    expect(risk(renamed)[0]!.reason).toContain('serviceName');
    expect(risk(newImage)).toEqual([]);
  });

  it('a deleted PVC of the manifest is refused', () => {
    const before = [pvc('r-minio')];
    expect(dataRisks({ before, after: [], live: before, changes: diffObjects(before, []), queue: null })[0]!.subject).toBe('PersistentVolumeClaim/r-minio');
  });

  it('the same release upgraded with its queue kept has no risk', () => {
    const before = [...milvusDeployments('r', 'v2.3.11'), ...pulsarV2('r'), etcd('r')];
    const after = [...milvusDeployments('r', 'v2.4.23'), ...pulsarV2('r'), etcd('r')];
    expect(dataRisks({ before, after, live: [...before, ...live('r')], changes: diffObjects(before, after), queue: 'pulsar-v2' })).toEqual([]);
  });
});

describe('the message queue', () => {
  it('is read off the workloads: Pulsar by image major, kafka, none', () => {
    expect(queueOfObjects(pulsarV2('r'))).toBe('pulsar-v2');
    expect(queueOfObjects(pulsarV2('r', '3.0.7'))).toBe('pulsar-v3');
    expect(queueOfObjects([workload('StatefulSet', 'r-kafka', 'docker.io/bitnami/kafka:3.1.0-debian-10-r52')])).toBe('kafka');
    expect(queueOfObjects(milvusDeployments('r', 'v2.4.5'))).toBeNull();
  });

  it('falls back on the values (external) and Milvus config (rocksmq)', () => {
    expect(queueInUse({ live: [], configQueue: 'pulsar', computedValues: { externalPulsar: { enabled: true } } })).toBe('external-pulsar');
    expect(queueInUse({ live: [], configQueue: 'rocksmq', computedValues: {} })).toBe('rocksmq');
    expect(queueInUse({ live: [], configQueue: 'pulsar', computedValues: {} })).toBeNull();
  });

  const v3Defaults = { pulsar: { enabled: false }, pulsarv3: { enabled: true }, kafka: { enabled: false } };
  const v2Defaults = { pulsar: { enabled: true }, kafka: { enabled: false } };

  it('a default Pulsar v2 release carries pulsar.enabled=true,pulsarv3.enabled=false into a v3-default chart', () => {
    expect(queueKeepingFlags('pulsar-v2', {}, v3Defaults)).toEqual({ 'pulsar.enabled': 'true', 'pulsarv3.enabled': 'false' });
  });

  it('carries nothing when the target chart already keeps it, or the person set it', () => {
    expect(queueKeepingFlags('pulsar-v2', {}, v2Defaults)).toEqual({});
    expect(queueKeepingFlags('pulsar-v2', { pulsar: { enabled: true }, pulsarv3: { enabled: false } }, v3Defaults)).toEqual({});
  });

  it('a kafka release switches the default Pulsar v3 off; rocksmq switches everything off', () => {
    expect(queueKeepingFlags('kafka', { pulsar: { enabled: false }, kafka: { enabled: true } }, v3Defaults)).toEqual({ 'pulsarv3.enabled': 'false' });
    expect(queueKeepingFlags('rocksmq', {}, v3Defaults)).toEqual({ 'pulsarv3.enabled': 'false' });
    expect(queueKeepingFlags(null, {}, v3Defaults)).toEqual({});
  });
});

describe('chart choice that knows the README', () => {
  it.each([
    ['2.4.23', '4.2.20', 'v2.4.23'],
    ['2.4.18', '4.2.20', 'v2.4.18'],
    ['2.4.17', '4.2.20', 'v2.4.17'],
    ['2.4.16', '4.2.20', null],
    ['2.5.0-beta', '4.2.32', null],
  ])('a Pulsar v2 release going to %s gets chart %s', (target, chart, tag) => {
    const choice = chooseChart(index, parseVersion(target), { exclude: PULSAR_V2_UNSAFE_CHARTS });
    expect([choice.chartVersion, choice.imageTagOverride]).toEqual([chart, tag]);
    if (target.startsWith('2.4')) expect(choice.explanation).toContain('4.2.21-4.2.29 are passed over');
  });

  it('without Pulsar v2 the newest chart of the line serves, as before', () => {
    expect(chooseChart(index, parseVersion('2.4.23')).chartVersion).toBe('4.2.25');
  });

  it('an asked chart is used as asked, and must be of the target line', () => {
    expect(chooseChart(index, parseVersion('2.4.23'), { exclude: PULSAR_V2_UNSAFE_CHARTS, chartVersion: '4.2.25' }).chartVersion).toBe('4.2.25');
    expect(thrown(() => chooseChart(index, parseVersion('2.4.23'), { chartVersion: '4.1.24' }))).toBeInstanceOf(InputError);
    expect(thrown(() => chooseChart(index, parseVersion('2.4.23'), { chartVersion: '9.9.9' }))).toBeInstanceOf(InputError);
  });
});

function helmPlan(o: { queue?: 'pulsar-v2' | null; chart?: string; target?: string; defaults?: Record<string, unknown> } = {}): Plan {
  const state = releaseState({ release: 'my-release', version: '2.3.11', chartVersion: '4.1.24' });
  return planUpgrade({
    request: { cluster: 'test', namespace: state.namespace, release: state.release, target: parseVersion(o.target ?? '2.4.23'), chartVersion: o.chart ?? null },
    state,
    tooling: tooling(),
    charts: index,
    settings: planSettings(),
    queue: o.queue === undefined ? 'pulsar-v2' : o.queue,
    userValues: {},
    targetDefaults: o.defaults ?? { pulsar: { enabled: true } },
  });
}

describe('planUpgrade with the queue', () => {
  it('the headline upgrade of a Pulsar v2 release: chart 4.2.20, image.all.tag, the queue kept', () => {
    const p = helmPlan();
    expect(p.chart?.version).toBe('4.2.20');
    const step = p.steps.find((s) => s.kind === 'helm-upgrade');
    expect(step && step.kind === 'helm-upgrade' ? step.set : null).toEqual({ 'image.all.tag': 'v2.4.23' });
    expect(p.messageQueue?.note).toBe('message queue: Pulsar v2, kept');
  });

  it('into a v3-default chart it carries the flags and says so', () => {
    const p = helmPlan({ target: '2.5.0-beta', defaults: { pulsar: { enabled: false }, pulsarv3: { enabled: true } } });
    const step = p.steps.find((s) => s.kind === 'helm-upgrade');
    expect(step && step.kind === 'helm-upgrade' ? step.set : null).toEqual({ 'image.all.tag': 'v2.5.0-beta', 'pulsar.enabled': 'true', 'pulsarv3.enabled': 'false' });
    expect(p.messageQueue?.note).toContain('carried: pulsar.enabled=true, pulsarv3.enabled=false');
  });

  it('a render that drops Pulsar is refused with the fix; allowed, it is recorded', () => {
    const p = helmPlan({ chart: '4.2.25' });
    const before = [...milvusDeployments('my-release', 'v2.3.11'), ...pulsarV2('my-release')];
    const after = milvusDeployments('my-release', 'v2.4.23');
    const err = thrown(() => withHelmChanges(p, { before, after, live: before }, { charts: index, allowDataChanges: null })) as DataRiskError;
    expect(err).toBeInstanceOf(DataRiskError);
    expect(err.risks).toHaveLength(6);
    expect(err.explain()).toContain('fix: use chart 4.2.20 with image.all.tag=v2.4.23');
    const allowed = withHelmChanges(p, { before, after, live: before }, { charts: index, allowDataChanges: { by: 'U0APP' } });
    expect(allowed.dataChanges?.allowedBy).toBe('U0APP');
    expect(allowed.changes?.filter((c) => c.change === 'removed')).toHaveLength(5);
  });

  it('a render that keeps everything carries its changes', () => {
    const p = helmPlan();
    const before = [...milvusDeployments('my-release', 'v2.3.11'), ...pulsarV2('my-release')];
    const after = [...milvusDeployments('my-release', 'v2.4.23'), ...pulsarV2('my-release')];
    const planned = withHelmChanges(p, { before, after, live: before }, { charts: index, allowDataChanges: null });
    expect(planned.changes?.map((c) => c.change)).toEqual(['changed', 'changed', 'changed']);
    expect(planned.dataChanges ?? null).toBeNull();
  });

  it('the ordered path waits for the StatefulSets helm changes before the first Milvus component resumes', () => {
    const before = [...milvusDeployments('my-release', 'v2.3.11'), ...pulsarV2('my-release')];
    const after = [...milvusDeployments('my-release', 'v2.4.23'), ...pulsarV2('my-release', '2.9.5')];
    const planned = withHelmChanges(helmPlan(), { before, after, live: before }, { charts: index, allowDataChanges: null, rolloutTimeoutSeconds: 321 });
    const kinds = planned.steps.map((s) => s.kind);
    const helmAt = kinds.indexOf('helm-upgrade');
    expect(kinds[helmAt + 1]).toBe('wait-statefulsets');
    expect(kinds.indexOf('resume-deployments')).toBeGreaterThan(helmAt + 1);
    expect(planned.steps[helmAt + 1]).toMatchObject({ statefulSets: ['my-release-pulsar-bookie', 'my-release-pulsar-broker', 'my-release-pulsar-proxy', 'my-release-pulsar-recovery', 'my-release-pulsar-zookeeper'], timeoutSeconds: 321 });
    // Nothing of theirs changes: nothing to wait for.
    const same = withHelmChanges(helmPlan(), { before, after: [...milvusDeployments('my-release', 'v2.4.23'), ...pulsarV2('my-release')], live: before }, { charts: index, allowDataChanges: null });
    expect(same.steps.map((s) => s.kind)).not.toContain('wait-statefulsets');
  });

  it("its rollback card lists the upgrade's changes undone, and none after a partial run", () => {
    const before = [...milvusDeployments('my-release', 'v2.3.11'), ...pulsarV2('my-release')];
    const after = [...milvusDeployments('my-release', 'v2.4.23'), ...pulsarV2('my-release')];
    const planned = withHelmChanges(helmPlan(), { before, after, live: before }, { charts: index, allowDataChanges: null });
    const back = rollbackPlanFor(planned)!;
    expect(back.changes?.map((c) => c.detail)).toEqual(planned.changes!.map((c) => c.detail.replace(/(\S+) -> (\S+)/, '$2 -> $1')));
    expect(back.changes?.[0]?.detail).toMatch(/v2\.4\.23 -> milvusdb\/milvus:v2\.3\.11$/);
    expect(rollbackPlanFor(planned, 1)!.changes, 'a partial run: not known, so not claimed').toBeUndefined();
  });
});

describe('the 2.6 line', () => {
  const release = (version: string, components: string[]) => releaseState({ version, chartVersion: '4.2.58', components });
  const plan = (state: ReturnType<typeof releaseState>, target: string, strategy?: 'rolling') =>
    planUpgrade({ request: { cluster: 'test', namespace: state.namespace, release: state.release, target: parseVersion(target), strategy }, state, tooling: tooling(), charts: index, settings: planSettings() });

  it('needs mixcoord before 2.6', () => {
    const err = thrown(() => plan(release('2.5.16', ['proxy', 'rootcoord', 'datacoord', 'querycoord', 'indexcoord', 'querynode']), '2.6.15')) as InputError;
    expect(err).toBeInstanceOf(InputError);
    expect(err.explain()).toContain('mixCoordinator.enabled=true');
  });

  it('refuses rolling across 2.5 -> 2.6', () => {
    const err = thrown(() => plan(release('2.5.16', ['proxy', 'mixcoord', 'querynode']), '2.6.15', 'rolling')) as InputError;
    expect(err.explain()).toContain('streamingnode');
  });

  it('refuses any upgrade from 2.6.0-rc1', () => {
    expect((thrown(() => plan(release('2.6.0-rc1', ['proxy', 'mixcoord']), '2.6.15')) as InputError).message).toContain('2.6.0-rc1 cannot be upgraded');
  });

  it('a 2.5.16 -> 2.6 plan offers no rollback, and none is made from helm history', () => {
    const p = plan(release('2.5.16', ['proxy', 'mixcoord', 'querynode']), '2.6.15');
    expect(p.rollback).toBeNull();
    expect(rollbackPlanFor(p)).toBeNull();
    const now = releaseState({ version: '2.6.15', chartVersion: '5.0.19', components: ['proxy', 'mixcoord', 'streamingnode'] });
    const history = [revision(1, 'superseded', '4.2.58', '2.5.16'), revision(2, 'deployed', '5.0.19', '2.6.15')];
    const err = thrown(() => planRollback({ cluster: 'test', state: now, history, tooling: tooling() })) as InputError;
    expect(err.message).toContain('cannot be rolled back from 2.6.15 to 2.5.16');
  });

  it('a stored upgrade plan across 2.6 cannot be turned into a rollback even if it carries one', () => {
    const p = plan(release('2.5.16', ['proxy', 'mixcoord', 'querynode']), '2.6.15');
    const forged: Plan = { ...p, rollback: { path: 'helm', summary: 'x', steps: [] } };
    expect(thrown(() => rollbackPlanFor(forged))).toBeInstanceOf(InputError);
  });
});
