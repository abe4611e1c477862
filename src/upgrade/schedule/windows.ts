/**
 * Maintenance windows (issue 28): weekly, in a time zone, as a change calendar writes them:
 * `Sat 02:00-05:00 Europe/Paris`, `Mon-Fri 22:00-02:00 UTC` (past midnight: ends the next day),
 * `Sat,Sun 01:00-04:00 America/New_York`, `daily 03:00-04:00 Asia/Tokyo`. Pure: times are
 * milliseconds since the epoch, computed with luxon over the IANA zones Node's Intl carries, so a
 * window keeps its wall-clock times across daylight-saving changes:
 * - a start that does not exist that day (clocks jump forward over it) moves to the first minute
 *   that does (02:00 on the last Sunday of March in Paris starts at 03:00 CEST);
 * - a time that exists twice (clocks fall back) is its first occurrence (the earlier offset).
 * A window is therefore an hour shorter or longer on those days, as the wall clock says.
 */
import { DateTime, IANAZone } from 'luxon';
import { InputError, showInput } from '../errors.js';

export interface WeeklyWindow {
  /** As written, for messages. */
  readonly text: string;
  /** ISO weekdays the window starts on: 1 Monday ... 7 Sunday. */
  readonly days: readonly number[];
  readonly start: { readonly hour: number; readonly minute: number };
  readonly end: { readonly hour: number; readonly minute: number };
  /** IANA time zone, e.g. Europe/Paris. */
  readonly zone: string;
}

/** One opening of a window: [start, end) in ms. */
export interface Occurrence {
  readonly start: number;
  readonly end: number;
  readonly window: WeeklyWindow;
}

const DAYS: Readonly<Record<string, number>> = { mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6, sun: 7 };
const FORM = 'write a window like "Sat 02:00-05:00 Europe/Paris" (days: Mon..Sun, Mon-Fri, Sat,Sun or daily; 24-hour times; an IANA time zone)';

function parseDays(text: string): number[] {
  if (text.toLowerCase() === 'daily') return [1, 2, 3, 4, 5, 6, 7];
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [a, b, ...rest] = part.toLowerCase().split('-');
    const from = DAYS[a ?? ''];
    const to = b === undefined ? from : DAYS[b];
    if (from === undefined || to === undefined || rest.length > 0) throw new InputError(`"${showInput(part, 20)}" is not a day or a range of days`, [FORM]);
    // Fri-Mon wraps over the weekend.
    for (let d = from, n = 0; n < 7; d = (d % 7) + 1, n++) {
      out.add(d);
      if (d === to) break;
    }
  }
  return [...out].sort((x, y) => x - y);
}

function parseTime(text: string): { hour: number; minute: number } {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text);
  const hour = m ? Number(m[1]) : NaN;
  const minute = m ? Number(m[2]) : NaN;
  // 24:00 ends a day.
  if (!m || minute > 59 || hour > 24 || (hour === 24 && minute !== 0)) throw new InputError(`"${showInput(text, 10)}" is not a time of day`, [FORM]);
  return { hour, minute };
}

export function parseWindow(text: string): WeeklyWindow {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 3) throw new InputError(`"${showInput(text, 60)}" is not a maintenance window`, [FORM]);
  const [days, times, zone] = parts as [string, string, string];
  const [from, to, ...more] = times.split('-');
  if (from === undefined || to === undefined || more.length > 0) throw new InputError(`"${showInput(times, 20)}" is not a time range`, [FORM]);
  if (!IANAZone.isValidZone(zone)) throw new InputError(`"${showInput(zone, 40)}" is not an IANA time zone`, [FORM, 'e.g. Europe/Paris, America/New_York, UTC']);
  const start = parseTime(from);
  const end = parseTime(to);
  if (start.hour === 24) throw new InputError(`a window cannot start at 24:00`, [FORM]);
  if (start.hour === end.hour && start.minute === end.minute) throw new InputError(`"${showInput(text, 60)}" opens and closes at the same time`, [FORM]);
  return { text: text.trim(), days: parseDays(days), start, end, zone };
}

/** The opening of `w` that starts on the local date of `day` (a DateTime in w's zone), or null when w does not open that weekday. */
function openingOn(w: WeeklyWindow, day: DateTime): Occurrence | null {
  if (!w.days.includes(day.weekday)) return null;
  const at = (t: { hour: number; minute: number }, plusDays: number) =>
    day.plus({ days: plusDays }).set({ hour: t.hour === 24 ? 0 : t.hour, minute: t.minute, second: 0, millisecond: 0 }).plus({ days: t.hour === 24 ? 1 : 0 });
  const startsAt = at(w.start, 0);
  const crossesMidnight = w.end.hour * 60 + w.end.minute <= w.start.hour * 60 + w.start.minute;
  const endsAt = at(w.end, crossesMidnight ? 1 : 0);
  return { start: startsAt.toMillis(), end: endsAt.toMillis(), window: w };
}

/** Every opening of `w` that ends after `from`, in order, for `days` days ahead (one a day at most). */
export function openings(w: WeeklyWindow, from: number, days = 8): Occurrence[] {
  // From the day before: an opening past midnight that began yesterday may still be open.
  const first = DateTime.fromMillis(from, { zone: w.zone }).startOf('day').minus({ days: 1 });
  const out: Occurrence[] = [];
  for (let i = 0; i <= days + 1; i++) {
    const o = openingOn(w, first.plus({ days: i }));
    if (o && o.end > from && o.end > o.start) out.push(o);
  }
  return out;
}

/** The opening of any of `windows` under way at `t`, the one open longest after t; null when none is. */
export function openAt(windows: readonly WeeklyWindow[], t: number): Occurrence | null {
  const open = windows.flatMap((w) => openings(w, t, 1)).filter((o) => o.start <= t && t < o.end);
  return open.sort((a, b) => b.end - a.end)[0] ?? null;
}

/** How a person reads a moment in a window's zone: `Sat 7 Dec 02:00 CET`. */
export function localText(t: number, zone: string): string {
  return DateTime.fromMillis(t, { zone }).setLocale('en-GB').toFormat('ccc d LLL HH:mm ZZZZ');
}
