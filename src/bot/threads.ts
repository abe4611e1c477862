/**
 * A request's place in Slack: its plan card (with the buttons) and, in the card's thread, the
 * progress message the thread updater edits. Both are recorded in the request.
 */
import type { Logger } from 'pino';
import type { RequestStore } from '../upgrade/ports.js';
import type { UpgradeRequest } from '../upgrade/requests.js';
import { actorOf, ephemeral, slackErrorOf, type Caller } from './replies.js';
import { esc, planCard, progressMessage } from './views.js';

export interface ThreadDeps {
  readonly store: Pick<RequestStore, 'setPlace' | 'setPhase'>;
  readonly logger: Logger;
  readonly now: () => number;
  /** Names the approvers on a card (from the access rules). */
  readonly approversText: (request: UpgradeRequest) => string;
}

/** Posts the card and, in its thread, the progress message; with `threadTs`, only the progress message there. */
export async function postThread(d: ThreadDeps, request: UpgradeRequest, c: Caller, threadTs?: string): Promise<void> {
  const now = d.now();
  let messageTs = threadTs;
  if (!threadTs) {
    const card = planCard(request, d.approversText(request), now);
    const posted = await c.client.chat.postMessage({ channel: c.channel, text: card.text, blocks: card.blocks });
    messageTs = posted.ts!;
    await d.store.setPlace(request.id, { channel: c.channel, messageTs });
  }
  const view = progressMessage(request, [], now, { canRollBack: false });
  const progress = await c.client.chat.postMessage({ channel: c.channel, thread_ts: messageTs, text: view.text, blocks: view.blocks });
  await d.store.setPlace(request.id, { channel: c.channel, messageTs: messageTs!, progressTs: progress.ts! });
}

/** A rollback that needs approval gets its own card (with the buttons) inside the upgrade's thread. */
export async function postCardInThread(d: ThreadDeps, request: UpgradeRequest, c: Caller, threadTs: string): Promise<void> {
  const now = d.now();
  const card = planCard(request, d.approversText(request), now);
  const posted = await c.client.chat.postMessage({ channel: c.channel, thread_ts: threadTs, text: card.text, blocks: card.blocks });
  await d.store.setPlace(request.id, { channel: c.channel, messageTs: posted.ts! });
  const view = progressMessage(request, [], now, { canRollBack: false });
  const progress = await c.client.chat.postMessage({ channel: c.channel, thread_ts: threadTs, text: view.text, blocks: view.blocks });
  await d.store.setPlace(request.id, { channel: c.channel, messageTs: posted.ts!, progressTs: progress.ts! });
}

/**
 * The plan card could not be posted (the bot is not in the channel, a DM...): nobody could
 * approve the request, so it ends now and frees the release; the person is told why.
 */
export async function abandon(d: ThreadDeps, request: UpgradeRequest, c: Caller, err: unknown): Promise<void> {
  const why = slackErrorOf(err);
  d.logger.warn({ request: request.id, channel: c.channel, err: why }, 'plan card not posted; request ended');
  await d.store.setPhase(request.id, 'failed', actorOf(c), { error: `the plan card could not be posted in ${c.channel}: ${why}`, finishedAt: d.now() });
  const hint = /not_in_channel|channel_not_found/.test(why) ? ' Invite the bot to this channel (`/invite @milvus-upgrade-bot`) or ask in a channel it is in.' : '';
  await ephemeral(c, `:warning: I could not post the plan card here (${esc(why)}), so ${esc(request.id)} was ended and ${esc(request.release)} is free again; nothing was changed.${hint}`);
}

/**
 * Posts a new request's card where it is voted on and followed; a card that cannot be posted
 * ends the request (see abandon). With `inThread`, a rollback's place inside its upgrade's thread.
 * True when posted.
 */
export async function announce(d: ThreadDeps, request: UpgradeRequest, c: Caller, inThread?: { readonly ts: string; readonly card: boolean }): Promise<boolean> {
  try {
    if (inThread?.card) await postCardInThread(d, request, c, inThread.ts);
    else await postThread(d, request, c, inThread?.ts);
    return true;
  } catch (err) {
    await abandon(d, request, c, err);
    return false;
  }
}
