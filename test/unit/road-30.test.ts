import { describe, expect, it } from 'vitest';
import { planUpgrade } from '../../src/upgrade/planner/upgrade.js';
import { rollbackAt, type Plan } from '../../src/upgrade/plan.js';
import { joinRoute, stateAfter, waypoints } from '../../src/upgrade/planner/route.js';
import { planRollback } from '../../src/upgrade/planner/rollback.js';
import { parseVersion } from '../../src/upgrade/milvus/version.js';
import { topologyProblems, woodpeckerMode } from '../../src/upgrade/milvus/line-30.js';
import type { ChartEntry } from '../../src/upgrade/milvus/charts.js';
import type { ReleaseState } from '../../src/upgrade/state.js';
import { component, milvusIndex, planSettings, releaseState, tooling } from './helpers.js';

/** The stored index ends at 5.0.19; the docs name 5.0.22 (Milvus 2.6.20) as the 3.0 baseline. */
const withBaseline: ChartEntry[] = [...milvusIndex(), { chartVersion: '5.0.22', appVersion: '2.6.20' }];
const EMBEDDED = { streaming: { woodpecker: { embedded: true } }, woodpecker: { enabled: false } };

function release26(version: string, chartVersion: string, components = ['mixcoord', 'streamingnode', 'querynode', 'datanode', 'proxy']): ReleaseState {
  return releaseState({ version, chartVersion, revision: 4, components: components.map((c) => component(c, { version })) });
}

function hop(state: ReleaseState, target: string, charts: readonly ChartEntry[], values: Record<string, unknown> = EMBEDDED, strategy?: 'rolling' | 'helm-parallel'): Plan {
  return planUpgrade({
    request: { cluster: 'test', namespace: state.namespace, release: state.release, target: parseVersion(target), strategy },
    state,
    tooling: tooling(),
    charts,
    settings: planSettings(),
    computedValues: values,
  });
}

function route(state: ReleaseState, target: string, charts: readonly ChartEntry[] = withBaseline): Plan {
  const stops = waypoints(parseVersion(state.components[0]!.versionLabel!), parseVersion(target), charts, { mode: state.mode, components: state.components.map((c) => c.component), chartVersion: state.helm.chartVersion });
  const hops: Plan[] = [];
  let at = state;
  for (const leg of [...stops.map((s) => ({ v: s.version.text, set: s.set })), { v: target, set: {} }]) {
    const p = planUpgrade({ request: { cluster: 'test', namespace: at.namespace, release: at.release, target: parseVersion(leg.v), extraSet: leg.set }, state: at, tooling: tooling(), charts, settings: planSettings(), computedValues: EMBEDDED });
    hops.push(p);
    at = stateAfter(at, p);
  }
  return hops.length === 1 ? hops[0]! : joinRoute(hops, stops.map((s) => s.why));
}

describe('the road to 3.0', () => {
  it('from 2.6.20 on chart 5.0.22: one image-only hop that keeps the installed chart, with no rollback and the guide\'s words', () => {
    const p = hop(release26('2.6.20', '5.0.22'), '3.0.3', withBaseline);
    const upgrade = p.steps.find((s) => s.kind === 'helm-upgrade');
    expect(upgrade).toMatchObject({ chartVersion: '5.0.22', set: { 'image.all.tag': 'v3.0.3' } });
    // Only the image changes: no streaming, indexnode or queue value is set.
    expect(Object.keys(upgrade!.kind === 'helm-upgrade' ? upgrade!.set : {})).toEqual(['image.all.tag']);
    expect(p).toMatchObject({ from: '2.6.20', to: '3.0.3', path: 'helm', rollback: null, chart: { version: '5.0.22' } });
    expect(p.noRollback).toMatch(/no image rollback/);
    expect(p.reasons.join(' ')).toMatch(/installed chart 5\.0\.22 is kept and only image\.all\.tag changes to v3\.0\.3/);
    expect(p.warnings.join(' ')).toMatch(/before enabling any 3\.0 feature/);
    expect(p.warnings.join(' ')).toMatch(/must keep image\.all\.tag=v3\.0\.3/);
    expect(p.reasons[0]).toMatch(/the guide's one path \(no rolling upgrade\)/);
  });

  it('2.6.15 on 5.0.19 -> 3.0.3: through the newest 2.6 on a chart 5.0.22 or later, then the image-only hop on that chart', () => {
    const p = route(release26('2.6.15', '5.0.19'), '3.0.3');
    expect(p.hops!.map((h) => [h.from, h.to, h.chart?.version, h.set['image.all.tag']])).toEqual([
      ['2.6.15', '2.6.20', '5.0.22', 'v2.6.20'],
      ['2.6.20', '3.0.3', '5.0.22', 'v3.0.3'],
    ]);
    expect(p.reasons[0]).toMatch(/route 2\.6\.15 -> 2\.6\.20 -> 3\.0\.3: 3\.0 only from 2\.6\.20 or later on chart 5\.0\.22/);
    // Before the 3.0 hop the first can be undone; from the 3.0 hop on, nothing by image.
    expect(rollbackAt(p, 1)).not.toBeNull();
    expect(rollbackAt(p, p.hops![1]!.firstStep + 1)).toBeNull();
    expect(p.hops![1]!.noRollback).toMatch(/no image rollback/);
  });

  it('from 2.5 and before: the road to 2.6 first, stopping at the baseline, then 3.0', () => {
    const p = route(releaseState({ version: '2.4.23', chartVersion: '4.2.20', revision: 2, components: ['mixcoord', 'proxy', 'querynode', 'datanode', 'indexnode'].map((c) => component(c, { version: '2.4.23' })) }), '3.0.3');
    expect(p.hops!.map((h) => `${h.from}->${h.to}@${h.chart?.version}`)).toEqual(['2.4.23->2.5.16@4.2.58', '2.5.16->2.6.20@5.0.22', '2.6.20->3.0.3@5.0.22']);
  });

  it('refuses when the repository has no chart 5.0.22 or later, naming the validated baseline', () => {
    expect(() => route(release26('2.6.15', '5.0.19'), '3.0.3', milvusIndex())).toThrow(/no chart 5\.0\.22 or later/);
    try {
      route(release26('2.6.15', '5.0.19'), '3.0.3', milvusIndex());
    } catch (e) {
      expect((e as { details: string[] }).details.join(' ')).toMatch(/validated from Milvus 2\.6\.20 on chart 5\.0\.22.*newest 2\.6 chart here is 5\.0\.19/s);
    }
  });

  it('topology gate: an indexnode, or no streamingnode or mixcoord, refuses the hop with the fix', () => {
    const withIndexnode = release26('2.6.20', '5.0.22', ['mixcoord', 'streamingnode', 'querynode', 'datanode', 'proxy', 'indexnode']);
    expect(() => hop(withIndexnode, '3.0.3', withBaseline)).toThrow(/cannot take the image-only upgrade to 3\.0\.3: it runs an IndexNode/);
    try {
      hop(withIndexnode, '3.0.3', withBaseline);
    } catch (e) {
      expect((e as { details: string[] }).details.join(' ')).toMatch(/--set indexNode\.enabled=false/);
    }
    expect(topologyProblems('cluster', ['rootcoord', 'proxy'])).toEqual(['it runs no MixCoord', 'it runs no StreamingNode']);
    expect(topologyProblems('standalone', ['standalone'])).toEqual([]);
    // Through a route: the 2.6.20 hop does not remove an indexnode, so the route is refused at planning.
    expect(() => route(release26('2.6.15', '5.0.19', ['mixcoord', 'streamingnode', 'querynode', 'datanode', 'proxy', 'indexnode']), '3.0.3')).toThrow(/IndexNode/);
  });

  it('Woodpecker as a service is refused (switching panics); embedded, or not told, is kept', () => {
    const svc = { streaming: { woodpecker: { embedded: false } }, woodpecker: { enabled: true } };
    expect(() => hop(release26('2.6.20', '5.0.22'), '3.0.3', withBaseline, svc)).toThrow(/runs Woodpecker as a service/);
    expect(woodpeckerMode(svc)).toBe('service');
    expect(woodpeckerMode(EMBEDDED)).toBe('embedded');
    expect(woodpeckerMode({ woodpecker: { enabled: true } })).toBe('embedded');
    expect(woodpeckerMode({})).toBe('unknown');
  });

  it('refuses a straight hop from before the baseline, a rolling strategy and a --chart other than the installed one', () => {
    expect(() => hop(release26('2.6.15', '5.0.19'), '3.0.3', withBaseline)).toThrow(/cannot go straight to 3\.0\.3/);
    expect(() => hop(release26('2.6.20', '5.0.19'), '3.0.3', withBaseline)).toThrow(/cannot go straight to 3\.0\.3/);
    expect(() => hop(release26('2.6.20', '5.0.22'), '3.0.3', withBaseline, EMBEDDED, 'rolling')).toThrow(/rolling strategy cannot/);
    expect(hop(release26('2.6.20', '5.0.22'), '3.0.3', withBaseline, EMBEDDED, 'helm-parallel').steps.some((s) => s.kind === 'helm-upgrade' && s.wait !== false)).toBe(true);
    expect(() =>
      planUpgrade({ request: { cluster: 'test', namespace: 'milvus', release: 'prod', target: parseVersion('3.0.3'), chartVersion: '5.0.19' }, state: release26('2.6.20', '5.0.22'), tooling: tooling(), charts: withBaseline, settings: planSettings() }),
    ).toThrow(/--chart 5\.0\.19 cannot be used/);
    // On the baseline's version but an older chart: move the chart first, said plainly.
    expect(() => waypoints(parseVersion('2.6.20'), parseVersion('3.0.3'), withBaseline, { mode: 'cluster', components: [], chartVersion: '5.0.19' })).toThrow(/older than 5\.0\.22/);
  });

  it('only 3.0.x takes the image-only road: 3.1.0 or 9.9.9 is an unknown version, refused as any other (no chart serves it)', () => {
    expect(() => hop(release26('2.6.20', '5.0.22'), '3.1.0', withBaseline)).toThrow(/no chart in the repository serves Milvus 3\.1\.0/);
    expect(() => route(releaseState({ version: '2.3.11', chartVersion: '4.1.24', revision: 1 }), '9.9.9')).toThrow(/no chart in the repository serves Milvus 9\.9\.9/);
    expect(hop(release26('2.6.20', '5.0.22'), '3.0.0', withBaseline).chart?.version).toBe('5.0.22');
  });

  it('/milvus rollback from 3.0 to 2.6 is refused: there is no image rollback', () => {
    const state = release26('3.0.3', '5.0.22');
    const history = [
      { revision: 3, status: 'superseded', chart: 'milvus-5.0.22', chartVersion: '5.0.22', appVersion: '2.6.20', description: 'Upgrade complete', updated: '' },
      { revision: 4, status: 'deployed', chart: 'milvus-5.0.22', chartVersion: '5.0.22', appVersion: '2.6.20', description: 'Upgrade complete', updated: '' },
    ];
    expect(() => planRollback({ cluster: 'test', state, history, tooling: tooling(), settings: planSettings() })).toThrow(/cannot be rolled back from 3\.0\.3/);
  });
});
