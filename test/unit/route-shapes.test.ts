/**
 * Routes into 2.6 for the shapes issue 24 names: a standalone release (the chart renders mixcoord,
 * streamingnode and indexnode only in cluster mode, SPEC §9) and a 2.5.16+ cluster still on the
 * four coordinators (before: refused, and the same-version switch refused as "not newer").
 */
import { describe, expect, it } from 'vitest';
import { MIXCOORD_FLAGS } from '../../src/upgrade/milvus/components.js';
import { waypoints, type RouteShape } from '../../src/upgrade/planner/route.js';
import type { Plan } from '../../src/upgrade/plan.js';
import type { ReleaseState } from '../../src/upgrade/state.js';
import type { Step } from '../../src/upgrade/steps.js';
import { parseVersion } from '../../src/upgrade/milvus/version.js';
import { component, milvusIndex, planHop, planRoute, releaseState } from './helpers.js';

const index = milvusIndex();
const hop = (state: ReleaseState, target: string, extraSet: Record<string, string> = {}): Plan => planHop(state, target, { extraSet });
const shapeOf = (s: ReleaseState): RouteShape => ({ mode: s.mode, components: s.components.map((c) => c.component) });
const route = planRoute;

const standalone = (version: string, chartVersion: string) =>
  releaseState({ version, chartVersion, revision: 2, mode: 'standalone', components: [component('standalone', { version })] });
const helmSets = (steps: readonly Step[]) => steps.flatMap((s) => (s.kind === 'helm-upgrade' ? [s.set] : []));
const resumed = (steps: readonly Step[]) => steps.flatMap((s) => (s.kind === 'resume-deployments' ? [s.component] : []));

describe('standalone into 2.6', () => {
  it('2.5.16 -> 2.6.15: one helm hop, no mixcoord asked for, no component added or removed', () => {
    const state = standalone('2.5.16', '4.2.58');
    expect(waypoints(parseVersion('2.5.16'), parseVersion('2.6.15'), index, shapeOf(state))).toEqual([]);
    const { plan, end } = route(state, '2.6.15');
    expect(plan).toMatchObject({ from: '2.5.16', to: '2.6.15', path: 'helm', rollback: null });
    expect(helmSets(plan.steps).map((s) => s['image.all.tag'])).toEqual(['v2.6.15']);
    expect(plan.warnings.join(' ')).not.toMatch(/mixCoordinator|mixcoord/);
    expect(end.components.map((c) => c.component)).toEqual(['standalone']);
  });

  it('2.4.23 -> 2.6.15: through 2.5.16 without the mixcoord flags, and stays one standalone Deployment', () => {
    const state = standalone('2.4.23', '4.2.20');
    const stops = waypoints(parseVersion('2.4.23'), parseVersion('2.6.15'), index, shapeOf(state));
    expect(stops.map((s) => [s.version.text, s.set])).toEqual([['2.5.16', {}]]);
    expect(stops[0]!.why).toContain('standalone');
    const { plan, end } = route(state, '2.6.15');
    expect(plan.hops!.map((h) => [h.from, h.to])).toEqual([['2.4.23', '2.5.16'], ['2.5.16', '2.6.15']]);
    for (const set of helmSets(plan.steps)) for (const k of Object.keys(MIXCOORD_FLAGS)) expect(set[k], k).toBeUndefined();
    expect(plan.warnings.join(' ')).not.toMatch(/mixCoordinator by default/);
    expect(end.components.map((c) => c.component)).toEqual(['standalone']);
  });
});

describe('a 2.5.16 cluster on the four coordinators, into 2.6', () => {
  const separate = () =>
    releaseState({ version: '2.5.16', chartVersion: '4.2.58', revision: 3, components: ['rootcoord', 'datacoord', 'querycoord', 'indexcoord', 'proxy', 'querynode', 'datanode', 'indexnode'].map((c) => component(c, { version: '2.5.16' })) });

  it('goes through 2.5.16 again with mixcoord (helm, ordered, the coordinators replaced), then 2.6.15', () => {
    const state = separate();
    const stops = waypoints(parseVersion('2.5.16'), parseVersion('2.6.15'), index, shapeOf(state));
    expect(stops.map((s) => [s.version.text, s.set])).toEqual([['2.5.16', MIXCOORD_FLAGS]]);
    const { plan, end } = route(state, '2.6.15');
    expect(plan.hops!.map((h) => [h.from, h.to, h.path, h.chart?.version])).toEqual([
      ['2.5.16', '2.5.16', 'helm', '4.2.58'],
      ['2.5.16', '2.6.15', 'helm', '5.0.19'],
    ]);
    expect(plan.hops![0]!.set).toMatchObject({ 'image.all.tag': 'v2.5.16', ...MIXCOORD_FLAGS });
    // The switch hop waits on mixcoord, which helm creates, and not on the coordinators it removes.
    const first = plan.steps.slice(0, plan.hops![1]!.firstStep);
    expect(resumed(first)).toContain('mixcoord');
    expect(resumed(first)).not.toContain('rootcoord');
    expect(end.components.map((c) => c.component).sort()).toEqual(['datanode', 'mixcoord', 'proxy', 'querynode', 'streamingnode']);
  });

  it('asked for directly, the same version is still "not newer"', () => {
    expect(() => hop(separate(), '2.5.16')).toThrow(/Milvus 2\.5\.16 is not newer than the running 2\.5\.16/);
  });
});
