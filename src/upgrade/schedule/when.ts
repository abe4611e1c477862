/**
 * When an approved change may run (issue 28): now, or at the start of the next maintenance
 * window it fits in, or not while a freeze holds. Pure: `now` and the expected duration come in.
 *
 * The rule: a run starts at the first moment s >= now such that
 * - no freeze covers any part of [s, s + expected) (a run never starts into a freeze);
 * - when windows apply, s is inside an opening and the opening lasts until s + expected (a hop
 *   that would overrun waits for the next opening it fits in).
 * Without windows and freezes that is now. A freeze in `refuse` mode ends the question: the
 * request is refused, saying until when.
 */
import { DateTime } from 'luxon';
import { InputError, showInput } from '../errors.js';
import { localText, openings, type Occurrence, type WeeklyWindow } from './windows.js';

export interface Freeze {
  readonly from: number;
  readonly to: number;
  readonly reason: string;
  /** hold: runs wait until it ends; refuse: new runs are refused while it lasts. */
  readonly mode: 'hold' | 'refuse';
}

export type RunSlot =
  /** Runs now; `closes`: when the window it runs in closes (null: no window applies). */
  | { readonly kind: 'now'; readonly closes: number | null }
  /** Waits: runs at `at`, for this reason (the window it waits for, or the freeze it waits out). */
  | { readonly kind: 'later'; readonly at: number; readonly why: string; readonly opening: Occurrence | null }
  /** A freeze in refuse mode covers now (or the run's time): refused. */
  | { readonly kind: 'refused'; readonly why: string; readonly until: number }
  /** No opening long enough within the horizon. */
  | { readonly kind: 'never'; readonly why: string };

/** How far ahead a slot is searched: a year of weekly openings. */
const HORIZON_DAYS = 370;

/** `2026-12-20T00:00:00+01:00`, or with a zone: `2026-12-20T00:00 Europe/Paris`. */
export function parseInstant(text: string): number {
  const [iso, zone] = text.trim().split(/\s+/);
  const t = zone ? DateTime.fromISO(iso ?? '', { zone }) : DateTime.fromISO(iso ?? '', { setZone: true });
  // Without a zone or an offset the moment would depend on the machine: refused.
  const explicit = zone !== undefined || /(?:Z|[+-]\d{2}:?\d{2})$/.test(iso ?? '');
  if (!t.isValid || !explicit) {
    throw new InputError(`"${showInput(text, 50)}" is not a moment in time`, ['write it with an offset or a zone: 2026-12-20T00:00:00+01:00 or 2026-12-20T00:00 Europe/Paris']);
  }
  return t.toMillis();
}

export function parseFreeze(f: { readonly from: string; readonly to: string; readonly reason: string; readonly mode?: 'hold' | 'refuse' }): Freeze {
  const from = parseInstant(f.from);
  const to = parseInstant(f.to);
  if (to <= from) throw new InputError(`the freeze "${showInput(f.reason, 40)}" ends before it begins (${f.from} -> ${f.to})`);
  return { from, to, reason: f.reason, mode: f.mode ?? 'hold' };
}

const overlaps = (f: Freeze, s: number, e: number) => f.from < e && s < f.to;

export function whenToRun(windows: readonly WeeklyWindow[], freezes: readonly Freeze[], now: number, expectedSeconds: number): RunSlot {
  const need = Math.max(0, expectedSeconds) * 1000;
  const refusing = freezes.find((f) => f.mode === 'refuse' && overlaps(f, now, now + Math.max(need, 1)));
  if (refusing) return { kind: 'refused', why: `frozen until ${new Date(refusing.to).toISOString()}: ${refusing.reason}`, until: refusing.to };
  const opens = windows.flatMap((w) => openings(w, now, HORIZON_DAYS)).sort((a, b) => a.start - b.start);
  // The moments a run could start: now, each opening's start, each freeze's end.
  const candidates = [now, ...opens.map((o) => o.start), ...freezes.map((f) => f.to)].filter((t) => t >= now).sort((a, b) => a - b);
  for (const s of candidates) {
    const frozen = freezes.find((f) => overlaps(f, s, s + Math.max(need, 1)));
    if (frozen) {
      if (frozen.mode === 'refuse') return { kind: 'refused', why: `frozen until ${new Date(frozen.to).toISOString()}: ${frozen.reason}`, until: frozen.to };
      continue;
    }
    if (windows.length === 0) {
      return s === now ? { kind: 'now', closes: null } : { kind: 'later', at: s, why: `after the freeze: ${freezes.find((f) => f.to === s)?.reason ?? ''}`, opening: null };
    }
    const opening = opens.find((o) => o.start <= s && s + need <= o.end);
    if (!opening) continue;
    if (s === now) return { kind: 'now', closes: opening.end };
    const heldBy = freezes.find((f) => f.to === s);
    return {
      kind: 'later',
      at: s,
      why: heldBy ? `after the freeze (${heldBy.reason}), in the window ${opening.window.text}` : `the next opening of ${opening.window.text} it fits in (${Math.ceil(need / 60000)} min expected)`,
      opening,
    };
  }
  return { kind: 'never', why: `no opening of ${windows.map((w) => w.text).join(', ') || 'any window'} lasts ${Math.ceil(need / 60000)} min outside the freezes within ${HORIZON_DAYS} days` };
}

/** The slot in words: `runs now (window closes Sat 7 Dec 05:00 CET)`, `runs Sat 14 Dec 02:00 CET: ...`. */
export function slotText(slot: RunSlot, zone: string): string {
  switch (slot.kind) {
    case 'now':
      return slot.closes === null ? 'runs now' : `runs now (the window closes ${localText(slot.closes, zone)})`;
    case 'later':
      return `runs ${localText(slot.at, slot.opening?.window.zone ?? zone)}: ${slot.why}`;
    case 'refused':
      return `refused: ${slot.why}`;
    case 'never':
      return `cannot run: ${slot.why}`;
  }
}
