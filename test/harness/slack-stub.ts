/**
 * A local stand-in for the Slack Web API, for tests that run the real Bolt app.
 *
 * Point a WebClient (or Bolt's `clientOptions`) at `stub.url`:
 *   new WebClient('xoxb-test', { slackApiUrl: stub.url })
 *   new App({ token, signingSecret, clientOptions: { slackApiUrl: stub.url } })
 * WebClient POSTs to `${slackApiUrl}${method}` (it appends a `/` if missing), so `stub.url` is
 * `http://127.0.0.1:<port>/api/`.
 *
 * It records every call, keeps the state of messages (posts, updates, deletes, reactions),
 * answers the methods a bot uses the way Slack does, can inject faults (429 with Retry-After,
 * 500, `ok:false` errors, slow answers), and serves the channels as the Slack client shows them
 * (`GET /`, `GET /channel/:id`, slack-page.ts: rendered Block Kit, threads, ephemerals, App Home)
 * and `GET /state.json`. With an interactive `stub.client` attached (slack-client.ts), the page's
 * commands and clicks reach the app as signed requests, exactly as Slack sends them.
 *
 * It also accepts `POST /response/:id` as a stand-in for `response_url` webhooks: such calls are
 * recorded with method `response_url` (see `stub.responseUrl(id)`).
 *
 * It refuses what Slack refuses: blocks that break a Block Kit rule (block-kit-rules.ts) answer
 * `invalid_blocks` with Slack's `errors` and `response_metadata.messages`; views that do answer
 * `invalid_arguments`; a `text` over 40,000 characters is truncated with Slack's
 * `message_truncated` warning; an ephemeral for someone outside a channel with declared members
 * answers `user_not_in_channel`; a method it does not implement answers `unknown_method`; a
 * response_url takes at most 5 posts within 30 minutes (then HTTP 404 `used_url` / `expired_url`).
 *
 * Tokens are recorded in `RecordedCall.token` but never logged or rendered.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SlackClient } from './slack-client.js';
import { servePage } from './slack-page.js';
import { asMessages, MAX_MESSAGE_TEXT, validateBlocks, validateView } from './block-kit-rules.js';

export interface RecordedCall {
  /** Web API method, e.g. `chat.postMessage`; `response_url` for POSTs to `/response/:id`. */
  method: string;
  /** Decoded arguments (form fields are strings; `blocks`/`attachments`/`view`/`metadata` JSON-decoded). The token is not in here. */
  args: Record<string, unknown>;
  /** The bearer token (from `Authorization`, or a `token` body field). Never logged. */
  token?: string;
  /** `Date.now()` when the request body had been read. */
  at: number;
  /** The JSON body the stub answered with. */
  response: unknown;
  /** HTTP status the stub answered with. */
  status: number;
}

export interface StubReaction {
  name: string;
  count: number;
  users: string[];
}

export interface StubMessage {
  channel: string;
  ts: string;
  /** Set on thread replies (and on a parent once it has replies, as Slack does). */
  thread_ts?: string;
  text: string;
  blocks?: unknown[];
  attachments?: unknown[];
  metadata?: unknown;
  /** The bot user that posted it. */
  user: string;
  bot_id: string;
  /** How many times chat.update changed it. */
  updates: number;
  reactions: StubReaction[];
  reply_count?: number;
}

export interface StubEphemeral {
  channel: string;
  user: string;
  message_ts: string;
  thread_ts?: string;
  text: string;
  blocks?: unknown[];
}

/** An App Home tab as the bot last published it for one user (views.publish). */
export interface StubHome {
  id: string;
  user_id: string;
  view: unknown;
  /** How many times views.publish set it. */
  publishes: number;
}

export interface StubView {
  id: string;
  trigger_id: string;
  view: unknown;
}

export type Fault =
  | { status: 429; retryAfter?: number }
  | { status: 500 }
  | { error: string }
  /** Answer normally, but only after `delayMs` (state changes apply at once). */
  | { delayMs: number };

export interface StubIdentity {
  team_id: string;
  team: string;
  user_id: string;
  user: string;
  bot_id: string;
  app_id: string;
}

/**
 * A channel as the stub knows it: fields merged into conversations.info answers, plus who is in it.
 */
export interface StubChannel {
  /** `false`: the bot is not in this channel (see `SlackStub.channels`). */
  is_member?: boolean;
  /**
   * The people in the channel. Declared, chat.postEphemeral to anyone else answers
   * `user_not_in_channel`, as Slack does. Not declared, anyone is taken to be in it (so tests that
   * do not care about membership need not list everyone). Not shown in conversations.info.
   */
  members?: string[];
  [field: string]: unknown;
}

/** Slack keeps a response_url for 30 minutes and 5 uses. */
export const RESPONSE_URL_USES = 5;
export const RESPONSE_URL_TTL_MS = 30 * 60_000;

export interface SlackStubOptions {
  port?: number;
  /** Defaults: T0STUBTEAM / U0STUBBOT / B0STUBBOT / A0STUBAPP. */
  identity?: Partial<StubIdentity>;
  /** If given, only these tokens are accepted; otherwise any `xox?-…` token is. */
  tokens?: string[];
  /**
   * Message ts from the wall clock, as Slack's are (the page shows their times beside the bot's
   * own dates); otherwise a fixed sequence from 1700000000.000100 that tests can predict.
   */
  wallClockTs?: boolean;
}

export interface SlackStub {
  /** Give this to WebClient / Bolt as `slackApiUrl`: `http://127.0.0.1:<port>/api/`. */
  readonly url: string;
  /** `http://127.0.0.1:<port>` (HTML view at `/`, `/channel/:id`, `/state.json`). */
  readonly baseUrl: string;
  readonly port: number;
  readonly identity: StubIdentity;
  /** Every call, in arrival order. Cleared by reset(). */
  readonly calls: RecordedCall[];
  /** Members of user groups for usergroups.users.list; mutate freely. Unknown group -> `no_such_subteam`. */
  userGroups: Record<string, string[]>;
  /** Overrides merged into users.info answers, by user id. */
  users: Record<string, Record<string, unknown>>;
  /**
   * Overrides merged into conversations.info answers, by channel id. `is_member: false` is a
   * channel the bot is not in (a DM, a channel nobody invited it to): chat.postMessage and
   * chat.postEphemeral there answer `not_in_channel` (public `C…`) or `channel_not_found`, as
   * Slack does; its response_url still works. `members` lists who is in it (see StubChannel).
   */
  channels: Record<string, StubChannel>;
  /**
   * The person's side of Slack for the page (typed commands, clicks, the Home tab), once the app
   * to send to is known; null: the page only shows.
   */
  client: SlackClient | null;
  /** Calls to one method, in order. */
  callsTo(method: string): RecordedCall[];
  /** Current (not deleted) messages, after updates, in post order. */
  messages(channel?: string): StubMessage[];
  /** The parent (if known) followed by its replies in order. */
  thread(channel: string, ts: string): StubMessage[];
  ephemerals(channel?: string): StubEphemeral[];
  views(): StubView[];
  /** The App Home a user sees (the last views.publish for them), if any. */
  home(userId: string): StubHome | undefined;
  /**
   * A `response_url` that posts back into this stub (recorded as method `response_url`). Given
   * `to`, an ephemeral answer posted there (Slack's default) also shows in `ephemerals()` as seen
   * by that user in that channel, as Slack shows it; a later post with `replace_original: true`
   * replaces that answer in place and one with `delete_original: true` removes it (the original
   * of a slash command's response_url is the answer posted through it). Like Slack's, it takes
   * RESPONSE_URL_USES posts within RESPONSE_URL_TTL_MS of being handed out.
   */
  responseUrl(id?: string, to?: { channel: string; user: string }): string;
  /** Make the next `times` calls to `method` (or `'*'` for any) fail with `fault`. */
  failNext(method: string, fault: Fault, times?: number): void;
  /** Resolves once `predicate(calls)` holds; re-checked on every recorded call. */
  waitFor(predicate: (calls: readonly RecordedCall[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Clears calls, messages, ephemerals, views, homes, response_url uses and pending faults (keeps userGroups/users/channels and the ts counter). */
  reset(): void;
  close(): Promise<void>;
}

/** Fields WebClient JSON-encodes into form strings that we decode back. */
const JSON_FIELDS = ['blocks', 'attachments', 'view', 'metadata'];

interface Waiter {
  predicate: (calls: readonly RecordedCall[]) => boolean;
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

interface PendingFault {
  method: string;
  fault: Fault;
  remaining: number;
}

interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  delayMs?: number;
}

export async function startSlackStub(opts: SlackStubOptions = {}): Promise<SlackStub> {
  const identity: StubIdentity = {
    team_id: 'T0STUBTEAM',
    team: 'Stub Team',
    user_id: 'U0STUBBOT',
    user: 'milvus-bot',
    bot_id: 'B0STUBBOT',
    app_id: 'A0STUBAPP',
    ...opts.identity,
  };
  const allowedTokens = opts.tokens ? new Set(opts.tokens) : undefined;

  const calls: RecordedCall[] = [];
  let messages: StubMessage[] = [];
  let ephemerals: StubEphemeral[] = [];
  let views: StubView[] = [];
  const homes = new Map<string, StubHome>();
  let faults: PendingFault[] = [];
  let waiters: Waiter[] = [];
  let tsCounter = 0;
  let lastMicros = 0;
  let viewCounter = 0;
  const responseTargets = new Map<string, { channel: string; user: string }>();
  /** Per response_url id: when it was handed out, how often it was used, the answer it posted last. */
  const responseUses = new Map<string, { issuedAt: number; uses: number; original?: StubEphemeral }>();
  /** Slack's answer to a post in a channel the bot is not in, or null. */
  const notMember = (channel: string): string | null =>
    stubRef.channels[channel]?.is_member === false ? (channel.startsWith('C') ? 'not_in_channel' : 'channel_not_found') : null;
  /** Slack's answer to an ephemeral for someone who is not in the channel, or null (undeclared: anyone is in). */
  const userOutside = (channel: string, user: string): string | null => {
    const members = stubRef.channels[channel]?.members;
    return members && !members.includes(user) ? 'user_not_in_channel' : null;
  };

  const nextTs = (): string => {
    tsCounter += 1;
    // Wall clock: strictly increasing even within one millisecond, as ts must be unique.
    const micros = opts.wallClockTs ? Math.max(Date.now() * 1000, lastMicros + 100) : 1_700_000_000_000_000 + tsCounter * 100;
    lastMicros = micros;
    return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
  };

  const find = (channel: string, ts: string): StubMessage | undefined => messages.find((m) => m.channel === channel && m.ts === ts);
  const copy = <T>(v: T): T => structuredClone(v);

  const record = (c: RecordedCall): void => {
    calls.push(c);
    for (const w of [...waiters]) {
      let hit: boolean;
      try {
        hit = w.predicate(calls);
      } catch (e) {
        clearTimeout(w.timer);
        waiters = waiters.filter((x) => x !== w);
        w.reject(e instanceof Error ? e : new Error(String(e)));
        continue;
      }
      if (hit) {
        clearTimeout(w.timer);
        waiters = waiters.filter((x) => x !== w);
        w.resolve();
      }
    }
  };

  const takeFault = (method: string): Fault | undefined => {
    const f = faults.find((x) => x.method === method) ?? faults.find((x) => x.method === '*');
    if (!f) return undefined;
    f.remaining -= 1;
    if (f.remaining <= 0) faults = faults.filter((x) => x !== f);
    return f.fault;
  };

  const messageView = (m: StubMessage): Record<string, unknown> => {
    const out: Record<string, unknown> = {
      type: 'message',
      subtype: 'bot_message',
      text: m.text,
      user: m.user,
      bot_id: m.bot_id,
      app_id: identity.app_id,
      team: identity.team_id,
      ts: m.ts,
    };
    if (m.thread_ts) out.thread_ts = m.thread_ts;
    if (m.blocks) out.blocks = copy(m.blocks);
    if (m.attachments) out.attachments = copy(m.attachments);
    if (m.metadata) out.metadata = copy(m.metadata);
    if (m.reactions.length) out.reactions = copy(m.reactions);
    if (m.reply_count) out.reply_count = m.reply_count;
    if (m.updates > 0) out.edited = { user: m.user, ts: m.ts };
    return out;
  };

  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);
  const arr = (v: unknown): unknown[] | undefined => (Array.isArray(v) ? v : undefined);
  const ok = (body: Record<string, unknown> = {}): Answer => ({ status: 200, body: { ok: true, ...body } });
  const err = (error: string): Answer => ({ status: 200, body: { ok: false, error } });
  /** Slack's refusal of blocks: every error, bare in `errors` and with its level in the metadata. */
  const invalidBlocks = (errors: string[]): Answer => ({ status: 200, body: { ok: false, error: 'invalid_blocks', errors, response_metadata: { messages: asMessages(errors) } } });
  /** Blocks as given: undefined when absent, an Answer when Slack would refuse them, else the array. */
  const blocksOf = (a: Record<string, unknown>): unknown[] | undefined | Answer => {
    if (a.blocks === undefined || a.blocks === '') return undefined;
    // A blocks field that is not a JSON array never reaches the Block Kit rules.
    if (!Array.isArray(a.blocks)) return err('invalid_blocks_format');
    const errors = validateBlocks(a.blocks, 'message');
    return errors.length ? invalidBlocks(errors) : a.blocks;
  };
  const isAnswer = (v: unknown): v is Answer => typeof v === 'object' && v !== null && !Array.isArray(v) && 'status' in v;
  /** Slack truncates a long `text` and still posts, with a warning in the answer. */
  const TRUNCATED = { response_metadata: { messages: [`[WARN] Your message was truncated but still posted. The \`text\` field accepts up to 40,000 characters.`], warnings: ['message_truncated'] } };
  const textOf = (a: Record<string, unknown>): { text: string; truncated: boolean } => {
    const text = str(a.text) ?? '';
    return text.length > MAX_MESSAGE_TEXT ? { text: text.slice(0, MAX_MESSAGE_TEXT), truncated: true } : { text, truncated: false };
  };
  /** A view Slack would refuse: `invalid_arguments`, the reasons in the metadata. */
  const viewRefusal = (view: unknown, surface: 'modal' | 'home'): Answer | null => {
    const errors = validateView(view, surface);
    return errors.length ? { status: 200, body: { ok: false, error: 'invalid_arguments', response_metadata: { messages: asMessages(errors) } } } : null;
  };

  const handlers: Record<string, (a: Record<string, unknown>) => Answer> = {
    'api.test': (a) => ok({ args: a }),
    'auth.test': () =>
      ok({
        url: `https://${identity.team.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.slack.com/`,
        team: identity.team,
        user: identity.user,
        team_id: identity.team_id,
        user_id: identity.user_id,
        bot_id: identity.bot_id,
        is_enterprise_install: false,
      }),
    'chat.postMessage': (a) => {
      const channel = str(a.channel);
      if (!channel) return err('channel_not_found');
      const outside = notMember(channel);
      if (outside) return err(outside);
      const { text, truncated } = textOf(a);
      const blocks = blocksOf(a);
      if (isAnswer(blocks)) return blocks;
      const attachments = arr(a.attachments);
      if (!text && !blocks?.length && !attachments?.length) return err('no_text');
      const threadTs = str(a.thread_ts) || undefined;
      const m: StubMessage = {
        channel,
        ts: nextTs(),
        text,
        user: identity.user_id,
        bot_id: identity.bot_id,
        updates: 0,
        reactions: [],
      };
      if (threadTs) m.thread_ts = threadTs;
      if (blocks) m.blocks = blocks;
      if (attachments) m.attachments = attachments;
      if (a.metadata !== undefined) m.metadata = a.metadata;
      messages.push(m);
      if (threadTs) {
        const parent = find(channel, threadTs);
        if (parent) {
          parent.thread_ts = parent.ts;
          parent.reply_count = (parent.reply_count ?? 0) + 1;
        }
      }
      return ok({ channel, ts: m.ts, message: messageView(m), ...(truncated ? TRUNCATED : {}) });
    },
    'chat.update': (a) => {
      const channel = str(a.channel);
      const ts = str(a.ts);
      if (!channel) return err('channel_not_found');
      if (!ts) return err('message_not_found');
      const m = find(channel, ts);
      if (!m) return err('message_not_found');
      const blocks = blocksOf(a);
      if (isAnswer(blocks)) return blocks;
      const { text, truncated } = textOf(a);
      if (a.text !== undefined) m.text = text;
      if (a.blocks !== undefined) m.blocks = blocks ?? [];
      if (a.attachments !== undefined) m.attachments = arr(a.attachments) ?? [];
      if (a.metadata !== undefined) m.metadata = a.metadata;
      m.updates += 1;
      return ok({ channel, ts, text: m.text, message: messageView(m), ...(truncated ? TRUNCATED : {}) });
    },
    'chat.delete': (a) => {
      const channel = str(a.channel);
      const ts = str(a.ts);
      if (!channel) return err('channel_not_found');
      const m = ts ? find(channel, ts) : undefined;
      if (!m) return err('message_not_found');
      messages = messages.filter((x) => x !== m);
      return ok({ channel, ts });
    },
    'chat.postEphemeral': (a) => {
      const channel = str(a.channel);
      const user = str(a.user);
      if (!channel) return err('channel_not_found');
      if (!user) return err('user_not_found');
      const outside = notMember(channel) ?? userOutside(channel, user);
      if (outside) return err(outside);
      const { text, truncated } = textOf(a);
      const blocks = blocksOf(a);
      if (isAnswer(blocks)) return blocks;
      if (!text && !blocks?.length && !arr(a.attachments)?.length) return err('no_text');
      const e: StubEphemeral = { channel, user, message_ts: nextTs(), text };
      const threadTs = str(a.thread_ts);
      if (threadTs) e.thread_ts = threadTs;
      if (blocks) e.blocks = blocks;
      ephemerals.push(e);
      return ok({ message_ts: e.message_ts, ...(truncated ? TRUNCATED : {}) });
    },
    'reactions.add': (a) => {
      const channel = str(a.channel);
      const ts = str(a.timestamp);
      const name = str(a.name);
      if (!channel) return err('channel_not_found');
      if (!name) return err('invalid_name');
      const m = ts ? find(channel, ts) : undefined;
      if (!m) return err('message_not_found');
      let r = m.reactions.find((x) => x.name === name);
      if (r?.users.includes(identity.user_id)) return err('already_reacted');
      if (!r) {
        r = { name, count: 0, users: [] };
        m.reactions.push(r);
      }
      r.count += 1;
      r.users.push(identity.user_id);
      return ok();
    },
    'reactions.remove': (a) => {
      const channel = str(a.channel);
      const ts = str(a.timestamp);
      const name = str(a.name);
      const m = channel && ts ? find(channel, ts) : undefined;
      if (!m) return err('message_not_found');
      const r = m.reactions.find((x) => x.name === name);
      if (!r || !r.users.includes(identity.user_id)) return err('no_reaction');
      r.users = r.users.filter((u) => u !== identity.user_id);
      r.count -= 1;
      if (r.count <= 0) m.reactions = m.reactions.filter((x) => x !== r);
      return ok();
    },
    'users.info': (a) => {
      const id = str(a.user);
      if (!id) return err('user_not_found');
      const name = id.toLowerCase();
      return ok({
        user: {
          id,
          team_id: identity.team_id,
          name,
          deleted: false,
          real_name: `User ${id}`,
          tz: 'Etc/UTC',
          tz_offset: 0,
          is_admin: false,
          is_owner: false,
          is_bot: id === identity.user_id,
          is_app_user: false,
          updated: 1_700_000_000,
          profile: { real_name: `User ${id}`, display_name: name, email: `${name}@example.com`, team: identity.team_id },
          ...copy(stubRef.users[id] ?? {}),
        },
      });
    },
    'conversations.info': (a) => {
      const id = str(a.channel);
      if (!id) return err('channel_not_found');
      const isIm = id.startsWith('D');
      return ok({
        channel: {
          id,
          name: isIm ? undefined : `channel-${id.toLowerCase()}`,
          is_channel: !isIm && !id.startsWith('G'),
          is_group: id.startsWith('G'),
          is_im: isIm,
          is_private: id.startsWith('G'),
          is_archived: false,
          is_member: true,
          created: 1_700_000_000,
          creator: 'U0CREATOR',
          ...channelFields(stubRef.channels[id]),
        },
      });
    },
    'conversations.history': (a) => {
      const channel = str(a.channel);
      if (!channel) return err('channel_not_found');
      const top = messages.filter((m) => m.channel === channel && (!m.thread_ts || m.thread_ts === m.ts));
      return ok({ messages: top.reverse().map(messageView), has_more: false });
    },
    'conversations.replies': (a) => {
      const channel = str(a.channel);
      const ts = str(a.ts);
      if (!channel) return err('channel_not_found');
      const t = ts ? threadOf(channel, ts) : [];
      if (!t.length) return err('thread_not_found');
      return ok({ messages: t.map(messageView), has_more: false });
    },
    'views.open': (a) => {
      const trigger = str(a.trigger_id);
      if (!trigger) return err('invalid_arguments');
      if (!a.view || typeof a.view !== 'object') return err('invalid_arguments');
      const refused = viewRefusal(a.view, 'modal');
      if (refused) return refused;
      viewCounter += 1;
      const id = `V${String(viewCounter).padStart(9, '0')}`;
      views.push({ id, trigger_id: trigger, view: copy(a.view) });
      return ok({
        view: { id, team_id: identity.team_id, app_id: identity.app_id, bot_id: identity.bot_id, state: { values: {} }, hash: `${id}.hash`, ...copy(a.view as object) },
      });
    },
    'views.publish': (a) => {
      const userId = str(a.user_id);
      if (!userId) return err('invalid_arguments');
      if (!a.view || typeof a.view !== 'object') return err('invalid_arguments');
      const refused = viewRefusal(a.view, 'home');
      if (refused) return refused;
      const existing = homes.get(userId);
      viewCounter += existing ? 0 : 1;
      const id = existing?.id ?? `V${String(viewCounter).padStart(9, '0')}`;
      homes.set(userId, { id, user_id: userId, view: copy(a.view), publishes: (existing?.publishes ?? 0) + 1 });
      return ok({ view: { id, team_id: identity.team_id, app_id: identity.app_id, bot_id: identity.bot_id, state: { values: {} }, hash: `${id}.hash`, ...copy(a.view as object) } });
    },
    'usergroups.users.list': (a) => {
      const group = str(a.usergroup);
      const members = group ? stubRef.userGroups[group] : undefined;
      if (!members) return err('no_such_subteam');
      return ok({ users: [...members] });
    },
  };

  const threadOf = (channel: string, ts: string): StubMessage[] => {
    const parent = find(channel, ts);
    const replies = messages.filter((m) => m.channel === channel && m.thread_ts === ts && m.ts !== ts);
    return parent ? [parent, ...replies] : replies;
  };

  const tokenOf = (req: IncomingMessage, args: Record<string, unknown>): string | undefined => {
    const auth = req.headers.authorization;
    if (typeof auth === 'string') {
      const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
      if (m?.[1]) return m[1];
    }
    return typeof args.token === 'string' ? args.token : undefined;
  };
  const tokenValid = (t: string | undefined): boolean =>
    t !== undefined && (allowedTokens ? allowedTokens.has(t) : /^xox[a-z]-[\w-]+$/i.test(t));

  const parseArgs = (req: IncomingMessage, raw: string): Record<string, unknown> => {
    const ct = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    let args: Record<string, unknown> = {};
    if (ct === 'application/json') {
      try {
        const parsed: unknown = raw ? JSON.parse(raw) : {};
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) args = parsed as Record<string, unknown>;
      } catch {
        args = {};
      }
    } else {
      // application/x-www-form-urlencoded (WebClient's default); also a fallback for no content type.
      for (const [k, v] of new URLSearchParams(raw)) args[k] = v;
      for (const k of JSON_FIELDS) {
        const v = args[k];
        if (typeof v === 'string' && /^\s*[[{]/.test(v)) {
          try {
            args[k] = JSON.parse(v);
          } catch {
            /* leave as the string it was */
          }
        }
      }
    }
    return args;
  };

  const send = (res: ServerResponse, a: Answer): void => {
    const payload = JSON.stringify(a.body);
    const write = (): void => {
      if (res.destroyed) return;
      res.writeHead(a.status, { 'content-type': 'application/json; charset=utf-8', ...a.headers });
      res.end(payload);
    };
    if (a.delayMs && a.delayMs > 0) setTimeout(write, a.delayMs).unref();
    else write();
  };

  const handleApi = (req: IncomingMessage, res: ServerResponse, method: string, raw: string): void => {
    const args = parseArgs(req, raw);
    const token = tokenOf(req, args);
    delete args.token;
    const at = Date.now();
    let answer: Answer;
    const fault = takeFault(method);
    if (fault && 'status' in fault && fault.status === 429) {
      const retryAfter = fault.retryAfter ?? 1;
      answer = { status: 429, body: { ok: false, error: 'ratelimited' }, headers: { 'retry-after': String(retryAfter) } };
    } else if (fault && 'status' in fault && fault.status === 500) {
      answer = { status: 500, body: { ok: false, error: 'internal_error' } };
    } else if (fault && 'error' in fault) {
      answer = err(fault.error);
    } else if (!Object.hasOwn(handlers, method)) {
      // Slack's answer to a method it does not have (HTTP 200, like every Web API error).
      answer = { status: 200, body: { ok: false, error: 'unknown_method', req_method: method } };
    } else if (!tokenValid(token)) {
      answer = err('not_authed');
    } else {
      answer = handlers[method]!(args);
      if (fault && 'delayMs' in fault) answer.delayMs = fault.delayMs;
    }
    const rec: RecordedCall = { method, args, at, response: answer.body, status: answer.status };
    if (token !== undefined) rec.token = token;
    record(rec);
    send(res, answer);
  };

  const handleResponseUrl = (req: IncomingMessage, res: ServerResponse, id: string, raw: string): void => {
    const args = parseArgs(req, raw);
    args.response_url_id = id;
    const answer = respondThrough(id, args);
    record({ method: 'response_url', args, at: Date.now(), response: answer.body, status: answer.status });
    send(res, answer);
  };

  const flag = (v: unknown): boolean => v === true || v === 'true';

  /**
   * One post to a response_url: refused once used up or expired (webhook errors are HTTP 4xx),
   * or when its blocks break a rule; else it acts on the answer it posted before (replace or
   * delete) or posts a new ephemeral answer for the person it belongs to.
   */
  const respondThrough = (id: string, args: Record<string, unknown>): Answer => {
    const now = Date.now();
    const use = responseUses.get(id) ?? { issuedAt: now, uses: 0 };
    responseUses.set(id, use);
    if (use.uses >= RESPONSE_URL_USES) return { status: 404, body: { ok: false, error: 'used_url' } };
    if (now - use.issuedAt > RESPONSE_URL_TTL_MS) return { status: 404, body: { ok: false, error: 'expired_url' } };
    use.uses += 1;
    const blocks = blocksOf(args);
    if (isAnswer(blocks)) return { ...blocks, status: 400 };
    const { text, truncated } = textOf(args);
    const done: Answer = { status: 200, body: { ok: true, ...(truncated ? TRUNCATED : {}) } };
    if (flag(args.delete_original)) {
      if (use.original) ephemerals = ephemerals.filter((e) => e !== use.original);
      delete use.original;
      return done;
    }
    const to = responseTargets.get(id);
    if (!to || args.response_type === 'in_channel' || (!text && !blocks?.length)) return done;
    if (flag(args.replace_original) && use.original && ephemerals.includes(use.original)) {
      use.original.text = text;
      if (blocks) use.original.blocks = blocks;
      else delete use.original.blocks;
      return done;
    }
    const e: StubEphemeral = { channel: to.channel, user: to.user, message_ts: nextTs(), text };
    if (blocks) e.blocks = blocks;
    ephemerals.push(e);
    use.original = e;
    return done;
  };

  const readBody = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  const server: Server = createServer((req, res) => {
    void (async () => {
      try {
        const u = new URL(req.url ?? '/', 'http://stub.local');
        const path = u.pathname;
        const apiMatch = /^\/api\/([A-Za-z0-9_.]+)$/.exec(path);
        if (apiMatch && (req.method === 'POST' || req.method === 'GET')) {
          const raw = req.method === 'POST' ? await readBody(req) : u.searchParams.toString();
          handleApi(req, res, apiMatch[1]!, raw);
          return;
        }
        const respMatch = /^\/response\/([^/]+)$/.exec(path);
        if (respMatch && req.method === 'POST') {
          handleResponseUrl(req, res, decodeURIComponent(respMatch[1]!), await readBody(req));
          return;
        }
        if (req.method === 'GET' && path === '/state.json') {
          const ch = u.searchParams.get('channel') ?? undefined;
          const body = JSON.stringify({ messages: stubRef.messages(ch), ephemerals: stubRef.ephemerals(ch), views: stubRef.views() }, null, 2);
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
          res.end(body);
          return;
        }
        if (await servePage(req, res, u, stubRef, stubRef.client)) return;
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('not found');
      } catch (e) {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`stub error: ${e instanceof Error ? e.message : String(e)}`);
      }
    })();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const baseUrl = `http://127.0.0.1:${port}`;
  let closed = false;
  let responseCounter = 0;

  const stubRef: SlackStub = {
    url: `${baseUrl}/api/`,
    baseUrl,
    port,
    identity,
    calls,
    userGroups: {},
    users: {},
    channels: {},
    client: null,
    callsTo: (method) => calls.filter((c) => c.method === method),
    messages: (channel) => copy(messages.filter((m) => channel === undefined || m.channel === channel)),
    thread: (channel, ts) => copy(threadOf(channel, ts)),
    ephemerals: (channel) => copy(ephemerals.filter((e) => channel === undefined || e.channel === channel)),
    views: () => copy(views),
    home: (userId) => {
      const h = homes.get(userId);
      return h ? copy(h) : undefined;
    },
    responseUrl: (id = `r${Date.now().toString(36)}${(++responseCounter).toString(36)}`, to) => {
      if (to) responseTargets.set(id, to);
      if (!responseUses.has(id)) responseUses.set(id, { issuedAt: Date.now(), uses: 0 });
      return `${baseUrl}/response/${encodeURIComponent(id)}`;
    },
    failNext(method, fault, times = 1) {
      if (times > 0) faults.push({ method, fault, remaining: times });
    },
    waitFor(predicate, timeoutMs = 10_000) {
      try {
        if (predicate(calls)) return Promise.resolve();
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
      if (closed) return Promise.reject(new Error('slack stub is closed'));
      return new Promise<void>((resolve, reject) => {
        const w: Waiter = {
          predicate,
          resolve,
          reject,
          timer: setTimeout(() => {
            waiters = waiters.filter((x) => x !== w);
            const seen = calls.map((c) => (c.status === 200 && (c.response as { ok?: boolean })?.ok !== false ? c.method : `${c.method}(${describeFailure(c)})`));
            reject(
              new Error(
                `slack stub: waitFor timed out after ${timeoutMs} ms; ${calls.length} call(s) recorded: ${seen.length ? seen.join(', ') : '(none)'}`,
              ),
            );
          }, timeoutMs),
        };
        waiters.push(w);
      });
    },
    reset() {
      calls.length = 0;
      messages = [];
      ephemerals = [];
      views = [];
      homes.clear();
      responseUses.clear();
      faults = [];
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const w of waiters) {
        clearTimeout(w.timer);
        w.reject(new Error('slack stub closed while waiting'));
      }
      waiters = [];
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return stubRef;
}

/** What conversations.info shows of a channel: everything declared but who is in it. */
function channelFields(channel: StubChannel | undefined): Record<string, unknown> {
  if (!channel) return {};
  const { members: _members, ...fields } = structuredClone(channel);
  return fields;
}

function describeFailure(c: RecordedCall): string {
  const e = (c.response as { error?: unknown } | null)?.error;
  return typeof e === 'string' ? `${c.status} ${e}` : String(c.status);
}
