/**
 * Routes: a target that no single documented upgrade reaches is planned as hops, each a full
 * plan of its own, run one after the other under one approval (SPEC §9, Milvus docs v2.6):
 *   - into 2.6 from before 2.5.16: first 2.5.16 with mixcoord (chart 4.2.58 flags), then 2.6;
 *   - from 2.1.x past 2.2: first the metadata migration to 2.2.x, then on by helm.
 * Later hops are planned from the state the earlier ones are predicted to leave; each hop ends
 * with its own rollout check, so a hop starts only on a release the previous one left healthy.
 */
import type { ChartEntry } from '../milvus/charts.js';
import { chartMakes, crossesInto26, INTO_26, MIXCOORD, rollOrder, setMakes, SHIFTS } from '../milvus/components.js';
import { InputError } from '../errors.js';
import { INTO_26_IS_FOR_GOOD, type Plan, type RouteHop } from '../plan.js';
import type { ComponentState, ReleaseState } from '../state.js';
import type { Step } from '../steps.js';
import { atLeast, compareVersions, parseVersion, tryParseVersion, type MilvusVersion } from '../milvus/version.js';
import { newest22 } from './paths.js';
import { BASELINE_30, chartCarries30, crossesInto30, GUIDE_30, isLine30, NO_ROLLBACK_FROM_30 } from '../milvus/line-30.js';
import semver from 'semver';

export interface Waypoint {
  readonly version: MilvusVersion;
  /** `--set` values the hop adds beyond its own plan's. */
  readonly set: Readonly<Record<string, string>>;
  readonly why: string;
}

/** What decides a route besides versions: the mode and the components running now. */
export interface RouteShape {
  readonly mode: 'cluster' | 'standalone';
  readonly components: readonly string[];
  /** The chart the release runs (the 3.0 line keeps it); absent: taken as too old for 3.0. */
  readonly chartVersion?: string;
}

/** The versions between `from` and `to` the docs make a release stop at; empty: one plan reaches it. */
export function waypoints(from: MilvusVersion, to: MilvusVersion, charts: readonly ChartEntry[], shape: RouteShape = { mode: 'cluster', components: [] }): Waypoint[] {
  const out: Waypoint[] = [];
  let at = from;
  if (at.major === 2 && at.minor <= 1 && atLeast(to, '2.2.0') && !(to.major === 2 && to.minor === 2)) {
    const via = newest22(charts);
    if (!via) throw new InputError(`Milvus ${from.text} cannot reach ${to.text}: the repository has no 2.2.x chart to migrate the metadata to`);
    out.push({ version: via, set: {}, why: `the metadata migration only goes from 2.1.x to 2.2.x: first ${via.text}` });
    at = via;
  }
  const start26 = INTO_26.from;
  const into30 = crossesInto30(at, to) && isLine30(to);
  const base30 = into30 ? baseline30(charts) : null;
  if (!crossesInto26(at, to)) return into30 ? [...out, ...to30From26(at, shape, base30!)] : out;
  const cluster = shape.mode === 'cluster';
  if (compareVersions(at, start26) < 0) {
    out.push(
      cluster
        ? { version: start26, set: MIXCOORD.set, why: 'into 2.6 only from 2.5.16 with mixcoord (Milvus docs, v2.6 upgrade guide)' }
        : { version: start26, set: {}, why: 'into 2.6 only from 2.5.16 (Milvus docs, v2.6 standalone upgrade guide)' },
    );
  } else if (cluster && shape.components.some((c) => MIXCOORD.removes.includes(c))) {
    // 2.5.16 or later with the four coordinators: the same version again, switched to mixcoord.
    out.push({ version: at, set: MIXCOORD.set, why: `into 2.6 only with mixcoord: first ${at.text} again, its coordinators replaced by mixcoord (Milvus docs, v2.6 upgrade guide)` });
  }
  if (base30) out.push({ version: base30.version, set: {}, why: `3.0 only from ${BASELINE_30.milvus.text} or later on chart ${BASELINE_30.chart} or later (${GUIDE_30}): first ${base30.version.text} on chart ${base30.chart}` });
  return out;
}

/**
 * The 2.6 release the road to 3.0 stops at: the newest 2.6 that a chart of the baseline or later
 * carries itself. No 3.0 chart exists, so the 3.0 hop keeps that chart.
 */
function baseline30(charts: readonly ChartEntry[]): { readonly version: MilvusVersion; readonly chart: string } {
  let best: { version: MilvusVersion; chart: string } | null = null;
  for (const c of charts) {
    const v = tryParseVersion(c.appVersion);
    if (!v || v.suffix !== '' || v.major !== 2 || v.minor !== 6 || compareVersions(v, BASELINE_30.milvus) < 0 || !semver.valid(c.chartVersion) || !chartCarries30(c.chartVersion)) continue;
    if (!best || compareVersions(v, best.version) > 0 || (compareVersions(v, best.version) === 0 && semver.gt(c.chartVersion, best.chart))) best = { version: v, chart: c.chartVersion };
  }
  if (best) return best;
  const newest26 = charts
    .filter((c) => tryParseVersion(c.appVersion)?.major === 2 && tryParseVersion(c.appVersion)?.minor === 6 && semver.valid(c.chartVersion))
    .sort((a, b) => semver.rcompare(a.chartVersion, b.chartVersion))[0];
  throw new InputError(`the repository has no chart ${BASELINE_30.chart} or later for the road to 3.0`, [
    `${GUIDE_30} is validated from Milvus ${BASELINE_30.milvus.text} on chart ${BASELINE_30.chart}: a release must get there first`,
    newest26 ? `the newest 2.6 chart here is ${newest26.chartVersion} (Milvus ${newest26.appVersion}): refresh the repository, or point the bot at one that has ${BASELINE_30.chart} or later` : 'the repository has no 2.6 chart at all: refresh it',
  ]);
}

/** From the 2.6 line: a stop at the baseline first, unless the release already runs it on its chart. */
function to30From26(at: MilvusVersion, shape: RouteShape, base: { readonly version: MilvusVersion; readonly chart: string }): Waypoint[] {
  const onBaseline = compareVersions(at, BASELINE_30.milvus) >= 0 && shape.chartVersion !== undefined && chartCarries30(shape.chartVersion);
  if (onBaseline) return [];
  if (compareVersions(at, base.version) >= 0) {
    throw new InputError(`Milvus ${at.text} runs on chart ${shape.chartVersion ?? 'unknown'}, older than ${BASELINE_30.chart}: the image-only upgrade to 3.0 keeps the installed chart`, [
      `first move the release onto chart ${base.chart} at the same version (helm upgrade --version ${base.chart} --reset-then-reuse-values --set image.all.tag=v${at.text}), then plan again`,
    ]);
  }
  return [{ version: base.version, set: {}, why: `3.0 only from ${BASELINE_30.milvus.text} or later on chart ${BASELINE_30.chart} or later (${GUIDE_30}): first ${base.version.text} on chart ${base.chart}` }];
}

/**
 * The release as a hop is expected to leave it: the next hop is planned from this. The run
 * checks each hop's end for real (rollout) before the next starts.
 */
export function stateAfter(state: ReleaseState, hop: Plan): ReleaseState {
  const set = helmSetOf(hop.steps);
  const to = parseVersion(hop.to);
  const byName = new Map(state.components.map((c) => [c.component, c]));
  const template = state.components.find((c) => c.component === 'proxy') ?? state.components[0];
  const add = (component: string) => {
    if (!template || byName.has(component)) return;
    byName.set(component, { ...template, component, deployment: `${state.fullname}-${component}`, replicas: 1, readyReplicas: 1, updatedReplicas: 1, availableReplicas: 1, currentReplicas: 1 });
  };
  // Made by the route's values, or by the chart's own default (mixcoord from 4.2.4 on, SPEC §9).
  const shifts = SHIFTS.filter((s) => setMakes(s, set) || (hop.chart !== null && chartMakes(s, state.helm.chartVersion, hop.chart.version)));
  const after = new Set(rollOrder(byName.keys(), shifts));
  for (const c of [...byName.keys()]) if (!after.has(c)) byName.delete(c);
  for (const c of after) add(c);
  // A hop without helm (rolling, the migration) changes the Deployments outside helm and marks
  // them at helm's current revision, as the runner does (helm's record keeps the older images).
  const outsideHelm = hop.chart === null;
  const components: ComponentState[] = [...byName.values()].map((c) => ({
    ...c,
    image: hop.image,
    versionLabel: to.text,
    previousImage: outsideHelm ? c.image : null,
    previousVersionLabel: outsideHelm ? c.versionLabel : null,
    markHelmRevision: outsideHelm ? state.helm.revision : null,
    paused: false,
    pausedBy: null,
  }));
  const helm = hop.chart
    ? { ...state.helm, revision: state.helm.revision + 1, chartVersion: hop.chart.version, chart: `milvus-${hop.chart.version}`, appVersion: hop.chart.appVersion, status: 'deployed' }
    : state.helm;
  return { ...state, helm, components, migration: null, savedReplicas: null };
}

/** The `--set` values of a hop's helm upgrade; none for a hop without one. */
function helmSetOf(steps: readonly Step[]): Readonly<Record<string, string>> {
  return steps.find((s): s is Extract<Step, { kind: 'helm-upgrade' }> => s.kind === 'helm-upgrade')?.set ?? {};
}

/** Several hop plans -> one plan: their steps in sequence, each labelled with its hop. */
export function joinRoute(hops: readonly Plan[], why: readonly string[]): Plan {
  const first = hops[0]!;
  const last = hops[hops.length - 1]!;
  let at = 0;
  const routeHops: RouteHop[] = hops.map((h, i) => {
    const label = `[${i + 1}/${hops.length} ${h.from} -> ${h.to}]`;
    // The health gate's "since" is a step index: it moves with the hop.
    const steps = h.steps.map((s): Step => (s.kind === 'check-health' ? { ...s, sinceStep: s.sinceStep + at, description: `${label} ${s.description}` } : { ...s, description: `${label} ${s.description}` }));
    const hop: RouteHop = {
      from: h.from,
      to: h.to,
      path: h.path,
      chart: h.chart,
      set: helmSetOf(h.steps),
      firstStep: at,
      steps,
      changes: h.changes ?? [],
      warnings: h.warnings,
      rollback: h.rollback,
      noRollback: h.rollback ? null : (h.noRollback ?? (crossesInto26(h.from, h.to) ? INTO_26_IS_FOR_GOOD : crossesInto30(h.from, h.to) ? NO_ROLLBACK_FROM_30 : `${h.from} -> ${h.to} cannot be undone`)),
      backup: h.backup ?? null,
      restore: h.restore ?? null,
    };
    at += steps.length;
    return hop;
  });
  const versions = [first.from, ...hops.map((h) => h.to)].join(' -> ');
  return {
    ...last,
    id: last.id,
    path: first.path,
    from: first.from,
    observed: first.observed,
    messageQueue: first.messageQueue,
    reasons: [`route ${versions}: ${why.join('; ')}`, ...hops.flatMap((h, i) => h.reasons.map((r) => `hop ${i + 1}: ${r}`))],
    steps: routeHops.flatMap((h) => h.steps),
    changes: routeHops.flatMap((h) => h.changes),
    warnings: [...new Set(hops.flatMap((h, i) => h.warnings.map((w) => `hop ${i + 1}: ${w}`)))],
    dataChanges: hops.find((h) => h.dataChanges)?.dataChanges ?? null,
    // A required backup that cannot be taken holds the whole route (the request must show it).
    backupMissing: hops.find((h) => h.backupMissing?.required)?.backupMissing ?? hops.find((h) => h.backupMissing)?.backupMissing ?? null,
    backup: null,
    restore: null,
    // Which rollback applies depends on where the route stopped: see rollbackAt.
    rollback: null,
    hops: routeHops,
  };
}
