/**
 * Gathers what one person's App Home shows: the places their access rules point to, the Milvus
 * releases listed there that they may act on, and for the shown ones the version running and the
 * last request. Everything that can fail per place or per release is kept as a reason to show,
 * not dropped; only the store (Redis) failing fails the whole Home.
 */
import pLimit from 'p-limit';
import { explainError } from '../upgrade/errors.js';
import type { RequestStore, UpgradeEngine } from '../upgrade/ports.js';
import { deriveState, isTerminal, type UpgradeRequest } from '../upgrade/requests.js';
import type { HelmReleaseInfo } from '../upgrade/state.js';
import type { AccessRule } from './access.js';
import { capabilitiesOn, rulesNaming, scopesOf } from './home-access.js';
import { HOME_MAX_RELEASES, type HomeData, type HomeRelease, type HomeRequest, type HomeUnlisted } from './home.js';

export interface HomeDeps {
  readonly engine: Pick<UpgradeEngine, 'clusterName' | 'releases' | 'status'>;
  readonly store: Pick<RequestStore, 'history'>;
  readonly rules: readonly AccessRule[];
  readonly groups: { groupsOf(user: string): Promise<string[]> };
  readonly now: () => number;
  /** Reads of releases at once: each status is a handful of API calls. */
  readonly concurrency?: number;
}

export async function gatherHome(d: HomeDeps, user: string): Promise<HomeData> {
  const groups = await d.groups.groupsOf(user);
  const ids = new Set([user, ...groups]);
  const now = d.now();
  if (rulesNaming(d.rules, ids).length === 0) return { now, named: false, scopes: [], releases: [], unlisted: [] };
  const scopes = scopesOf(d.rules, ids, d.engine.clusterName());
  const limit = pLimit(d.concurrency ?? 4);
  const unlisted: HomeUnlisted[] = [];
  const listed = await Promise.all(
    scopes.map((scope) =>
      limit(async () => {
        try {
          return (await d.engine.releases(clusterArg(d, scope.cluster), scope.namespace ?? undefined)).map((info) => ({ cluster: scope.cluster, info }));
        } catch (err) {
          unlisted.push({ ...scope, reason: explainError(err) });
          return [];
        }
      }),
    ),
  );
  const seen = new Set<string>();
  const candidates: Omit<HomeRelease, 'last'>[] = [];
  for (const { cluster, info } of listed.flat()) {
    const key = `${cluster}/${info.namespace}/${info.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const may = capabilitiesOn(d.rules, { user, groups }, { cluster, namespace: info.namespace, release: info.name });
    if (may.length > 0) candidates.push({ cluster, namespace: info.namespace, release: info.name, helm: helmOf(info), may });
  }
  candidates.sort((a, b) => a.cluster.localeCompare(b.cluster) || a.namespace.localeCompare(b.namespace) || a.release.localeCompare(b.release));
  const releases = await Promise.all(
    candidates.map((r, i) => (i < HOME_MAX_RELEASES ? limit(() => detailed(d, r, now)) : Promise.resolve({ ...r, last: null }))),
  );
  unlisted.sort((a, b) => a.cluster.localeCompare(b.cluster) || (a.namespace ?? '').localeCompare(b.namespace ?? ''));
  return { now, named: true, scopes, releases, unlisted };
}

/** The engine names the default cluster by leaving it out; any other by its context name. */
function clusterArg(d: HomeDeps, cluster: string): string | undefined {
  return cluster === d.engine.clusterName() ? undefined : cluster;
}

async function detailed(d: HomeDeps, r: Omit<HomeRelease, 'last'>, now: number): Promise<HomeRelease> {
  // The store is the bot's own: when it is away the whole Home says so (the caller catches).
  const [last] = await d.store.history(r.cluster, r.namespace, r.release, 1);
  const base = { ...r, last: last ? requestOf(last, now) : null };
  try {
    const { running } = await d.engine.status(clusterArg(d, r.cluster), r.namespace, r.release);
    return { ...base, running };
  } catch (err) {
    return { ...base, unreadable: explainError(err) };
  }
}

function helmOf(info: HelmReleaseInfo): HomeRelease['helm'] {
  return { revision: info.revision, status: info.status, chart: info.chart };
}

function requestOf(r: UpgradeRequest, now: number): HomeRequest {
  const state = deriveState(r, now);
  return { id: r.id, kind: r.kind, from: r.plan.from, to: r.plan.to, state, requester: r.requester.id, createdAt: r.createdAt, inProgress: !isTerminal(state), ...(r.scheduled && !isTerminal(state) ? { scheduled: r.scheduled.text } : {}) };
}
