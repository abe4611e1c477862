/**
 * The App Home tab of one person: the Milvus releases they may act on, what each runs, its last
 * request, and what they may do there. A pure function of data gathered elsewhere (home-data.ts),
 * so it is tested without Slack, Redis or a cluster. Kept within Slack's limits for a Home view
 * (100 blocks, 3000 characters a section, 150 a header): long lists end with "…and N more".
 */
import type { PlanKind } from '../upgrade/plan.js';
import type { ContextBlock, HomeView, KnownBlock } from '@slack/web-api';
import type { Action } from './access.js';
import { clip, context, divider, header, section, slackDate } from './blocks.js';
import type { Capability, Scope } from './home-access.js';
import { esc, stateWords } from './views.js';
import type { RequestState } from '../upgrade/requests.js';

/** Releases shown in full; the gatherer reads details (running version, last request) of these only. */
export const HOME_MAX_RELEASES = 40;
/** Places that could not be listed, shown one by one before they are counted. */
export const HOME_MAX_UNLISTED = 10;
/** A reason from an adapter can be long (an API body); a Home line need not be. */
const REASON_MAX = 300;

export interface HomeRequest {
  readonly id: string;
  readonly kind: PlanKind;
  readonly from: string;
  readonly to: string;
  readonly state: RequestState;
  /** The requester's id: a Slack user (`U…`) or `cli:<name>`. */
  readonly requester: string;
  readonly createdAt: number;
  /** Not finished: it holds the release (waiting for approval, queued, running...). */
  readonly inProgress: boolean;
  /** Held by a maintenance window or a freeze: when it runs, in words. */
  readonly scheduled?: string;
}

export interface HomeRelease {
  readonly cluster: string;
  readonly namespace: string;
  readonly release: string;
  /** What helm recorded (from the listing). */
  readonly helm: { readonly revision: number; readonly status: string; readonly chart: string };
  /** The Milvus version the pods run; undefined when not read (beyond the shown ones). */
  readonly running?: string;
  /** Why the release could not be read, when it could not. */
  readonly unreadable?: string;
  /** The newest request of the bot for it; null when there was none. */
  readonly last: HomeRequest | null;
  readonly may: readonly Capability[];
}

/** A place the person's rules cover whose releases could not be listed (cluster unreachable...). */
export interface HomeUnlisted extends Scope {
  readonly reason: string;
}

export interface HomeData {
  readonly now: number;
  /** Whether any access rule names the person (or a group of theirs, or everyone). */
  readonly named: boolean;
  readonly scopes: readonly Scope[];
  /** Sorted as they are to be shown. */
  readonly releases: readonly HomeRelease[];
  readonly unlisted: readonly HomeUnlisted[];
}

const ACTION_WORDS: Record<Action, string> = { request: 'request upgrades', approve: 'approve', rollback: 'roll back', read: 'read', cancel: 'cancel' };

/** A Home view whose blocks the compiler knows (HomeView alone widens them to AnyBlock). */
export type HomeBlocks = Omit<HomeView, 'blocks'> & { blocks: KnownBlock[] };

export function homeView(d: HomeData): HomeBlocks {
  const blocks: KnownBlock[] = [header('Milvus releases you can act on')];
  if (!d.named) {
    blocks.push(
      section(
        "You are not named in any of this bot's access rules, so there is no Milvus release you may act on. Ask the people who run the bot to add you (or a user group of yours) to its access rules.",
      ),
      updated(d.now),
    );
    return { type: 'home', blocks };
  }
  blocks.push(context(`Where your access rules point: ${d.scopes.map(scopeWords).join('; ')}.`), divider());
  const shown = d.releases.slice(0, HOME_MAX_RELEASES);
  const scheduled = shown.filter((r) => r.last?.inProgress && r.last.scheduled);
  if (scheduled.length > 0) {
    blocks.push(section([`*Scheduled runs* (\`/milvus cancel <release>\` drops one):`, ...scheduled.map((r) => `• *${esc(r.release)}* (\`${esc(r.namespace)}\`): ${esc(r.last!.scheduled!)}`)].join('\n')));
  }
  for (const r of shown) blocks.push(section(releaseText(r)));
  if (d.releases.length > shown.length) blocks.push(section(`…and ${d.releases.length - shown.length} more releases: \`/milvus status <release> -n <namespace>\` shows any of them.`));
  if (d.releases.length === 0 && d.unlisted.length === 0) blocks.push(section('No Milvus release found there that your rules let you act on.'));
  const unlisted = d.unlisted.slice(0, HOME_MAX_UNLISTED);
  for (const u of unlisted) blocks.push(section(`:warning: Releases in ${scopeWords(u)} could not be listed: ${esc(clip(u.reason, REASON_MAX))}`));
  if (d.unlisted.length > unlisted.length) blocks.push(section(`:warning: …and ${d.unlisted.length - unlisted.length} more places could not be listed.`));
  blocks.push(divider(), context(howToAct(shown[0])), updated(d.now));
  return { type: 'home', blocks };
}

/** What the Home shows when it could not be built: better than a stale list. */
export function homeErrorView(reason: string, now: number): HomeBlocks {
  return {
    type: 'home',
    blocks: [header('Milvus releases you can act on'), section(`:warning: Your releases could not be shown: ${esc(clip(reason, REASON_MAX))}. Open this tab again to retry.`), updated(now)],
  };
}

function releaseText(r: HomeRelease): string {
  const lines = [`*${esc(r.release)}* · namespace \`${esc(r.namespace)}\` · cluster \`${esc(r.cluster)}\``];
  const helm = `helm revision ${r.helm.revision}, ${esc(r.helm.status || 'unknown')} · chart ${esc(r.helm.chart)}`;
  if (r.unreadable !== undefined) lines.push(`:warning: Could not be read: ${esc(clip(r.unreadable, REASON_MAX))}`, `Helm's record: ${helm}`);
  else lines.push(`${r.running !== undefined ? `Milvus *${esc(r.running)}*` : 'Milvus version not read'} · ${helm}`);
  lines.push(r.last ? requestText(r.last) : 'No request from this bot yet.');
  lines.push(mayText(r.may));
  return lines.join('\n');
}

function requestText(q: HomeRequest): string {
  const what = `\`${esc(q.id)}\` ${q.kind} ${esc(q.from)} → ${esc(q.to)}: *${stateWords(q.state)}*, asked by ${person(q.requester)} ${slackDate(q.createdAt)}`;
  if (q.inProgress && q.scheduled) return `:calendar: Scheduled: ${what}; ${esc(q.scheduled)}`;
  return q.inProgress ? `:arrows_counterclockwise: In progress: ${what}` : `Last request: ${what}`;
}

/** "You may request upgrades, approve from <#C…>; read from any channel": actions grouped by where. */
function mayText(may: readonly Capability[]): string {
  const groups = new Map<string, Action[]>();
  for (const c of may) {
    const where = c.channels === 'any' ? 'from any channel' : `from ${c.channels.map((ch) => `<#${ch}>`).join(', ')}`;
    groups.set(where, [...(groups.get(where) ?? []), c.action]);
  }
  const parts = [...groups].map(([where, actions]) => `${actions.map((a) => ACTION_WORDS[a]).join(', ')} ${where}`);
  return parts.length > 0 ? `You may ${parts.join('; ')}.` : 'You may do nothing here.';
}

function howToAct(example: HomeRelease | undefined): string {
  const r = example ? esc(example.release) : '<release>';
  const ns = example ? esc(example.namespace) : '<namespace>';
  return [
    `To act, type in a channel the bot is in: \`/milvus plan ${r} <version> -n ${ns}\` previews an upgrade, \`/milvus upgrade ${r} <version> -n ${ns}\` asks for it (someone else approves on its card),`,
    `\`/milvus status ${r} -n ${ns}\` shows its components, \`/milvus rollback ${r} -n ${ns}\` undoes the last change. Add \`-c <cluster>\` for another cluster.`,
  ].join(' ');
}

function scopeWords(s: Scope): string {
  return `${s.namespace === null ? 'every namespace' : `namespace \`${esc(s.namespace)}\``} of cluster \`${esc(s.cluster)}\``;
}

const person = (id: string) => (/^[UW][A-Z0-9]+$/.test(id) ? `<@${id}>` : esc(id));

function updated(now: number): ContextBlock {
  return context(`Updated ${slackDate(now)}; open the tab again to refresh.`);
}
