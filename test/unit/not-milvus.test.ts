/**
 * Item 4 of issue 9: Attu (and any Deployment with the Milvus labels that runs another image)
 * is no Milvus component: no plan patches, stops or starts it, and status shows it as left alone.
 */
import { describe, expect, it } from 'vitest';
import { statusComponentLines } from '../../src/bot/handlers.js';
import { statusText } from '../../src/plan-text.js';
import { migrationNames } from '../../src/upgrade/milvus/names.js';
import { milvusPodSelector } from '../../src/upgrade/planner/migration-plan.js';
import { planUpgrade } from '../../src/upgrade/planner/upgrade.js';
import { fingerprint, runningVersion, type Plan } from '../../src/upgrade/plan.js';
import { planRollback } from '../../src/upgrade/planner/rollback.js';
import { splitByImage, type ComponentState, type ReleaseState } from '../../src/upgrade/state.js';
import type { Step } from '../../src/upgrade/steps.js';
import { parseVersion } from '../../src/upgrade/milvus/version.js';
import { component, milvusIndex, planSettings, releaseState, revision, tooling } from './helpers.js';

const attu = (o: { fullname?: string } = {}) => component('attu', { image: 'zilliz/attu:v2.4.12', ...o });

function plan(state: ReleaseState, target: string, strategy?: 'rolling' | 'migrate'): Plan {
  return planUpgrade({
    request: { cluster: 'test', namespace: state.namespace, release: state.release, target: parseVersion(target), strategy },
    state,
    tooling: tooling(),
    charts: milvusIndex(),
    settings: planSettings(),
  });
}

/** Every Deployment name any step of the plan (or its rollback) acts on. */
function touched(steps: readonly Step[]): string[] {
  return steps.flatMap((s) => {
    switch (s.kind) {
      case 'update-deployment':
        return [s.target.deployment];
      case 'save-replicas':
        return s.replicas.map((r) => r.deployment);
      case 'stop-milvus':
        return [...s.deployments];
      case 'start-milvus':
        return s.targets.map((t) => t.deployment);
      default:
        return [];
    }
  });
}

describe('splitByImage', () => {
  it("Attu has the Milvus labels but not the Milvus image: it is set apart", () => {
    const all = [attu(), component('datanode'), component('proxy'), component('querynode')];
    const split = splitByImage(all);
    expect(split.imageRepository).toBe('milvusdb/milvus');
    expect(split.milvus.map((c) => c.component)).toEqual(['datanode', 'proxy', 'querynode']);
    expect(split.others.map((c) => c.component)).toEqual(['attu']);
  });

  it('the repository is the proxy\'s, so a private registry with a port works too', () => {
    const repo = 'harbor.local:5000/ai/milvus';
    const all = [attu(), component('proxy', { image: `${repo}:v2.4.5` }), component('datanode', { image: `${repo}:v2.4.5` })];
    expect(splitByImage(all)).toMatchObject({ imageRepository: repo, others: [{ component: 'attu' }] });
  });

  it('without a proxy, the repository most Milvus components run; the label never decides alone', () => {
    // Someone named a helper "datanode"-like component: its image still sets it apart.
    const all = [component('rootcoord'), component('datanode'), component('querynode', { image: 'example/other:v1' })];
    const split = splitByImage(all);
    expect(split.imageRepository).toBe('milvusdb/milvus');
    expect(split.others.map((c) => c.component)).toEqual(['querynode']);
  });

  it('Docker Hub spellings count as one repository; an empty image is never Milvus', () => {
    const all = [component('proxy'), component('datanode', { image: 'docker.io/milvusdb/milvus:v2.4.5' }), { ...component('indexnode'), image: '' }];
    const split = splitByImage(all);
    expect(split.milvus.map((c) => c.component)).toEqual(['proxy', 'datanode']);
    expect(split.others.map((c) => c.component)).toEqual(['indexnode']);
  });

  it('nothing Milvus at all: no repository, every Deployment is another', () => {
    expect(splitByImage([attu()])).toEqual({ imageRepository: null, milvus: [], others: [attu()] });
  });
});

describe('plans leave Attu alone', () => {
  it('rolling: no step and no rollback step touches Attu; the image is the Milvus one', () => {
    const s = releaseState({ version: '2.4.5', others: [attu()] });
    const p = plan(s, '2.4.23', 'rolling');
    expect(touched(p.steps)).not.toContain('prod-milvus-attu');
    expect(touched(p.rollback!.steps)).not.toContain('prod-milvus-attu');
    expect(touched(p.steps)).toContain('prod-milvus-proxy');
    for (const st of p.steps) if (st.kind === 'update-deployment') expect(st.target.image).toBe('milvusdb/milvus:v2.4.23');
  });

  it('migration: Attu is not recorded, stopped or started, and its pods are not waited for', () => {
    const s = releaseState({ version: '2.1.4', chartVersion: '3.2.18', others: [attu()] });
    const p = plan(s, '2.2.0');
    expect(p.path).toBe('migrate');
    expect(touched(p.steps)).not.toContain('prod-milvus-attu');
    expect(touched(p.steps)).toContain('prod-milvus-querynode');
    const stop = p.steps.find((st) => st.kind === 'stop-milvus');
    expect(stop).toMatchObject({ podSelector: 'app.kubernetes.io/instance=prod,component,component notin (attu)' });
    expect(stop!.description).toMatch(/prod-milvus-attu not Milvus: left running/);
    expect(touched(p.rollback!.steps)).not.toContain('prod-milvus-attu');
  });

  it('the pod selector stays the plain one without others, and never excludes a Milvus component', () => {
    expect(milvusPodSelector(releaseState())).toBe('app.kubernetes.io/instance=prod,component');
    const clash = releaseState({ others: [component('querynode', { image: 'example/x:v1', fullname: 'prod-extra' })] });
    expect(milvusPodSelector(clash)).toBe('app.kubernetes.io/instance=prod,component');
  });

  it('a migration rollback planned from the cluster leaves Attu out too', () => {
    const marked = (name: string) =>
      component(name, { version: '2.2.0', previousImage: 'milvusdb/milvus:v2.1.4', previousVersionLabel: '2.1.4', markHelmRevision: 3 });
    const s = releaseState({
      version: '2.2.0',
      components: ['proxy', 'rootcoord', 'querynode'].map(marked),
      others: [attu()],
      migration: { configMap: migrationNames('prod').configMap, backupDone: true, sourceVersion: '2.1.4', targetVersion: '2.2.0' },
    });
    const p = planRollback({ cluster: 'test', state: s, history: [revision(3, 'deployed', '3.2.18', '2.1.4')], tooling: tooling() });
    expect(p.path).toBe('migrate');
    expect(touched(p.steps)).not.toContain('prod-milvus-attu');
  });

  it('no mixed-version warning, running version and drift fingerprint from Milvus only', () => {
    const s = releaseState({ version: '2.4.5', others: [attu()] });
    expect(runningVersion(s).text).toBe('2.4.5');
    const p = plan(s, '2.4.23', 'rolling');
    expect(p.warnings.join('\n')).not.toMatch(/different versions/);
    expect(Object.keys(fingerprint(s).images)).not.toContain('prod-milvus-attu');
    expect(Object.keys(fingerprint(s).images)).toContain('prod-milvus-proxy');
  });
});

describe('status shows Attu as left alone', () => {
  const others: ComponentState[] = [attu()];
  const s = releaseState({ version: '2.4.5', others });

  it('CLI text', () => {
    const text = statusText(s, '2.4.5');
    expect(text).toMatch(/attu\s+zilliz\/attu:v2\.4\.12\s+not Milvus, left alone \(prod-milvus-attu\)/);
    expect(text).toMatch(/proxy\s+milvusdb\/milvus:v2\.4\.5/);
  });

  it('Slack status lines', () => {
    const lines = statusComponentLines(s);
    expect(lines).toHaveLength(s.components.length + 1);
    expect(lines.at(-1)).toBe('• attu: `zilliz/attu:v2.4.12` (prod-milvus-attu): not Milvus, left alone');
  });
});
