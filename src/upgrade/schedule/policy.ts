/**
 * Windows and freezes in the policy file (issue 28), per cluster, namespace or release, beside
 * the access rules and matched the same way (a name, or `*`; absent: any):
 *
 *   windows:
 *     - namespaces: [team-a]
 *       weekly: ["Sat 02:00-05:00 Europe/Paris"]
 *   freezes:
 *     - from: "2026-12-20T00:00 Europe/Paris"
 *       to: "2027-01-04T00:00 Europe/Paris"
 *       reason: year-end freeze
 *       mode: hold            # or refuse
 *
 * The most specific window rules that match a release apply (a release's own over its
 * namespace's over its cluster's over everyone's; rules equally specific add up); every freeze
 * that matches applies. Pure: the file is read elsewhere and handed here as parsed YAML.
 */
import { z } from 'zod';
import { InputError } from '../errors.js';
import { parseWindow, type WeeklyWindow } from './windows.js';
import { parseFreeze, type Freeze } from './when.js';

const names = z.array(z.string().min(1)).min(1);
const scope = { clusters: names.optional(), namespaces: names.optional(), releases: names.optional() };
const windowRule = z.object({ ...scope, weekly: z.array(z.string().min(1)).min(1) }).strict();
const freezeRule = z.object({ ...scope, from: z.string().min(1), to: z.string().min(1), reason: z.string().min(1).max(200), mode: z.enum(['hold', 'refuse']).optional() }).strict();
const sections = z.object({ windows: z.array(windowRule).default([]), freezes: z.array(freezeRule).default([]) });

interface Scope {
  readonly clusters?: readonly string[];
  readonly namespaces?: readonly string[];
  readonly releases?: readonly string[];
}

export interface SchedulePolicy {
  readonly windows: readonly (Scope & { readonly weekly: readonly WeeklyWindow[] })[];
  readonly freezes: readonly (Scope & { readonly freeze: Freeze })[];
}

export const NO_SCHEDULE: SchedulePolicy = { windows: [], freezes: [] };

/** The `windows` and `freezes` of the policy file (other keys are the access rules'). */
export function parseSchedulePolicy(raw: unknown, source = 'the policy file'): SchedulePolicy {
  const obj = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const parsed = sections.safeParse({ windows: obj.windows ?? undefined, freezes: obj.freezes ?? undefined });
  if (!parsed.success) {
    throw new InputError(`${source}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`);
  }
  const at = (what: string, i: number, f: () => unknown) => {
    try {
      return f();
    } catch (err) {
      throw new InputError(`${source}: ${what}[${i}]: ${err instanceof Error ? err.message : String(err)}`, err instanceof InputError ? [...err.details] : []);
    }
  };
  return {
    windows: parsed.data.windows.map((r, i) => ({ ...scopeOf(r), weekly: r.weekly.map((w) => at('windows', i, () => parseWindow(w)) as WeeklyWindow) })),
    freezes: parsed.data.freezes.map((r, i) => ({ ...scopeOf(r), freeze: at('freezes', i, () => parseFreeze(r)) as Freeze })),
  };
}

function scopeOf(r: Scope): Scope {
  return { ...(r.clusters ? { clusters: r.clusters } : {}), ...(r.namespaces ? { namespaces: r.namespaces } : {}), ...(r.releases ? { releases: r.releases } : {}) };
}

const matches = (list: readonly string[] | undefined, value: string) => list === undefined || list.includes('*') || list.includes(value);
const covers = (s: Scope, t: ScheduleTarget) => matches(s.clusters, t.cluster) && matches(s.namespaces, t.namespace) && matches(s.releases, t.release);
const named = (list: readonly string[] | undefined) => list !== undefined && !list.includes('*');
/** A release's own rule over its namespace's over its cluster's over everyone's. */
const specificity = (s: Scope) => (named(s.releases) ? 3 : named(s.namespaces) ? 2 : named(s.clusters) ? 1 : 0);

export interface ScheduleTarget {
  readonly cluster: string;
  readonly namespace: string;
  readonly release: string;
}

/** The windows and freezes that apply to one release. */
export function scheduleFor(policy: SchedulePolicy, target: ScheduleTarget): { readonly windows: readonly WeeklyWindow[]; readonly freezes: readonly Freeze[] } {
  const rules = policy.windows.filter((r) => covers(r, target));
  const top = Math.max(-1, ...rules.map(specificity));
  return {
    windows: rules.filter((r) => specificity(r) === top).flatMap((r) => r.weekly),
    freezes: policy.freezes.filter((r) => covers(r, target)).map((r) => r.freeze),
  };
}
