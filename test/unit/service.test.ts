import { describe, expect, it } from 'vitest';
import type { ChartEntry } from '../../src/upgrade/milvus/charts.js';
import { InputError, PreflightError } from '../../src/upgrade/errors.js';
import type { KubeObject } from '../../src/upgrade/objects.js';
import type { ReleaseObserver } from '../../src/upgrade/ports.js';
import { driftOf } from '../../src/upgrade/plan.js';
import { listVersions, makeUpgradePlan, parseStrategy, type EngineDeps } from '../../src/upgrade/planner/service.js';
import type { ReleaseState, ToolingState } from '../../src/upgrade/state.js';
import { FakeHelm } from './fakes.js';
import { component, milvusIndex, planSettings, rejected, releaseState, tooling } from './helpers.js';

class FakeObserver implements ReleaseObserver {
  readonly calls: string[] = [];
  constructor(
    private readonly state: ReleaseState | null,
    private readonly tools: ToolingState = tooling(),
  ) {}
  async tooling(): Promise<ToolingState> {
    this.calls.push('tooling');
    return this.tools;
  }
  async release(namespace: string, release: string): Promise<ReleaseState | null> {
    this.calls.push(`release ${namespace}/${release}`);
    return this.state;
  }
  live: KubeObject[] = [];
  async objects(): Promise<KubeObject[]> {
    return this.live;
  }
}

class IndexedHelm extends FakeHelm {
  constructor(private readonly index: ChartEntry[]) {
    super(null);
  }
  override async searchCharts(): Promise<ChartEntry[]> {
    return this.index;
  }
}

function deps(state: ReleaseState | null, tools?: ToolingState) {
  const observer = new FakeObserver(state, tools);
  const helm = new IndexedHelm(milvusIndex());
  const d: EngineDeps = { clusterName: 'test', observer, helm, settings: planSettings() };
  return { d, observer, helm };
}

describe('parseStrategy', () => {
  it('accepts the three paths and undefined', () => {
    expect(parseStrategy('helm')).toBe('helm');
    expect(parseStrategy('rolling')).toBe('rolling');
    expect(parseStrategy('migrate')).toBe('migrate');
    expect(parseStrategy(undefined)).toBeUndefined();
  });

  it.each(['Helm', 'rollingupdate', '', 'helm;ls'])('rejects %j', (s) => {
    expect(() => parseStrategy(s)).toThrow(InputError);
  });
});

describe('makeUpgradePlan', () => {
  it('plans 2.4.5 -> 2.4.23 after refreshing the repository', async () => {
    const { d, helm } = deps(releaseState({ version: '2.4.5' }));
    const p = await makeUpgradePlan(d, { release: 'prod', namespace: 'milvus', version: 'v2.4.23' });
    expect(p.path).toBe('helm');
    expect(p.chart?.version).toBe('4.2.25');
    expect(helm.repoUpdates).toEqual([{ name: 'zilliztech', url: 'https://zilliztech.github.io/milvus-helm' }]);
  });

  it.each([
    ['a bad release name', { release: 'Prod_1', namespace: 'milvus', version: '2.4.23' }],
    ['a bad namespace', { release: 'prod', namespace: 'kube_system', version: '2.4.23' }],
    ['a bad version', { release: 'prod', namespace: 'milvus', version: 'latest' }],
    ['a bad strategy', { release: 'prod', namespace: 'milvus', version: '2.4.23', strategy: 'yolo' }],
  ])('refuses %s before reading anything', async (_what, input) => {
    const { d, observer, helm } = deps(releaseState());
    expect(await rejected(() => makeUpgradePlan(d, input))).toBeInstanceOf(InputError);
    expect(observer.calls).toEqual([]);
    expect(helm.repoUpdates).toEqual([]);
  });

  it('a release that does not exist -> PreflightError', async () => {
    const { d } = deps(null);
    const err = await rejected(() => makeUpgradePlan(d, { release: 'ghost', namespace: 'milvus', version: '2.4.23' }));
    expect(err).toBeInstanceOf(PreflightError);
    expect((err as PreflightError).message).toContain('ghost not found');
  });

  it('tooling problems stop it before the repository is touched', async () => {
    const { d, helm } = deps(releaseState(), tooling({ helmVersion: 'v3.13.0' }));
    expect(await rejected(() => makeUpgradePlan(d, { release: 'prod', namespace: 'milvus', version: '2.4.23' }))).toBeInstanceOf(
      PreflightError,
    );
    expect(helm.repoUpdates).toEqual([]);
  });
});

describe('listVersions', () => {
  it('newest first from the refreshed repository', async () => {
    const { d, helm } = deps(null);
    const versions = await listVersions(d);
    expect(versions[0]).toEqual({ chartVersion: '5.0.19', appVersion: '2.6.15' });
    expect(helm.repoUpdates).toHaveLength(1);
  });
});

describe('driftOf', () => {
  const state = releaseState({ version: '2.4.5', revision: 3, components: ['proxy', 'querynode'] });
  const planFor = async (s: ReleaseState) => makeUpgradePlan(deps(s).d, { release: 'prod', namespace: 'milvus', version: '2.4.23' });

  it('none when nothing changed', async () => {
    expect(driftOf(await planFor(state), state)).toEqual([]);
  });

  it('lists revision, status, chart and image changes, gone and new Deployments', async () => {
    const p = await planFor(state);
    const now: ReleaseState = {
      ...state,
      helm: { ...state.helm, revision: 4, status: 'failed', chartVersion: '4.2.25' },
      components: [component('proxy', { version: '2.4.13' }), component('datanode', { version: '2.4.5' })],
    };
    expect(driftOf(p, now)).toEqual([
      'helm revision 3 -> 4',
      'helm status deployed -> failed',
      'chart 4.1.36 -> 4.2.25',
      'prod-milvus-proxy: milvusdb/milvus:v2.4.5 -> milvusdb/milvus:v2.4.13',
      'Deployment prod-milvus-querynode is gone',
      'new Deployment prod-milvus-datanode',
    ]);
  });
});
