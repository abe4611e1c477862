import { describe, expect, it } from 'vitest';
import { offersRollback, planCard, rollbackLine } from '../../src/bot/views.js';
import type { UpgradeRequest } from '../../src/upgrade/requests.js';
import { planUpgrade } from '../../src/upgrade/planner/upgrade.js';
import { type Plan, hopAt, noRollbackReason, rollbackAt } from '../../src/upgrade/plan.js';
import { rollbackPlanFor } from '../../src/upgrade/planner/rollback.js';
import { MIXCOORD_FLAGS } from '../../src/upgrade/milvus/components.js';
import { joinRoute, stateAfter, waypoints } from '../../src/upgrade/planner/route.js';
import type { ReleaseState } from '../../src/upgrade/state.js';
import { parseVersion } from '../../src/upgrade/milvus/version.js';
import { component, milvusIndex, planSettings, releaseState, tooling, upgradeRequest } from './helpers.js';

const index = milvusIndex();

function hop(state: ReleaseState, target: string, extraSet: Record<string, string> = {}): Plan {
  return planUpgrade({
    request: { cluster: 'test', namespace: state.namespace, release: state.release, target: parseVersion(target), extraSet },
    state,
    tooling: tooling(),
    charts: index,
    settings: planSettings(),
  });
}

/** What the service does, without its I/O: plan each hop from the state the previous one leaves. */
function route(state: ReleaseState, target: string): Plan {
  const stops = waypoints(parseVersion(state.components[0]!.versionLabel!), parseVersion(target), index);
  const hops: Plan[] = [];
  let at = state;
  for (const leg of [...stops.map((s) => ({ v: s.version.text, set: s.set })), { v: target, set: {} }]) {
    const p = hop(at, leg.v, leg.set);
    hops.push(p);
    at = stateAfter(at, p);
  }
  return joinRoute(hops, stops.map((s) => s.why));
}

const mixcoordRelease = () =>
  releaseState({ version: '2.4.23', chartVersion: '4.2.20', revision: 2, components: ['mixcoord', 'proxy', 'querynode', 'datanode', 'indexnode'].map((c) => component(c, { version: '2.4.23' })) });

describe('routes', () => {
  it('waypoints: into 2.6 from before 2.5.16 stops at 2.5.16 with mixcoord; 2.1.x past 2.2 stops at the newest 2.2.x; a direct target has none', () => {
    const stops = waypoints(parseVersion('2.4.23'), parseVersion('2.6.15'), index);
    expect(stops.map((s) => s.version.text)).toEqual(['2.5.16']);
    expect(stops[0]!.set).toEqual(MIXCOORD_FLAGS);
    expect(waypoints(parseVersion('2.1.4'), parseVersion('2.6.15'), index).map((s) => s.version.text)).toEqual(['2.2.14', '2.5.16']);
    expect(waypoints(parseVersion('2.1.4'), parseVersion('2.2.14'), index)).toEqual([]);
    expect(waypoints(parseVersion('2.5.16'), parseVersion('2.6.15'), index)).toEqual([]);
    expect(waypoints(parseVersion('2.4.5'), parseVersion('2.4.23'), index)).toEqual([]);
  });

  it('2.4.23 -> 2.6.15: two helm hops under one plan, each labelled, each ordered, the second in the 2.6 order', () => {
    const p = route(mixcoordRelease(), '2.6.15');
    expect(p).toMatchObject({ from: '2.4.23', to: '2.6.15', path: 'helm', rollback: null });
    expect(p.hops!.map((h) => [h.from, h.to, h.chart?.version])).toEqual([['2.4.23', '2.5.16', '4.2.58'], ['2.5.16', '2.6.15', '5.0.19']]);
    expect(p.hops![0]!.set).toMatchObject({ 'image.all.tag': 'v2.5.16', ...MIXCOORD_FLAGS });
    expect(p.hops![1]!.set).toMatchObject({ 'image.all.tag': 'v2.6.15', 'streaming.enabled': 'true', 'indexNode.enabled': 'false' });
    expect(p.steps).toHaveLength(p.hops![0]!.steps.length + p.hops![1]!.steps.length);
    expect(p.hops![1]!.firstStep).toBe(p.hops![0]!.steps.length);
    expect(p.steps[0]!.description).toMatch(/^\[1\/2 2\.4\.23 -> 2\.5\.16\] /);
    expect(p.steps.at(-1)!.description).toMatch(/^\[2\/2 2\.5\.16 -> 2\.6\.15\] check that every pod of prod is ready and stays ready/);
    // Each hop's health gate counts restarts from its own first step.
    expect(p.steps.filter((s) => s.kind === 'check-health').map((s) => (s.kind === 'check-health' ? s.sinceStep : -1))).toEqual([0, p.hops![1]!.firstStep]);
    const resumes = p.hops![1]!.steps.flatMap((s) => (s.kind === 'resume-deployments' ? [[s.component, ...(s.with ?? [])].join('+')] : []));
    expect(resumes).toEqual(['streamingnode+mixcoord', 'querynode', 'datanode', 'proxy', '']);
    // Each hop ends with its own rollout check, before the next hop starts.
    expect(p.steps[p.hops![1]!.firstStep - 1]!.kind).toBe('check-health');
    // The second hop is planned from revision 3 (what the first leaves), not from 2.
    expect(p.hops![1]!.steps.find((s) => s.kind === 'helm-upgrade')).toMatchObject({ fromRevision: 3 });
    expect(p.reasons[0]).toMatch(/^route 2\.4\.23 -> 2\.5\.16 -> 2\.6\.15: into 2\.6 only from 2\.5\.16 with mixcoord/);
  });

  it('rollback knows the road: within the first hop it goes back to the start; from the 2.6 hop on there is none, and it says why', () => {
    const p = route(mixcoordRelease(), '2.6.15');
    const second = p.hops![1]!.firstStep;
    expect(rollbackAt(p, 3)?.summary).toMatch(/helm rollback prod to revision 2 \(chart 4\.2\.20, Milvus 2\.4\.23\)/);
    expect(rollbackAt(p, second - 1)).not.toBeNull();
    // The 2.6 hop not begun (its first step not done): the first hop can still be undone.
    expect(rollbackAt(p, second)).not.toBeNull();
    expect(rollbackAt(p, second + 1)).toBeNull();
    expect(rollbackAt(p, p.steps.length)).toBeNull();
    expect(noRollbackReason(p, p.steps.length)).toMatch(/into Milvus 2\.6 there is no way back/);
    expect(hopAt(p.hops!, second).to).toBe('2.6.15');
    const back = rollbackPlanFor(p, 4)!;
    expect(back).toMatchObject({ kind: 'rollback', from: '2.5.16', to: '2.4.23' });
    expect(back.steps.find((s) => s.kind === 'helm-rollback')).toMatchObject({ toRevision: 2 });
    expect(back.hops).toBeUndefined();
    expect(rollbackPlanFor(p)).toBeNull();
  });

  it('stateAfter: the 2.5.16 hop leaves one mixcoord instead of four coordinators; the 2.6 hop adds streamingnode and drops indexnode', () => {
    const old = releaseState({ version: '2.4.5', chartVersion: '4.1.36', revision: 5 });
    const first = hop(old, '2.5.16', MIXCOORD_FLAGS);
    const mid = stateAfter(old, first);
    expect(mid.components.map((c) => c.component).sort()).toEqual(['datanode', 'indexnode', 'mixcoord', 'proxy', 'querynode']);
    expect(new Set(mid.components.map((c) => c.image))).toEqual(new Set(['milvusdb/milvus:v2.5.16']));
    expect(mid.helm).toMatchObject({ revision: 6, chartVersion: '4.2.58' });
    const end = stateAfter(mid, hop(mid, '2.6.15'));
    expect(end.components.map((c) => c.component).sort()).toEqual(['datanode', 'mixcoord', 'proxy', 'querynode', 'streamingnode']);
  });

  it('2.1.4 -> 2.6.15: the metadata migration to 2.2.14, then helm to 2.5.16, then helm to 2.6.15', () => {
    const p = route(releaseState({ version: '2.1.4', chartVersion: '3.2.18', revision: 1 }), '2.6.15');
    expect(p.hops!.map((h) => `${h.from}->${h.to} ${h.path}`)).toEqual(['2.1.4->2.2.14 migrate', '2.2.14->2.5.16 helm', '2.5.16->2.6.15 helm']);
    expect(p.path).toBe('migrate');
    expect(p.hops![0]!.rollback?.path).toBe('migrate');
  });
});

describe('a route request in Slack: the rollback offered is that of the hop it stopped in', () => {
  const T0 = 1_800_000_000_000;
  const p = route(mixcoordRelease(), '2.6.15');
  const second = p.hops![1]!.firstStep;
  // A request that failed at once; `over` says how far it got.
  const request = (over: Partial<UpgradeRequest>): UpgradeRequest =>
    upgradeRequest({ id: 'req-1', cluster: 'c', namespace: 'milvus', release: 'prod', plan: p, requester: { id: 'U0REQ', via: 'slack' }, place: { channel: 'C1' }, createdAt: T0, phase: 'failed', startedAt: T0, finishedAt: T0, error: 'x', ...over });

  it('failed in hop 1: Roll back is offered, for hop 1; failed in the 2.6 hop or finished: none', () => {
    expect(offersRollback(request({ completedSteps: 5 }), T0)).toBe(true);
    expect(offersRollback(request({ completedSteps: second + 2 }), T0)).toBe(false);
    expect(offersRollback(request({ phase: 'succeeded', completedSteps: p.steps.length }), T0)).toBe(false);
  });

  it('the card names each hop\'s way back, and why the 2.6 hop has none', () => {
    const line = rollbackLine(p);
    expect(line).toMatch(/^hop 1 \(2\.4\.23 → 2\.5\.16\): rollback: helm rollback prod to revision 2/);
    expect(line).toMatch(/hop 2 \(2\.5\.16 → 2\.6\.15\): no rollback: into Milvus 2\.6 there is no way back/);
    expect(JSON.stringify(planCard(request({ phase: null, startedAt: null }), 'x', T0).blocks)).toContain('*Route* 2.4.23 → 2.5.16 → 2.6.15');
  });
});
