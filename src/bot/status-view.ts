/**
 * The answer to `/milvus status <release>`: the release (version, helm revision, status, chart),
 * then one row per Deployment (image, ready pods, restarts), Attu and the like marked as left
 * alone, and the request in progress if any. Block Kit for people, the same lines as `text` for
 * notifications and clients that show no blocks. Pure: the handler reads, this renders.
 */
import type { KnownBlock } from '@slack/web-api';
import type { RequestState } from '../upgrade/requests.js';
import type { ComponentState, ReleaseState } from '../upgrade/state.js';
import { context, divider, fields, header, section } from './blocks.js';
import { dataSummary, LISTED_COLLECTIONS, type DataSnapshot } from '../upgrade/data-snapshot.js';
import { esc, stateWords } from './views.js';

/** Rows shown one by one; a message holds at most 50 blocks, and the rest are counted. */
export const STATUS_MAX_COMPONENTS = 40;

export interface StatusInput {
  readonly state: ReleaseState;
  /** The Milvus version the pods run (runningVersion's text). */
  readonly running: string;
  /** Container restarts per component; absent when the pods could not be read. */
  readonly restarts?: Readonly<Record<string, number>>;
  readonly active: { readonly id: string; readonly state: RequestState } | null;
  /** Milvus's own view (issue 26), or why it was not read; absent when the bot does not read Milvus. */
  readonly milvus?: DataSnapshot | { readonly notRead: string };
}

export function statusMessage(i: StatusInput): { text: string; blocks: KnownBlock[] } {
  return { text: statusText(i), blocks: statusBlocks(i) };
}

/** The plain answer, as it was before blocks: notifications and the tests read it. */
function statusText({ state, running, active, milvus }: StatusInput): string {
  return [
    `*${esc(state.release)}* runs Milvus ${esc(running)} (helm revision ${state.helm.revision}, ${esc(state.helm.status)}, chart ${esc(state.helm.chart)})`,
    ...statusComponentLines(state),
    ...(milvus ? [milvusLine(milvus)] : []),
    ...(active ? [`Request in progress: ${esc(active.id)} (${stateWords(active.state)})`] : []),
  ].join('\n');
}

function statusBlocks({ state, running, restarts, active, milvus }: StatusInput): KnownBlock[] {
  const where = `-n ${esc(state.namespace)}${state.cluster ? ` -c ${esc(state.cluster)}` : ''}`;
  const blocks: KnownBlock[] = [
    header(`${state.release} runs Milvus ${running}`),
    fields([
      `*Namespace*\n\`${esc(state.namespace)}\``,
      `*Cluster*\n\`${esc(state.cluster)}\``,
      `*Helm*\nrevision ${state.helm.revision}, ${esc(state.helm.status)}`,
      `*Chart*\n${esc(state.helm.chart)}`,
      `*Mode*\n${state.mode}`,
      `*Message queue*\n${esc(state.messageQueue ?? 'not found in the config')}`,
    ]),
    divider(),
  ];
  const rows = [...state.components.map((c) => componentRow(c, restarts)), ...state.others.map(otherRow)];
  if (rows.length === 0) blocks.push(section('No Deployment of this release was found.'));
  blocks.push(...rows.slice(0, STATUS_MAX_COMPONENTS));
  if (rows.length > STATUS_MAX_COMPONENTS) blocks.push(section(`…and ${rows.length - STATUS_MAX_COMPONENTS} more Deployments.`));
  if (milvus) blocks.push(section(milvusSection(milvus)));
  if (active) blocks.push(section(`:arrows_counterclockwise: Request in progress: \`${esc(active.id)}\` (*${stateWords(active.state)}*); \`/milvus cancel ${esc(state.release)} ${where}\` to stop it.`));
  blocks.push(context(`\`/milvus history ${esc(state.release)} ${where}\` lists its requests.`));
  return blocks;
}

function milvusLine(m: NonNullable<StatusInput['milvus']>): string {
  return 'notRead' in m ? `:warning: Data not checked: ${esc(m.notRead)}` : `Data: ${esc(dataSummary(m))}`;
}

function milvusSection(m: NonNullable<StatusInput['milvus']>): string {
  if ('notRead' in m) return milvusLine(m);
  const listed = m.collections.slice(0, LISTED_COLLECTIONS).map((c) => `• \`${esc(c.name)}\` ${c.loadState}, ${c.rowCount === null ? 'rows unknown' : `${c.rowCount.toLocaleString('en-US')} rows`}`);
  const more = m.collections.length > LISTED_COLLECTIONS ? [`…and ${m.collections.length - LISTED_COLLECTIONS} more`] : [];
  return [`*Data* (Milvus itself) ${esc(dataSummary(m))}`, ...listed, ...more].join('\n').slice(0, 2900);
}

function componentRow(c: ComponentState, restarts: StatusInput['restarts']): KnownBlock {
  const restarted = restarts ? `restarts ${restarts[c.component] ?? 0}` : 'restarts not read';
  const paused = c.paused ? `\n:warning: *PAUSED* (${esc(pausedWhy(c))})` : '';
  return fields([`*${esc(c.component)}*\n\`${esc(c.image)}\``, `ready ${c.readyReplicas}/${c.replicas} · ${restarted}${paused}`]);
}

function otherRow(c: ComponentState): KnownBlock {
  return fields([`*${esc(c.component)}*\n\`${esc(c.image)}\``, `not Milvus, left alone (\`${esc(c.deployment)}\`)`]);
}

function pausedWhy(c: ComponentState): string {
  return c.pausedBy ? 'by the bot, for an ordered helm step: it rolls when resumed' : `not by the bot: nothing rolls until \`kubectl rollout resume deployment/${c.deployment}\``;
}

/** One line per Deployment of the status answer; Attu and the like are marked as left alone. */
export function statusComponentLines(state: Pick<ReleaseState, 'components' | 'others'>): string[] {
  return [
    ...state.components.map((x) => `• ${esc(x.component)}: \`${esc(x.image)}\` ${x.readyReplicas}/${x.replicas} ready${x.paused ? ` :warning: *PAUSED* (${esc(pausedWhy(x))})` : ''}`),
    ...state.others.map((x) => `• ${esc(x.component)}: \`${esc(x.image)}\` (${esc(x.deployment)}): not Milvus, left alone`),
  ];
}
