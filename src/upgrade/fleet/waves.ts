/**
 * A fleet in waves (issue 28): `--waves 1,25%,100%` says how far the fleet has got after each
 * wave, as a count or a share of the releases that will run (the refused are left out first).
 * The first wave is the canary: by default one release, the smallest by data when Milvus was
 * read (its rows), else the first by name. Pure.
 */
import { InputError, showInput } from '../errors.js';

export type WaveMark = { readonly count: number } | { readonly percent: number };

export const DEFAULT_WAVES = '1,100%';
const FORM = 'write waves like 1,25%,100%: how many releases (or what share) are done after each wave, growing, the last 100%';

export function parseWaves(text: string): WaveMark[] {
  const marks = text.split(',').map((part): WaveMark => {
    const p = part.trim();
    const percent = /^(\d{1,3})%$/.exec(p);
    if (percent) {
      const n = Number(percent[1]);
      if (n < 1 || n > 100) throw new InputError(`"${showInput(p, 10)}" is not a share between 1% and 100%`, [FORM]);
      return { percent: n };
    }
    if (!/^\d{1,5}$/.test(p) || Number(p) < 1) throw new InputError(`"${showInput(p, 10)}" is not a number of releases or a share`, [FORM]);
    return { count: Number(p) };
  });
  const last = marks[marks.length - 1];
  if (!last || !('percent' in last) || last.percent !== 100) throw new InputError(`the waves ${showInput(text, 40)} do not end at 100%: some releases would never run`, [FORM]);
  // Shares grow, counts grow: a mark below the one before it is a typo, not a plan.
  for (let i = 1; i < marks.length; i++) {
    const [a, b] = [marks[i - 1]!, marks[i]!];
    if ('percent' in a && 'percent' in b && b.percent <= a.percent) throw new InputError(`the waves ${showInput(text, 40)} do not grow (${a.percent}% then ${b.percent}%)`, [FORM]);
    if ('count' in a && 'count' in b && b.count <= a.count) throw new InputError(`the waves ${showInput(text, 40)} do not grow (${a.count} then ${b.count})`, [FORM]);
  }
  return marks;
}

/** How many releases each wave runs, for `n` releases: empty waves dropped, the sum is n. */
export function waveSizes(marks: readonly WaveMark[], n: number): number[] {
  const sizes: number[] = [];
  let done = 0;
  for (const m of marks) {
    const upTo = Math.min(n, 'count' in m ? m.count : Math.ceil((m.percent / 100) * n));
    if (upTo > done) {
      sizes.push(upTo - done);
      done = upTo;
    }
  }
  return sizes;
}

export interface FleetMember {
  readonly cluster: string;
  readonly namespace: string;
  readonly release: string;
  /** Rows Milvus holds (the data snapshot), null when it was not read. */
  readonly rows: number | null;
}

/**
 * The members in the order the waves take them: the canary first (the smallest by data among
 * those read, else the first by name), then by cluster, namespace and name, so a wave's contents
 * do not depend on the order the clusters answered.
 */
export function waveOrder<T extends FleetMember>(members: readonly T[]): T[] {
  const byName = [...members].sort((a, b) => `${a.cluster}/${a.namespace}/${a.release}`.localeCompare(`${b.cluster}/${b.namespace}/${b.release}`));
  const read = byName.filter((m) => m.rows !== null);
  const canary = read.length > 0 ? read.reduce((min, m) => (m.rows! < min.rows! ? m : min)) : byName[0];
  return canary ? [canary, ...byName.filter((m) => m !== canary)] : [];
}

/** The members cut into waves by the marks. */
export function intoWaves<T extends FleetMember>(members: readonly T[], marks: readonly WaveMark[]): T[][] {
  const ordered = waveOrder(members);
  const waves: T[][] = [];
  let at = 0;
  for (const size of waveSizes(marks, ordered.length)) {
    waves.push(ordered.slice(at, at + size));
    at += size;
  }
  return waves;
}
