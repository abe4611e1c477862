/**
 * A fleet plan (issue 28): every release a selector names, each planned on its own (its path,
 * route, data guard and gates as if asked alone), cut into waves, the refused listed with their
 * reason and left out (they do not block the others). Pure: the planning is handed in.
 */
import { explainError, InputError, UpgradeError } from '../errors.js';
import { inBatches } from '../in-batches.js';
import { routeVersions, type Plan } from '../plan.js';
import { isMilvusRelease } from '../milvus/charts.js';
import { intoWaves, type WaveMark } from './waves.js';
import { selects, type FleetSelector } from './selector.js';

export interface FleetMemberRef {
  readonly cluster: string;
  readonly namespace: string;
  readonly release: string;
}

export interface FleetPlanned extends FleetMemberRef {
  readonly plan: Plan;
  /** Rows Milvus holds (its data snapshot), null when it was not read. */
  readonly rows: number | null;
}

export interface FleetRefused extends FleetMemberRef {
  readonly reason: string;
}

export interface FleetPlan {
  readonly version: string;
  readonly selector: string;
  readonly waves: readonly (readonly FleetPlanned[])[];
  readonly refused: readonly FleetRefused[];
  /** Releases of one wave upgraded at once, at most. */
  readonly maxInFlight: number;
}

/** Rows of the snapshot the plan read, or null. */
function rowsOf(plan: Plan): number | null {
  const collections = plan.data?.snapshot?.collections;
  if (!collections) return null;
  return collections.reduce((sum, c) => sum + (c.rowCount ?? 0), 0);
}

/**
 * Plans each member (at most `concurrency` at once), keeps the refusals as reasons, and cuts the
 * planned into waves. A refusal is what the planner says to a person (bad input, preflight, the
 * data guard); anything else (a cluster that does not answer) is a refusal too, said as it is.
 */
export async function planFleet(
  input: { readonly version: string; readonly selector: string; readonly marks: readonly WaveMark[]; readonly maxInFlight: number; readonly concurrency?: number },
  members: readonly FleetMemberRef[],
  planOne: (m: FleetMemberRef) => Promise<Plan>,
): Promise<FleetPlan> {
  const outcomes = await inBatches(members, input.concurrency ?? 3, async (m): Promise<FleetPlanned | FleetRefused> => {
    try {
      const plan = await planOne(m);
      return { ...m, plan, rows: rowsOf(plan) };
    } catch (err) {
      return { ...m, reason: err instanceof UpgradeError ? err.explain() : explainError(err) };
    }
  });
  const planned = outcomes.filter((o): o is FleetPlanned => 'plan' in o);
  const refused = outcomes.filter((o): o is FleetRefused => 'reason' in o);
  return { version: input.version, selector: input.selector, waves: intoWaves(planned, input.marks), refused, maxInFlight: input.maxInFlight };
}

/** `fleet plan --json`: the issue's shape, each release with its path and route. */
export function fleetPlanJson(f: FleetPlan): object {
  return {
    version: f.version,
    selector: f.selector,
    maxInFlight: f.maxInFlight,
    waves: f.waves.map((w) => ({
      releases: w.map((m) => ({
        cluster: m.cluster,
        namespace: m.namespace,
        release: m.release,
        from: m.plan.from,
        to: m.plan.to,
        path: m.plan.path,
        route: routeVersions(m.plan),
        rows: m.rows,
        planId: m.plan.id,
      })),
    })),
    refused: f.refused.map((r) => ({ cluster: r.cluster, namespace: r.namespace, release: r.release, reason: r.reason })),
  };
}

/** The fleet plan as a person reads it. */
export function fleetPlanText(f: FleetPlan): string {
  const lines = [`Fleet plan: ${f.selector} to Milvus ${f.version}, ${f.waves.reduce((n, w) => n + w.length, 0)} release(s) in ${f.waves.length} wave(s), at most ${f.maxInFlight} at once`];
  f.waves.forEach((w, i) => {
    lines.push(`  wave ${i + 1}${i === 0 ? ' (canary)' : ''}:`);
    for (const m of w) {
      const route = routeVersions(m.plan).join(' -> ');
      lines.push(`    ${m.cluster}/${m.namespace}/${m.release}: ${route} by ${m.plan.path}${m.rows !== null ? `, ${m.rows.toLocaleString('en-US')} rows` : ''}`);
    }
  });
  if (f.refused.length > 0) {
    lines.push('  refused (left out; the others go on):');
    for (const r of f.refused) lines.push(`    ${r.cluster}/${r.namespace}/${r.release}: ${r.reason.split('\n')[0]}`);
  }
  if (f.waves.length === 0) lines.push('  nothing to upgrade');
  return lines.join('\n');
}

/**
 * The Milvus releases of a cluster the selector names (helm keeps every other chart's releases
 * too). None: refused at once, naming what the cluster has, so a typo is seen.
 */
export function fleetMembers(
  cluster: string,
  releases: readonly { readonly name: string; readonly namespace: string; readonly chart: string; readonly chartVersion: string; readonly labels?: Readonly<Record<string, string>> }[],
  selector: FleetSelector,
): FleetMemberRef[] {
  const milvus = releases.filter(isMilvusRelease);
  const chosen = milvus.filter((r) => selects(selector, { namespace: r.namespace, release: r.name, labels: r.labels ?? {} }));
  if (chosen.length === 0) {
    const seen = milvus.slice(0, 10).map((r) => `${r.namespace}/${r.name}`);
    throw new InputError(`the selector ${selector.text} names no Milvus release in ${cluster}`, [
      seen.length > 0 ? `its Milvus releases: ${seen.join(', ')}${milvus.length > seen.length ? `, and ${milvus.length - seen.length} more` : ''}` : 'it has no Milvus release',
    ]);
  }
  return chosen.map((r) => ({ cluster, namespace: r.namespace, release: r.name }));
}
