import { describe, expect, it } from 'vitest';
import { parseSelector, selects } from '../../src/upgrade/fleet/selector.js';
import { intoWaves, parseWaves, waveOrder, waveSizes } from '../../src/upgrade/fleet/waves.js';

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
