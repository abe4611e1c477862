/**
 * Item 5 of issue 9: work is keyed by Deployment. Resource groups (charts 5.0.16+) render
 * `<fullname>-querynode-<group>` with the same `component: querynode` label; each is upgraded,
 * migrated and rolled back, and a rolling plan ends by checking that none is left behind.
 */
import { describe, expect, it } from 'vitest';
import { StepFailed } from '../../src/upgrade/errors.js';
import { planUpgrade } from '../../src/upgrade/planner/upgrade.js';
import type { Plan } from '../../src/upgrade/plan.js';
import { planRollback } from '../../src/upgrade/planner/rollback.js';
import { rollingComponents } from '../../src/upgrade/planner/rolling-plan.js';
import { runSteps } from '../../src/upgrade/runner/run.js';
import type { ComponentState, ReleaseState } from '../../src/upgrade/state.js';
import type { Step } from '../../src/upgrade/steps.js';
import { parseVersion } from '../../src/upgrade/milvus/version.js';
import { fakePorts } from './fakes.js';
import { component, milvusIndex, planSettings, releaseState, revision, tooling } from './helpers.js';

const FULL = 'prod-milvus';
/** A resource-group Deployment: same component label, the group in the name. */
function group(name: string, groupName: string, o: Parameters<typeof component>[1] = {}): ComponentState {
  return { ...component(name, o), deployment: `${FULL}-${name}-${groupName}` };
}

function withGroups(version: string, o: Parameters<typeof component>[1] = {}): ReleaseState {
  const v = { version, ...o };
  return releaseState({
    version,
    chartVersion: '5.0.16',
    components: [
      component('proxy', v),
      group('querynode', 'rg2', v),
      component('mixcoord', v),
      component('querynode', v),
      group('querynode', 'rg1', v),
      group('streamingnode', 'a', v),
      component('streamingnode', v),
      component('datanode', v),
    ],
  });
}

function plan(state: ReleaseState, target: string, strategy?: 'rolling' | 'migrate'): Plan {
  return planUpgrade({
    request: { cluster: 'test', namespace: state.namespace, release: state.release, target: parseVersion(target), strategy },
    state,
    tooling: tooling(),
    charts: milvusIndex(),
    settings: planSettings(),
  });
}

const updated = (steps: readonly Step[]) => steps.flatMap((s) => (s.kind === 'update-deployment' ? [s.target.deployment] : []));

describe('rolling order by component, then Deployment name', () => {
  it('every Deployment once, resource groups next to their component', () => {
    expect(rollingComponents(withGroups('2.6.1')).map((c) => c.deployment)).toEqual([
      `${FULL}-mixcoord`,
      `${FULL}-datanode`,
      `${FULL}-streamingnode`,
      `${FULL}-streamingnode-a`,
      `${FULL}-querynode`,
      `${FULL}-querynode-rg1`,
      `${FULL}-querynode-rg2`,
      `${FULL}-proxy`,
    ]);
  });

  it('the order does not depend on the order Deployments were listed in', () => {
    const s = withGroups('2.6.1');
    const reversed = { ...s, components: [...s.components].reverse() };
    expect(rollingComponents(reversed)).toEqual(rollingComponents(s));
  });
});

describe('plans name every Deployment', () => {
  it('rolling: one update per Deployment, then the check on the target; rollback reverses all', () => {
    const p = plan(withGroups('2.6.1'), '2.6.15', 'rolling');
    expect(updated(p.steps)).toEqual(rollingComponents(withGroups('2.6.1')).map((c) => c.deployment));
    expect(p.steps.find((s) => s.kind === 'update-deployment' && s.target.deployment.endsWith('-rg1'))!.description).toMatch(
      /^querynode \(prod-milvus-querynode-rg1\): milvusdb\/milvus:v2\.6\.1 -> milvusdb\/milvus:v2\.6\.15/,
    );
    const last = p.steps.at(-1)!;
    expect(last).toMatchObject({ kind: 'verify-deployments', everyMilvusDeploymentOn: 'milvusdb/milvus:v2.6.15' });
    expect(last.kind === 'verify-deployments' && last.expected.map((e) => e.deployment)).toEqual(updated(p.steps));
    expect(updated(p.rollback!.steps)).toEqual([...updated(p.steps)].reverse());
    expect(p.rollback!.steps.at(-1)).toMatchObject({ kind: 'verify-deployments', everyMilvusDeploymentOn: null });
  });

  it('migration: every Deployment recorded, stopped and started', () => {
    const s: ReleaseState = {
      ...releaseState({ version: '2.1.4', chartVersion: '3.2.18' }),
      components: [component('proxy', { version: '2.1.4' }), component('querynode', { version: '2.1.4' }), group('querynode', 'rg1', { version: '2.1.4', replicas: 2 })],
    };
    const p = plan(s, '2.2.0');
    const all = [`${FULL}-proxy`, `${FULL}-querynode`, `${FULL}-querynode-rg1`];
    for (const st of p.steps) {
      if (st.kind === 'save-replicas') expect(st.replicas.map((r) => r.deployment).sort()).toEqual(all);
      if (st.kind === 'stop-milvus') expect([...st.deployments].sort()).toEqual(all);
      if (st.kind === 'start-milvus') expect(st.targets.map((t) => t.deployment).sort()).toEqual(all);
    }
    expect(p.steps.filter((st) => ['save-replicas', 'stop-milvus', 'start-milvus'].includes(st.kind))).toHaveLength(3);
  });

  it('rollback planned from the cluster marks: each marked Deployment, groups included', () => {
    const s = withGroups('2.6.15', { previousImage: 'milvusdb/milvus:v2.6.1', previousVersionLabel: '2.6.1', markHelmRevision: 3 });
    const p = planRollback({ cluster: 'test', state: s, history: [revision(3, 'deployed', '5.0.16', '2.6.1')], tooling: tooling() });
    expect(p.path).toBe('rolling');
    expect(updated(p.steps)).toEqual([...rollingComponents(s)].reverse().map((c) => c.deployment));
  });
});

describe('running a rolling plan: every Deployment, and the closing check', () => {
  const target = { namespace: 'milvus', release: 'prod' };

  it('upgrades both querynode resource groups and passes the check', async () => {
    const s = withGroups('2.6.1');
    const ports = fakePorts({ components: s.components });
    ports.cluster.configMaps.set(s.configMapName, { data: { 'user.yaml': '' }, annotations: {} });
    const p = plan(s, '2.6.15', 'rolling');
    const details: string[] = [];
    await runSteps(target, p.steps, { ports, pollIntervalMs: 1000, onEvent: (e) => void (e.type === 'step-finished' && details.push(e.detail)) });
    for (const d of ports.cluster.deployments.values()) expect(d.image).toBe('milvusdb/milvus:v2.6.15');
    expect(new Set(ports.cluster.patches.map((x) => x.deployment))).toEqual(new Set(s.components.map((c) => c.deployment)));
    expect(details.at(-1)).toBe('8 Deployments rolled out and on milvusdb/milvus:v2.6.15');
  });

  const verify = (expected: Array<{ deployment: string; image: string }>, on: string | null): Step => ({
    kind: 'verify-deployments',
    expected,
    everyMilvusDeploymentOn: on,
    description: 'check',
  });

  async function failure(components: ComponentState[], step: Step): Promise<StepFailed> {
    const ports = fakePorts({ components });
    const err = await runSteps(target, [step], { ports, pollIntervalMs: 1000 }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(StepFailed);
    return err as StepFailed;
  }

  it('fails naming a planned Deployment on the wrong image', async () => {
    const err = await failure(
      [component('proxy', { version: '2.6.15' }), group('querynode', 'rg1', { version: '2.6.1' })],
      verify([{ deployment: `${FULL}-proxy`, image: 'milvusdb/milvus:v2.6.15' }, { deployment: `${FULL}-querynode-rg1`, image: 'milvusdb/milvus:v2.6.15' }], 'milvusdb/milvus:v2.6.15'),
    );
    expect(err.message).toBe('Deployment prod-milvus-querynode-rg1 runs milvusdb/milvus:v2.6.1, not milvusdb/milvus:v2.6.15');
  });

  it('fails naming a Milvus Deployment the plan did not know, left on the old image', async () => {
    const err = await failure(
      [component('proxy', { version: '2.6.15' }), group('querynode', 'rg9', { version: '2.6.1' }), component('attu', { image: 'zilliz/attu:v2.4.12' })],
      verify([{ deployment: `${FULL}-proxy`, image: 'milvusdb/milvus:v2.6.15' }], 'milvusdb/milvus:v2.6.15'),
    );
    expect(err.message).toBe('Deployment prod-milvus-querynode-rg9 runs milvusdb/milvus:v2.6.1, not milvusdb/milvus:v2.6.15');
    // Attu is on another repository: not part of the check.
    expect(err.explain()).not.toMatch(/attu/);
  });

  it('fails naming a Deployment that is gone or not rolled out', async () => {
    const gone = await failure([component('proxy', { version: '2.6.15' })], verify([{ deployment: `${FULL}-querynode-rg1`, image: 'milvusdb/milvus:v2.6.15' }], null));
    expect(gone.message).toBe('Deployment prod-milvus-querynode-rg1 is gone');
    const stuck = await failure(
      [component('proxy', { version: '2.6.15', rolledOut: false, replicas: 2 })],
      verify([{ deployment: `${FULL}-proxy`, image: 'milvusdb/milvus:v2.6.15' }], null),
    );
    expect(stuck.message).toMatch(/^Deployment prod-milvus-proxy is not rolled out \(proxy: 0\/2 pods updated\)$/);
  });
});
