import { describe, expect, it } from 'vitest';
import { parseSelector, selects } from '../../src/upgrade/fleet/selector.js';
import { intoWaves, parseWaves, waveOrder, waveSizes } from '../../src/upgrade/fleet/waves.js';
import { fleetMembers, fleetPlanJson, fleetPlanText, planFleet } from '../../src/upgrade/fleet/fleet-plan.js';
import { InputError } from '../../src/upgrade/errors.js';
import type { Plan } from '../../src/upgrade/plan.js';
import { parseCommand } from '../../src/bot/commands.js';

describe('fleet selectors (issue 28)', () => {
  it('namespace glob / release glob, with label conditions', () => {
    const s = parseSelector('team-*/milvus-?', ['tier=gold']);
    expect(selects(s, { namespace: 'team-a', release: 'milvus-1', labels: { tier: 'gold' } })).toBe(true);
    expect(selects(s, { namespace: 'team-a', release: 'milvus-10', labels: { tier: 'gold' } })).toBe(false);
    expect(selects(s, { namespace: 'ops', release: 'milvus-1', labels: { tier: 'gold' } })).toBe(false);
    expect(selects(s, { namespace: 'team-b', release: 'milvus-2' })).toBe(false);
    // A dot in a name is not "any character".
    expect(selects(parseSelector('*/a-b'), { namespace: 'x', release: 'a-b' })).toBe(true);
    expect(selects(parseSelector('*/*'), { namespace: 'x', release: 'y' })).toBe(true);
  });

  it('refuses what is not a selector, with the right form', () => {
    for (const bad of ['team-*', 'a/b/c', 'Team/*', 'team/[ab]', '*/mil vus', '']) expect(() => parseSelector(bad), bad).toThrow(/is not a fleet selector/);
    expect(() => parseSelector('*/*', ['tier'])).toThrow('"tier" is not a label condition');
    expect(() => parseSelector('*/*', ['=gold'])).toThrow(/is not a label condition/);
  });
});

describe('waves', () => {
  it('1,25%,100% over 20 releases: the canary, then up to 5, then the rest; empty waves dropped', () => {
    const marks = parseWaves('1,25%,100%');
    expect(waveSizes(marks, 20)).toEqual([1, 4, 15]);
    expect(waveSizes(marks, 4)).toEqual([1, 3]);
    expect(waveSizes(marks, 1)).toEqual([1]);
    expect(waveSizes(marks, 0)).toEqual([]);
    expect(waveSizes(parseWaves('1,50%,100%'), 6)).toEqual([1, 2, 3]);
    expect(waveSizes(parseWaves('100%'), 6)).toEqual([6]);
  });

  it('waves that do not add up are refused at once', () => {
    expect(() => parseWaves('1,25%')).toThrow('the waves 1,25% do not end at 100%: some releases would never run');
    expect(() => parseWaves('50%,25%,100%')).toThrow(/do not grow \(50% then 25%\)/);
    expect(() => parseWaves('3,2,100%')).toThrow(/do not grow \(3 then 2\)/);
    expect(() => parseWaves('1,0%,100%')).toThrow('"0%" is not a share between 1% and 100%');
    expect(() => parseWaves('1,x,100%')).toThrow('"x" is not a number of releases or a share');
    expect(() => parseWaves('0,100%')).toThrow(/is not a number of releases/);
  });

  it('the canary is the smallest by data when Milvus was read, else the first by name; the rest by name', () => {
    const m = (namespace: string, release: string, rows: number | null) => ({ cluster: 'prod', namespace, release, rows });
    const fleet = [m('team-b', 'milvus-1', 5000), m('team-a', 'milvus-2', 10), m('team-a', 'milvus-1', null), m('team-b', 'milvus-2', 9)];
    expect(waveOrder(fleet).map((x) => `${x.namespace}/${x.release}`)).toEqual(['team-b/milvus-2', 'team-a/milvus-1', 'team-a/milvus-2', 'team-b/milvus-1']);
    expect(waveOrder(fleet.map((x) => ({ ...x, rows: null })))[0]).toMatchObject({ namespace: 'team-a', release: 'milvus-1' });
    expect(intoWaves(fleet, parseWaves('1,50%,100%')).map((w) => w.map((x) => `${x.namespace}/${x.release}`))).toEqual([
      ['team-b/milvus-2'],
      ['team-a/milvus-1'],
      ['team-a/milvus-2', 'team-b/milvus-1'],
    ]);
    expect(intoWaves([], parseWaves('1,100%'))).toEqual([]);
  });
});

describe('a fleet plan', () => {
  const releases = [
    { name: 'milvus-a', namespace: 'team-x', chart: 'milvus-4.2.58', chartVersion: '4.2.58' },
    { name: 'milvus-b', namespace: 'team-x', chart: 'milvus-4.2.20', chartVersion: '4.2.20' },
    { name: 'milvus-c', namespace: 'team-y', chart: 'milvus-4.2.58', chartVersion: '4.2.58' },
    { name: 'redis', namespace: 'team-y', chart: 'redis-1.0.0', chartVersion: '1.0.0' },
    { name: 'other', namespace: 'ops', chart: 'milvus-4.2.58', chartVersion: '4.2.58' },
  ];
  const plan = (release: string, rows: number | null, hops: string[] = []) =>
    ({ id: `p/${release}`, from: '2.5.16', to: '2.6.15', path: 'helm', hops: hops.map((to) => ({ to })), data: rows === null ? undefined : { snapshot: { collections: [{ rowCount: rows }] } } }) as unknown as Plan;

  it('names the Milvus releases the selector takes, or refuses at once naming what there is', () => {
    expect(fleetMembers('prod', releases, parseSelector('team-*/milvus-*')).map((m) => `${m.namespace}/${m.release}`)).toEqual(['team-x/milvus-a', 'team-x/milvus-b', 'team-y/milvus-c']);
    expect(() => fleetMembers('prod', releases, parseSelector('tema-*/*'))).toThrow('the selector tema-*/* names no Milvus release in prod');
  });

  it('plans each on its own; the refused are listed with their reason and left out; the rest in waves, the canary first', async () => {
    const members = fleetMembers('prod', releases, parseSelector('team-*/milvus-*'));
    const f = await planFleet({ version: '2.6.15', selector: 'team-*/milvus-*', marks: parseWaves('1,100%'), maxInFlight: 2 }, members, async (m) => {
      if (m.release === 'milvus-b') throw new InputError('milvus-b would lose its Pulsar bookie', ['--allow-data-changes']);
      return plan(m.release, m.release === 'milvus-c' ? 10 : 5000, m.release === 'milvus-a' ? ['2.6.15'] : []);
    });
    expect(fleetPlanJson(f)).toEqual({
      version: '2.6.15',
      selector: 'team-*/milvus-*',
      maxInFlight: 2,
      waves: [
        { releases: [{ cluster: 'prod', namespace: 'team-y', release: 'milvus-c', from: '2.5.16', to: '2.6.15', path: 'helm', route: ['2.5.16', '2.6.15'], rows: 10, planId: 'p/milvus-c' }] },
        { releases: [{ cluster: 'prod', namespace: 'team-x', release: 'milvus-a', from: '2.5.16', to: '2.6.15', path: 'helm', route: ['2.5.16', '2.6.15'], rows: 5000, planId: 'p/milvus-a' }] },
      ],
      refused: [{ cluster: 'prod', namespace: 'team-x', release: 'milvus-b', reason: 'milvus-b would lose its Pulsar bookie\n  - --allow-data-changes' }],
    });
    expect(fleetPlanText(f)).toMatch(/wave 1 \(canary\):\n {4}prod\/team-y\/milvus-c: 2\.5\.16 -> 2\.6\.15 by helm, 10 rows[\s\S]*refused \(left out; the others go on\):\n {4}prod\/team-x\/milvus-b: milvus-b would lose its Pulsar bookie$/);
  });
});

describe('/milvus fleet plan', () => {
  it('parses, and answers bad input with the form', () => {
    expect(parseCommand('fleet plan 2.6.15 --select team-*/milvus-* --waves 1,25%,100% -c prod')).toMatchObject({ name: 'fleet', action: 'plan', version: '2.6.15', selector: { namespace: 'team-*', release: 'milvus-*' }, waves: '1,25%,100%', cluster: 'prod' });
    expect(parseCommand('fleet plan 2.6.15 --select */*')).toMatchObject({ waves: '1,100%' });
    expect(parseCommand('fleet upgrade 2.6.15 --select */* --max-in-flight 3')).toMatchObject({ action: 'upgrade', maxInFlight: 3, waves: '1,100%' });
    expect(parseCommand('fleet plan 2.6.15 --select */*')).toMatchObject({ maxInFlight: 5 });
    expect(() => parseCommand('fleet deploy 2.6.15 --select */*')).toThrow('unknown fleet action "deploy" (plan, upgrade or status)');
    expect(parseCommand('fleet plan 2.6.15 --select */* -l tier=gold,env=prod')).toMatchObject({ selector: { labels: { tier: 'gold', env: 'prod' }, text: '*/* -l tier=gold,env=prod' } });
    expect(() => parseCommand('fleet plan 2.6.15 --select */* -l tier')).toThrow('"tier" is not a label condition');
    expect(parseCommand('fleet status')).toEqual({ name: 'fleet', action: 'status' });
    expect(parseCommand('fleet status fleet-12')).toEqual({ name: 'fleet', action: 'status', id: 'fleet-12' });
    expect(() => parseCommand('fleet status req-12')).toThrow('"req-12" is not a fleet id');
    expect(() => parseCommand('fleet upgrade 2.6.15 --select */* --max-in-flight 0')).toThrow('--max-in-flight "0" is not a number from 1 to 100');
    expect(() => parseCommand('fleet upgrade 2.6.15 --select */* --max-in-flight lots')).toThrow(/is not a number from 1 to 100/);
    expect(() => parseCommand('fleet plan 2.6.15')).toThrow('missing --select');
    expect(() => parseCommand('fleet plan --select */*')).toThrow(/missing the version/);
    expect(() => parseCommand('fleet plan 2.6.15 --select */* --waves 1,50%')).toThrow(/do not end at 100%/);
    expect(() => parseCommand('fleet plan 2.6.15 --select team')).toThrow(/is not a fleet selector/);
    expect(() => parseCommand('fleet plan 2.6.15 --select */* -n ns')).toThrow('namespace does not apply to fleet');
  });
});

describe('a release\'s own labels', () => {
  it('are the labels of its helm Secret without helm\'s bookkeeping ones', async () => {
    const { ownLabels } = await import('../../src/cluster/helm-storage.js');
    expect(ownLabels({ name: 'm', owner: 'helm', status: 'deployed', version: '3', modifiedAt: '1', createdAt: '1', tier: 'gold' })).toEqual({ tier: 'gold' });
  });
});
