/**
 * How the bot answers the person who asked: privately, through the command's response_url or
 * chat.postEphemeral, whichever Slack accepts where they are; with a "planning…" notice the
 * answer replaces.
 */
import type { KnownBlock, WebClient } from '@slack/web-api';
import type { Actor } from '../upgrade/requests.js';

/** Bolt's `respond`: a post to the command's or click's response_url. */
export type Respond = (message: { text?: string; blocks?: KnownBlock[]; response_type?: 'ephemeral'; replace_original?: boolean; delete_original?: boolean }) => Promise<unknown>;

export interface Caller {
  readonly user: string;
  readonly userName?: string;
  readonly channel: string;
  readonly client: WebClient;
  /**
   * The response_url of the command or click. A command is answered there first: it works in DMs
   * and in channels the bot is not in, where Slack refuses chat.postEphemeral.
   */
  readonly respond?: Respond;
  /** What was answered: a click's answer goes in its thread (postEphemeral), else the response_url. */
  readonly source?: 'command' | 'click';
  /**
   * Set while a "planning…" notice posted through the response_url waits to be replaced: the next
   * answer takes its place (Slack's replace_original) instead of piling up under it.
   */
  readonly notice?: { pending: boolean };
}

export const actorOf = (c: Caller): Actor => ({ id: c.user, ...(c.userName ? { name: c.userName } : {}), via: 'slack' });

/**
 * A private answer to the person who asked. Commands: through their response_url, falling back to
 * chat.postEphemeral. Clicks: chat.postEphemeral in the card's thread (the bot posted the card, so
 * it is in that channel), falling back to the response_url when Slack refuses it.
 */
export async function ephemeral(c: Caller, text: string, thread_ts?: string, blocks?: KnownBlock[]): Promise<void> {
  const viaResponseUrl = async () => {
    const replace = c.notice?.pending === true;
    await c.respond!({ text, ...(blocks ? { blocks } : {}), response_type: 'ephemeral', replace_original: replace });
    if (c.notice) c.notice.pending = false;
  };
  const viaApi = async () => {
    await c.client.chat.postEphemeral({ channel: c.channel, user: c.user, text, ...(blocks ? { blocks } : {}), ...(thread_ts ? { thread_ts } : {}) });
  };
  const [first, second] = c.respond && c.source !== 'click' ? [viaResponseUrl, viaApi] : [viaApi, c.respond ? viaResponseUrl : null];
  try {
    await first();
  } catch (err) {
    if (!second) throw err;
    await second();
  }
}

/** The Web API's error code of a failed call (`not_in_channel`, `channel_not_found`...), else the message. */
export function slackErrorOf(err: unknown): string {
  const code = (err as { data?: { error?: unknown } } | null)?.data?.error;
  return typeof code === 'string' ? code : err instanceof Error ? err.message : String(err);
}

/**
 * Plans render on a worker and may take seconds: the person is told at once, through the
 * response_url, and the answer replaces the notice. Without a response_url there is nothing to
 * replace later (chat.postEphemeral messages cannot be edited), so nothing is said.
 */
export async function planningNotice(c: Caller, text: string): Promise<void> {
  if (!c.respond || !c.notice) return;
  try {
    await c.respond({ text: `:hourglass_flowing_sand: ${text}`, response_type: 'ephemeral', replace_original: false });
    c.notice.pending = true;
  } catch {
    // The notice is a courtesy; the answer still comes (through chat.postEphemeral if need be).
  }
}

/** The card is the answer: the notice that announced it goes. */
export async function dropNotice(c: Caller): Promise<void> {
  if (!c.notice?.pending || !c.respond) return;
  c.notice.pending = false;
  await c.respond({ delete_original: true }).catch(() => {});
}
