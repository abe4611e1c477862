/**
 * Build and send correctly signed Slack requests (slash commands, interactivity) to a Bolt HTTP
 * receiver. Signing follows Slack's v0 scheme:
 *   x-slack-signature = 'v0=' + hex(HMAC-SHA256(signingSecret, `v0:${timestamp}:${rawBody}`))
 * Bolt rejects a bad signature or a timestamp older than 5 minutes with HTTP 401 (empty body).
 * Bolt only parses form bodies when content-type is exactly `application/x-www-form-urlencoded`
 * (no `; charset=…`), which is what postSigned sends by default.
 */
import { createHmac, randomBytes } from 'node:crypto';

export interface SlackSignatureHeaders {
  'x-slack-signature': string;
  'x-slack-request-timestamp': string;
}

export function signSlackRequest(signingSecret: string, body: string, timestamp: number = Math.floor(Date.now() / 1000)): SlackSignatureHeaders {
  const hex = createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex');
  return { 'x-slack-signature': `v0=${hex}`, 'x-slack-request-timestamp': String(timestamp) };
}

/** A trigger_id shaped like Slack's (`<digits>.<digits>.<hex>`). */
export function fakeTriggerId(): string {
  return `${Date.now()}.${Math.floor(Math.random() * 1e12)}.${randomBytes(16).toString('hex')}`;
}

export interface SlashCommandFields {
  command?: string;
  text: string;
  user_id: string;
  user_name?: string;
  channel_id: string;
  channel_name?: string;
  team_id?: string;
  team_domain?: string;
  api_app_id?: string;
  response_url?: string;
  trigger_id?: string;
}

/** Form-encoded body of a slash command, with the fields in the order Slack sends them. */
export function slashCommandBody(f: SlashCommandFields): string {
  const teamId = f.team_id ?? 'T0STUBTEAM';
  const params = new URLSearchParams([
    ['token', 'gIkuvaNzQIHg97ATvDxqgjtO'], // deprecated verification token; Bolt ignores it
    ['team_id', teamId],
    ['team_domain', f.team_domain ?? 'stub-team'],
    ['channel_id', f.channel_id],
    ['channel_name', f.channel_name ?? 'ops'],
    ['user_id', f.user_id],
    ['user_name', f.user_name ?? f.user_id.toLowerCase()],
    ['command', f.command ?? '/milvus'],
    ['text', f.text],
    ['api_app_id', f.api_app_id ?? 'A0STUBAPP'],
    ['is_enterprise_install', 'false'],
    ['response_url', f.response_url ?? `https://hooks.slack.com/commands/${teamId}/1234567890123/${randomBytes(12).toString('hex')}`],
    ['trigger_id', f.trigger_id ?? fakeTriggerId()],
  ]);
  return params.toString();
}

/** Interactivity body: `payload=<urlencoded JSON>`, form-encoded as Slack sends it. */
export function blockActionsBody(payload: object): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export interface BlockActionOptions {
  user_id: string;
  user_name?: string;
  channel_id: string;
  channel_name?: string;
  message_ts: string;
  thread_ts?: string;
  action_id: string;
  value: string;
  block_id?: string;
  team_id?: string;
  response_url?: string;
  trigger_id?: string;
  /** The button's label; defaults to the action_id. */
  action_text?: string;
  /** The message the button sits in (as it was posted); defaults to empty text, no blocks. */
  message_text?: string;
  message_blocks?: unknown[];
  /** The bot that posted the message. */
  bot_user_id?: string;
  bot_id?: string;
}

export interface BlockActionPayload {
  type: 'block_actions';
  user: { id: string; username: string; name: string; team_id: string };
  api_app_id: string;
  token: string;
  container: { type: 'message'; message_ts: string; channel_id: string; is_ephemeral: false; thread_ts?: string };
  trigger_id: string;
  team: { id: string; domain: string };
  enterprise: null;
  is_enterprise_install: false;
  channel: { id: string; name: string };
  message: Record<string, unknown> & { ts: string; text: string; blocks: unknown[] };
  state: { values: Record<string, unknown> };
  response_url: string;
  actions: Array<{
    action_id: string;
    block_id: string;
    text: { type: 'plain_text'; text: string; emoji: boolean };
    value: string;
    type: 'button';
    action_ts: string;
  }>;
}

/** A realistic `block_actions` payload for a button click on a bot message. */
export function blockActionPayload(o: BlockActionOptions): BlockActionPayload {
  const teamId = o.team_id ?? 'T0STUBTEAM';
  const userName = o.user_name ?? o.user_id.toLowerCase();
  const nowSec = Date.now() / 1000;
  const message: BlockActionPayload['message'] = {
    type: 'message',
    subtype: 'bot_message',
    text: o.message_text ?? '',
    ts: o.message_ts,
    user: o.bot_user_id ?? 'U0STUBBOT',
    bot_id: o.bot_id ?? 'B0STUBBOT',
    app_id: 'A0STUBAPP',
    team: teamId,
    blocks: o.message_blocks ?? [],
  };
  if (o.thread_ts) message.thread_ts = o.thread_ts;
  const container: BlockActionPayload['container'] = { type: 'message', message_ts: o.message_ts, channel_id: o.channel_id, is_ephemeral: false };
  if (o.thread_ts) container.thread_ts = o.thread_ts;
  return {
    type: 'block_actions',
    user: { id: o.user_id, username: userName, name: userName, team_id: teamId },
    api_app_id: 'A0STUBAPP',
    token: 'gIkuvaNzQIHg97ATvDxqgjtO',
    container,
    trigger_id: o.trigger_id ?? fakeTriggerId(),
    team: { id: teamId, domain: 'stub-team' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: o.channel_id, name: o.channel_name ?? 'ops' },
    message,
    state: { values: {} },
    response_url: o.response_url ?? `https://hooks.slack.com/actions/${teamId}/1234567890123/${randomBytes(12).toString('hex')}`,
    actions: [
      {
        action_id: o.action_id,
        block_id: o.block_id ?? randomBytes(3).toString('base64url'),
        text: { type: 'plain_text', text: o.action_text ?? o.action_id, emoji: true },
        value: o.value,
        type: 'button',
        action_ts: nowSec.toFixed(6),
      },
    ],
  };
}

export interface PostSignedOptions {
  signingSecret: string;
  /** Default `application/x-www-form-urlencoded` (exactly; Bolt compares it verbatim). */
  contentType?: string;
  /** Unix seconds; default now. Use `now - 360` for a stale request. */
  timestamp?: number;
  /** Overrides the computed `x-slack-signature` (for bad-signature tests). */
  signature?: string;
  /** Extra headers, e.g. `x-slack-retry-num`. */
  headers?: Record<string, string>;
}

export interface PostSignedResult {
  status: number;
  body: string;
  /** Wall time from sending to the full response body. */
  ms: number;
}

export async function postSigned(url: string, body: string, opts: PostSignedOptions): Promise<PostSignedResult> {
  const signed = signSlackRequest(opts.signingSecret, body, opts.timestamp);
  const headers: Record<string, string> = {
    'content-type': opts.contentType ?? 'application/x-www-form-urlencoded',
    'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
    ...signed,
    ...opts.headers,
  };
  if (opts.signature !== undefined) headers['x-slack-signature'] = opts.signature;
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, body: text, ms: performance.now() - t0 };
}
