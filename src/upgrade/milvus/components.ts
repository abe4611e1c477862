/**
 * Milvus's components and the shifts of its architecture, as data (as zilliztech/milvus-operator
 * keeps one dependency graph per era). Rolling, ordered helm, route prediction and rollbacks
 * (reversed) all read rollOrder: a new era is a new record here, not new code in four files.
 */
import { compareChartVersions } from './charts.js';
import { compareVersions, FIRST_26, parseVersion, tryParseVersion, type MilvusVersion } from './version.js';

/**
 * Every component, in the order a rolling upgrade takes them: rollingUpdate.sh's order, with
 * mixcoord and streamingnode added where they belong. The chart gives other workloads (Attu,
 * CDC) the same labels: only these names are Milvus's.
 */
export const COMPONENTS = [
  'mixcoord',
  'rootcoord',
  'datacoord',
  'indexcoord',
  'querycoord',
  'indexnode',
  'datanode',
  'streamingnode',
  'querynode',
  'proxy',
  'standalone',
] as const;

/** A change of Milvus's architecture that an upgrade makes: components go, others come. */
export interface Shift {
  readonly removes: readonly string[];
  readonly adds: readonly string[];
  /** The `--set` values that make it on a helm upgrade, in the order the docs write them. */
  readonly set: Readonly<Record<string, string>>;
  /** The chart version that makes it by default (from an older chart); null: only by `set`. */
  readonly defaultFromChart: string | null;
  /** The earliest Milvus version a release may make it from; null: any. */
  readonly from: MilvusVersion | null;
  /** The order Milvus's guide gives for rolling through it; empty: the rolling order. */
  readonly order: readonly string[];
  /** Components started one right after the other and waited for together (the first needs the second to become healthy). */
  readonly startTogether: readonly (readonly string[])[];
  /** The removed components stay until every other component has rolled (the ordered path keeps them through helm). */
  readonly removeLast: boolean;
}

/** One mixcoord instead of the four coordinators (chart 4.2.4 on by default; required before 2.6). */
export const MIXCOORD = {
  removes: ['rootcoord', 'datacoord', 'querycoord', 'indexcoord'],
  adds: ['mixcoord'],
  set: Object.freeze({
    'mixCoordinator.enabled': 'true',
    'rootCoordinator.enabled': 'false',
    'indexCoordinator.enabled': 'false',
    'queryCoordinator.enabled': 'false',
    'dataCoordinator.enabled': 'false',
  }),
  defaultFromChart: '4.2.4',
  from: null,
  order: [],
  startTogether: [],
  removeLast: false,
} satisfies Shift;

/** Into the 2.6 line (SPEC §9): streamingnode comes, indexnode goes; only from 2.5.16 with mixcoord. */
export const INTO_26 = {
  removes: ['indexnode'],
  adds: ['streamingnode'],
  // The 2.6 docs set these explicitly: --reset-then-reuse-values could carry an older choice.
  set: Object.freeze({ 'streaming.enabled': 'true', 'indexNode.enabled': 'false' }),
  defaultFromChart: null,
  from: parseVersion('2.5.16'),
  // Milvus's guide for 2.5 -> 2.6 (milvus-io/milvus#42492: a 2.6 proxy before the old querynodes are gone times out).
  order: ['streamingnode', 'mixcoord', 'querynode', 'datanode', 'proxy'],
  // A 2.6 streamingnode does not become healthy before a 2.6 mixcoord (zilliztech/milvus-operator#446):
  // first in the guide's order, it is started first and waited for with mixcoord.
  startTogether: [['streamingnode', 'mixcoord']],
  // Milvus's 2.6 upgrade blog removes indexnode last, after proxy (SPEC §9).
  removeLast: true,
} satisfies Shift;

/** Every shift, oldest first: the order they apply in when one upgrade makes several. */
export const SHIFTS: readonly Shift[] = [MIXCOORD, INTO_26];

export const COORDINATORS: readonly string[] = [...MIXCOORD.removes, ...MIXCOORD.adds];
/** What the Milvus 2.6 docs set on the 2.5.16 hop. */
export const MIXCOORD_FLAGS = MIXCOORD.set;

/** The coordinators' sections of Milvus's config that take `enableActiveStandby` (rollingUpdate.sh turns it on there). */
export const ACTIVE_STANDBY_SECTIONS = ['rootCoord', 'queryCoord', 'dataCoord', 'indexCoord'] as const;

export function isCoordinator(component: string): boolean {
  return COORDINATORS.includes(component);
}

export function isMilvusComponent(component: string): boolean {
  return (COMPONENTS as readonly string[]).includes(component);
}

/** Place of a component in the rolling order; components this bot does not know yet go last. */
export function rollRank(component: string): number {
  const i = (COMPONENTS as readonly string[]).indexOf(component);
  return i < 0 ? COMPONENTS.length : i;
}

/**
 * The components `present` leaves after `shifts`, in the order to roll them: the guide's order of
 * the last shift that gives one first, then the rest in rolling order (unknown ones by name).
 */
export function rollOrder(present: Iterable<string>, shifts: readonly Shift[] = []): string[] {
  const after = new Set(present);
  // The chart renders mixcoord, streamingnode and indexnode only in cluster mode (SPEC §9): a
  // standalone release goes through the same versions with its one Deployment.
  if (after.has('standalone')) shifts = [];
  for (const s of shifts) {
    for (const c of s.removes) after.delete(c);
    for (const c of s.adds) after.add(c);
  }
  const guide = [...shifts].reverse().find((s) => s.order.length > 0)?.order ?? [];
  const first = guide.filter((c) => after.has(c));
  const rest = [...after].filter((c) => !guide.includes(c)).sort((a, b) => rollRank(a) - rollRank(b) || (a < b ? -1 : a > b ? 1 : 0));
  return [...first, ...rest];
}

/** True when a helm upgrade from chart `fromChart` to `toChart` makes the shift by the chart's own default. */
export function chartMakes(shift: Shift, fromChart: string, toChart: string): boolean {
  const d = shift.defaultFromChart;
  return d !== null && compareChartVersions(toChart, d) >= 0 && compareChartVersions(fromChart, d) < 0;
}

/** True when `set` carries every value that makes the shift. */
export function setMakes(shift: Shift, set: Readonly<Record<string, string>>): boolean {
  return Object.entries(shift.set).every(([k, v]) => set[k] === v);
}

/** True when `from` is before the 2.6 line and `to` in it (a version that cannot be read: false). */
export function crossesInto26(from: MilvusVersion | string, to: MilvusVersion | string): boolean {
  const f = typeof from === 'string' ? tryParseVersion(from) : from;
  const t = typeof to === 'string' ? tryParseVersion(to) : to;
  return f !== null && t !== null && compareVersions(f, FIRST_26) < 0 && compareVersions(t, FIRST_26) >= 0;
}
