import { describe, expect, it } from 'vitest';
import { localText, openAt, openings, parseWindow } from '../../src/upgrade/schedule/windows.js';
import { parseFreeze, parseInstant, slotText, whenToRun } from '../../src/upgrade/schedule/when.js';
import { parseSchedulePolicy, scheduleFor } from '../../src/upgrade/schedule/policy.js';

const utc = (s: string) => Date.parse(s);
const iso = (t: number) => new Date(t).toISOString();
const SAT = parseWindow('Sat 02:00-05:00 Europe/Paris');

describe('maintenance windows (issue 28)', () => {
  it('parses the forms a change calendar uses, and refuses the rest with the right form', () => {
    expect(parseWindow('Mon-Fri 22:00-02:00 UTC')).toMatchObject({ days: [1, 2, 3, 4, 5], start: { hour: 22, minute: 0 }, end: { hour: 2, minute: 0 }, zone: 'UTC' });
    expect(parseWindow('Sat,Sun 01:00-04:30 America/New_York').days).toEqual([6, 7]);
    expect(parseWindow('Fri-Mon 00:00-24:00 Asia/Tokyo').days).toEqual([1, 5, 6, 7]);
    expect(parseWindow('daily 03:00-04:00 Asia/Tokyo').days).toHaveLength(7);
    expect(() => parseWindow('Sat 02:00-05:00')).toThrow('"Sat 02:00-05:00" is not a maintenance window');
    expect(() => parseWindow('Sat 02:00-05:00 Europe/Pariss')).toThrow('"Europe/Pariss" is not an IANA time zone');
    expect(() => parseWindow('Satur 02:00-05:00 UTC')).toThrow('"Satur" is not a day or a range of days');
    expect(() => parseWindow('Sat 2:00-25:00 UTC')).toThrow('"25:00" is not a time of day');
    expect(() => parseWindow('Sat 02:00-02:00 UTC')).toThrow(/opens and closes at the same time/);
  });

  it('opens at the wall-clock time of its zone, winter and summer alike', () => {
    // Saturday 2027-01-09 (CET, UTC+1) and 2027-07-10 (CEST, UTC+2).
    expect(openings(SAT, utc('2027-01-08T12:00:00Z'), 2).map((o) => [iso(o.start), iso(o.end)])).toEqual([['2027-01-09T01:00:00.000Z', '2027-01-09T04:00:00.000Z']]);
    expect(openings(SAT, utc('2027-07-09T12:00:00Z'), 2).map((o) => [iso(o.start), iso(o.end)])).toEqual([['2027-07-10T00:00:00.000Z', '2027-07-10T03:00:00.000Z']]);
    expect(localText(utc('2027-01-09T01:00:00Z'), 'Europe/Paris')).toBe('Sat 9 Jan 02:00 CET');
  });

  it('across the spring change: a start that does not exist moves to the first minute that does (a shorter window)', () => {
    // Sunday 2027-03-28, Paris: 02:00 CET jumps to 03:00 CEST.
    const sun = parseWindow('Sun 02:00-05:00 Europe/Paris');
    const [o] = openings(sun, utc('2027-03-27T12:00:00Z'), 1);
    expect([iso(o!.start), iso(o!.end)]).toEqual(['2027-03-28T01:00:00.000Z', '2027-03-28T03:00:00.000Z']);
    expect((o!.end - o!.start) / 3_600_000).toBe(2);
  });

  it('across the autumn change: an hour that exists twice is its first (a longer window)', () => {
    // Sunday 2027-10-31, Paris: 03:00 CEST falls back to 02:00 CET.
    const sun = parseWindow('Sun 02:00-05:00 Europe/Paris');
    const [o] = openings(sun, utc('2027-10-30T12:00:00Z'), 1);
    expect([iso(o!.start), iso(o!.end)]).toEqual(['2027-10-31T00:00:00.000Z', '2027-10-31T04:00:00.000Z']);
    // New York changes on other dates: a window there keeps its own wall clock (2027-11-07).
    const ny = parseWindow('Sun 01:00-03:00 America/New_York');
    const [n] = openings(ny, utc('2027-11-06T12:00:00Z'), 1);
    expect([iso(n!.start), iso(n!.end)]).toEqual(['2027-11-07T05:00:00.000Z', '2027-11-07T08:00:00.000Z']);
  });

  it('a window past midnight is open on the next day, and openAt finds it', () => {
    const night = parseWindow('Fri 22:00-02:00 UTC');
    expect(openAt([night], utc('2027-01-09T01:30:00Z'))).toMatchObject({ start: utc('2027-01-08T22:00:00Z'), end: utc('2027-01-09T02:00:00Z') });
    expect(openAt([night], utc('2027-01-09T02:00:00Z'))).toBeNull();
  });
});

describe('when an approved change runs', () => {
  const hour = 3600;
  it('approved at 01:00 local before a 02:00 window: runs at 02:00; inside it, now; a hop that would overrun waits for the next one', () => {
    const at0100 = utc('2027-01-09T00:00:00Z'); // Sat 01:00 CET
    expect(whenToRun([SAT], [], at0100, hour)).toMatchObject({ kind: 'later', at: utc('2027-01-09T01:00:00Z') });
    expect(slotText(whenToRun([SAT], [], at0100, hour), 'Europe/Paris')).toBe('runs Sat 9 Jan 02:00 CET: the next opening of Sat 02:00-05:00 Europe/Paris it fits in (60 min expected)');
    const at0300 = utc('2027-01-09T02:00:00Z');
    expect(whenToRun([SAT], [], at0300, hour)).toEqual({ kind: 'now', closes: utc('2027-01-09T04:00:00Z') });
    // At 04:30 a one-hour hop no longer fits: the next Saturday.
    expect(whenToRun([SAT], [], utc('2027-01-09T03:30:00Z'), hour)).toMatchObject({ kind: 'later', at: utc('2027-01-16T01:00:00Z') });
    expect(whenToRun([SAT], [], at0100, 4 * hour)).toMatchObject({ kind: 'never' });
    expect(whenToRun([], [], at0100, hour)).toEqual({ kind: 'now', closes: null });
  });

  it('a freeze holds runs until it ends (then the next window they fit in), or refuses them and says until when', () => {
    const freeze = parseFreeze({ from: '2027-01-01T00:00 Europe/Paris', to: '2027-01-12T00:00 Europe/Paris', reason: 'year-end freeze' });
    const sat9 = utc('2027-01-09T00:00:00Z');
    expect(whenToRun([SAT], [freeze], sat9, 3600)).toMatchObject({ kind: 'later', at: utc('2027-01-16T01:00:00Z') });
    expect(whenToRun([], [freeze], sat9, 3600)).toMatchObject({ kind: 'later', at: utc('2027-01-11T23:00:00Z'), why: 'after the freeze: year-end freeze' });
    // A run that would reach into a freeze waits too.
    expect(whenToRun([], [freeze], utc('2026-12-31T22:30:00Z'), 3600)).toMatchObject({ kind: 'later', at: utc('2027-01-11T23:00:00Z') });
    const refusing = { ...freeze, mode: 'refuse' as const };
    expect(whenToRun([SAT], [refusing], sat9, 3600)).toEqual({ kind: 'refused', why: 'frozen until 2027-01-11T23:00:00.000Z: year-end freeze', until: Date.parse('2027-01-11T23:00:00.000Z') });
    // A refusing freeze ahead: the next opening falls in it, so the run is refused, not moved past it.
    const ahead = parseFreeze({ from: '2027-01-15T00:00Z', to: '2027-01-20T00:00Z', reason: 'audit week', mode: 'refuse' });
    expect(whenToRun([SAT], [ahead], utc('2027-01-09T05:00:00Z'), 3600)).toEqual({ kind: 'refused', why: 'frozen until 2027-01-20T00:00:00.000Z: audit week', until: Date.parse('2027-01-20T00:00:00.000Z') });
    expect(() => parseFreeze({ from: '2027-01-02T00:00Z', to: '2027-01-01T00:00Z', reason: 'x' })).toThrow(/ends before it begins/);
    expect(() => parseInstant('2027-01-02T00:00')).toThrow('"2027-01-02T00:00" is not a moment in time');
    expect(parseInstant('2027-01-02T00:00:00+01:00')).toBe(utc('2027-01-01T23:00:00Z'));
  });
});

describe('the policy file\'s windows and freezes', () => {
  const policy = parseSchedulePolicy({
    rules: [],
    windows: [
      { weekly: ['daily 01:00-02:00 UTC'] },
      { namespaces: ['team-a'], weekly: ['Sat 02:00-05:00 Europe/Paris'] },
      { namespaces: ['team-a'], releases: ['vip'], weekly: ['Sun 03:00-04:00 Europe/Paris'] },
    ],
    freezes: [{ namespaces: ['team-b'], from: '2027-01-01T00:00Z', to: '2027-01-02T00:00Z', reason: 'audit', mode: 'refuse' }],
  });
  it('the most specific window rules apply; every matching freeze applies', () => {
    const t = (namespace: string, release: string) => ({ cluster: 'prod', namespace, release });
    expect(scheduleFor(policy, t('team-a', 'vip')).windows.map((w) => w.text)).toEqual(['Sun 03:00-04:00 Europe/Paris']);
    expect(scheduleFor(policy, t('team-a', 'other')).windows.map((w) => w.text)).toEqual(['Sat 02:00-05:00 Europe/Paris']);
    expect(scheduleFor(policy, t('team-b', 'x')).windows.map((w) => w.text)).toEqual(['daily 01:00-02:00 UTC']);
    expect(scheduleFor(policy, t('team-b', 'x')).freezes.map((f) => f.reason)).toEqual(['audit']);
    expect(scheduleFor(parseSchedulePolicy({ rules: [] }), t('a', 'b'))).toEqual({ windows: [], freezes: [] });
  });

  it('a window or freeze that cannot parse is refused, naming where', () => {
    expect(() => parseSchedulePolicy({ windows: [{ weekly: ['Sat 02:00-05:00 Mars/Olympus'] }] }, 'access.yaml')).toThrow('access.yaml: windows[0]: "Mars/Olympus" is not an IANA time zone');
    expect(() => parseSchedulePolicy({ windows: [{ weekly: [] }] }, 'access.yaml')).toThrow(/access\.yaml: windows\.0\.weekly/);
    expect(() => parseSchedulePolicy({ freezes: [{ from: '2027-01-01T00:00Z', to: '2027-01-02T00:00Z' }] }, 'access.yaml')).toThrow(/freezes\.0\.reason/);
  });
});
