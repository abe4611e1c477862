/**
 * What the access rules let one person do, seen from the App Home: which clusters and namespaces
 * to look in, and, per release, which actions from which channels. The Home has no channel, so a
 * rule limited to channels is reported with its channels rather than denied. Decisions come from
 * access.ts's own `decide`: the Home never grants what a command would refuse.
 */
import { decide, type AccessRule, type Action } from './access.js';

/** Where a person's rules point: a cluster and one namespace, or (null) every namespace. */
export interface Scope {
  readonly cluster: string;
  readonly namespace: string | null;
}

/** One action allowed somewhere: from any channel, or only from these. */
export interface Capability {
  readonly action: Action;
  readonly channels: 'any' | readonly string[];
}

/** The actions the Home lists, in the order a person meets them. */
export const HOME_ACTIONS: readonly Action[] = ['request', 'approve', 'rollback', 'read'];

const names = (rule: AccessRule): readonly string[] => [...rule.requesters, ...rule.approvers, ...(rule.rollback ?? []), ...(rule.readers ?? [])];
const every = (list: readonly string[] | undefined) => list === undefined || list.includes('*');

/** The rules that name the person (themselves, a group of theirs, or `*`) in any role. */
export function rulesNaming(rules: readonly AccessRule[], ids: ReadonlySet<string>): AccessRule[] {
  return rules.filter((r) => names(r).some((n) => n === '*' || ids.has(n)));
}

/**
 * The places to list releases in. A rule without clusters (or with `*`) means the bot's default
 * cluster: the bot cannot know which other kubeconfig contexts a person would mean. A namespace
 * list wins over nothing, every namespace (null) wins over a list.
 */
export function scopesOf(rules: readonly AccessRule[], ids: ReadonlySet<string>, defaultCluster: string): Scope[] {
  const byCluster = new Map<string, Set<string> | null>();
  for (const r of rulesNaming(rules, ids)) {
    const clusters = every(r.clusters) ? [defaultCluster] : r.clusters!;
    for (const cluster of clusters) {
      const known = byCluster.get(cluster);
      if (known === null) continue;
      if (every(r.namespaces)) byCluster.set(cluster, null);
      else byCluster.set(cluster, new Set([...(known ?? []), ...r.namespaces!]));
    }
  }
  return [...byCluster].flatMap(([cluster, namespaces]): Scope[] => (namespaces === null ? [{ cluster, namespace: null }] : [...namespaces].sort().map((namespace) => ({ cluster, namespace }))));
}

/** Every channel some rule names: the only places where a channel-bound rule can apply. */
function channelsNamed(rules: readonly AccessRule[]): string[] {
  return [...new Set(rules.flatMap((r) => (r.channels ?? []).filter((c) => c !== '*')))].sort();
}

/** What the person may do on one release, and from where; empty when nothing. */
export function capabilitiesOn(rules: readonly AccessRule[], who: { readonly user: string; readonly groups: readonly string[] }, target: { readonly cluster: string; readonly namespace: string; readonly release: string }): Capability[] {
  const channels = channelsNamed(rules);
  const out: Capability[] = [];
  for (const action of HOME_ACTIONS) {
    // '' is no channel at all: only rules without a channel list (or with `*`) match it.
    if (decide(rules, { ...who, channel: '' }, action, target).allowed) {
      out.push({ action, channels: 'any' });
      continue;
    }
    const from = channels.filter((channel) => decide(rules, { ...who, channel }, action, target).allowed);
    if (from.length > 0) out.push({ action, channels: from });
  }
  return out;
}
