/**
 * The schedule at run time (issue 28): where the worker asks (a run's first step, each later
 * hop's first step; never inside a hop), what it gets (now, later, refused), and that rollbacks
 * and restores are never held. Times on an injected clock; across a DST change too.
 */
import { describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { slotBeforeStep } from '../../src/upgrade/schedule/gate.js';
import { parseSchedulePolicy } from '../../src/upgrade/schedule/policy.js';
import { policyText, releaseScheduleText } from '../../src/upgrade/schedule/describe.js';
import type { Plan } from '../../src/upgrade/plan.js';

const paris = (iso: string) => DateTime.fromISO(iso, { zone: 'Europe/Paris' }).toMillis();
const policy = parseSchedulePolicy({
  windows: [{ namespaces: ['team-a'], weekly: ['Sat 02:00-05:00 Europe/Paris'] }],
  freezes: [
    { namespaces: ['team-a'], from: '2026-12-19T00:00 Europe/Paris', to: '2026-12-20T00:00 Europe/Paris', reason: 'release party', mode: 'hold' },
    { releases: ['frozen'], from: '2026-12-01T00:00 Europe/Paris', to: '2026-12-31T00:00 Europe/Paris', reason: 'audit', mode: 'refuse' },
  ],
});
const settings = { policy, expectedHopSeconds: 30 * 60 };

function plan(over: Partial<Plan> & { hopsAt?: number[] } = {}): Plan {
  const { hopsAt, ...rest } = over;
  const steps = Array.from({ length: 8 }, (_, i) => ({ kind: 'health-gate', description: `step ${i}` }));
  const hops = (hopsAt ?? []).map((firstStep, i, all) => ({ from: `2.${i}`, to: `2.${i + 1}`, firstStep, steps: steps.slice(firstStep, all[i + 1] ?? steps.length) }));
  return { kind: 'upgrade', cluster: 'c', namespace: 'team-a', release: 'milvus', from: '2.4.16', to: '2.6.15', steps, hops, ...rest } as unknown as Plan;
}

describe('the schedule at run time', () => {
  it('approved Sat 01:00 Paris: held until 02:00; at 02:10 it runs; at 04:45 a 30 min hop no longer fits: next Saturday', () => {
    const held = slotBeforeStep(settings, plan(), 0, paris('2026-12-12T01:00'));
    expect(held).toMatchObject({ kind: 'later', at: paris('2026-12-12T02:00') });
    expect(slotBeforeStep(settings, plan(), 0, paris('2026-12-12T02:10'))).toMatchObject({ kind: 'now', closes: paris('2026-12-12T05:00') });
    // The 19th is frozen (hold): the next Saturday it fits is the 26th.
    expect(slotBeforeStep(settings, plan(), 0, paris('2026-12-12T04:45'))).toMatchObject({ kind: 'later', at: paris('2026-12-26T02:00') });
  });

  it('asks only where a hop begins: inside a hop (a step after its first) it never stops the run', () => {
    const route = plan({ hopsAt: [0, 4] });
    const late = paris('2026-12-12T06:00');
    expect(slotBeforeStep(settings, route, 2, late)).toBeNull();
    expect(slotBeforeStep(settings, route, 4, late)).toMatchObject({ kind: 'later', at: paris('2026-12-26T02:00') });
  });

  it('rollbacks and restores are never held; a release with no window or freeze runs now', () => {
    expect(slotBeforeStep(settings, plan({ kind: 'rollback' }), 0, paris('2026-12-12T06:00'))).toBeNull();
    expect(slotBeforeStep(settings, plan({ kind: 'restore' }), 0, paris('2026-12-12T06:00'))).toBeNull();
    expect(slotBeforeStep(settings, plan({ namespace: 'other' }), 0, paris('2026-12-12T06:00'))).toBeNull();
  });

  it('a refusing freeze refuses a new run; between the hops of a started route it holds until the freeze ends', () => {
    const frozen = plan({ namespace: 'x', release: 'frozen', hopsAt: [0, 4] });
    expect(slotBeforeStep(settings, frozen, 0, paris('2026-12-10T12:00'))).toMatchObject({ kind: 'refused', until: paris('2026-12-31T00:00') });
    expect(slotBeforeStep(settings, frozen, 4, paris('2026-12-10T12:00'))).toMatchObject({ kind: 'later', at: paris('2026-12-31T00:00') });
  });

  it('across the spring DST change the window keeps its wall-clock hours', () => {
    // 28 March 2026 is a Saturday; clocks change on Sunday the 29th: the Saturday window is CET.
    const spring = parseSchedulePolicy({ windows: [{ weekly: ['Sun 01:00-04:00 Europe/Paris'] }] });
    const slot = slotBeforeStep({ policy: spring, expectedHopSeconds: 60 }, plan({ namespace: 'any' }), 0, paris('2026-03-28T12:00'));
    // Sunday 01:00 CET is 00:00 UTC; the window closes 04:00 CEST (02:00 UTC): two real hours.
    expect(slot).toMatchObject({ kind: 'later', at: Date.UTC(2026, 2, 29, 0, 0) });
  });

  it('/milvus windows says what applies and when an upgrade approved now would run', () => {
    const text = releaseScheduleText(policy, { cluster: 'c', namespace: 'team-a', release: 'milvus' }, paris('2026-12-12T01:00'), 1800);
    expect(text).toMatch(/Sat 02:00-05:00 Europe\/Paris \(next opens Sat 12 Dec 02:00 CET\)/);
    expect(text).toMatch(/release party: Sat 19 Dec 00:00 CET until Sun 20 Dec 00:00 CET \(runs held until it ends\)/);
    expect(text).toMatch(/An upgrade approved now \(a hop expected to take 30 min\): runs Sat 12 Dec 02:00 CET/);
    expect(policyText(policy, paris('2026-12-12T01:00'))).toMatch(/namespaces team-a: Sat 02:00-05:00/);
    expect(policyText(parseSchedulePolicy({}), 0)).toMatch(/No maintenance windows or freezes/);
  });
});
