/**
 * What the Slack client and Slack's servers do when a person acts: a typed `/milvus …`, a click on
 * a button, opening the App Home. Each becomes the request Slack would send to the app, signed
 * with the app's signing secret (the same signing as the tests), its response_url pointing back
 * into the stub so that answers show to that person. The stub's page calls it for clicks in the
 * browser; the demo story calls it to play itself; both go through exactly this path.
 */
import { randomBytes } from 'node:crypto';
import { blockActionPayload, blockActionsBody, postSigned, slashCommandBody } from './slack-sign.js';
import type { SlackStub, StubMessage } from './slack-stub.js';

export interface Person {
  readonly id: string;
  readonly name: string;
}

export interface SlackClientOptions {
  /** The app's request URL (`…/slack/events`). */
  readonly appUrl: string;
  readonly signingSecret: string;
  /** The people who can act in the page, first one selected. */
  readonly people: readonly Person[];
  /** The channel the page opens on. */
  readonly channel: string;
  readonly channelName?: string;
  /** Whether the page lets a person type and click (DEMO_INTERACTIVE), or only watch. */
  readonly interactive: boolean;
}

/** A thing a person did, for the page's narration ("alice used /milvus …"). */
export interface ClientEvent {
  readonly at: number;
  /** Sorts it among the channel's messages. */
  readonly ts: string;
  readonly channel: string;
  readonly user: string;
  readonly kind: 'command' | 'click';
  readonly text: string;
}

export interface ClickTarget {
  readonly channel: string;
  readonly message_ts: string;
  readonly action_id: string;
  /** Which button when several share an action_id across blocks. */
  readonly block_id?: string;
  /** The button's value; defaults to the value of that button in the message. */
  readonly value?: string;
}

export interface ActResult {
  readonly ok: boolean;
  readonly status: number;
  /** A sentence for the person when the app refused the request at HTTP level. */
  readonly error?: string;
}

export class SlackClientError extends Error {}

interface FoundButton {
  readonly value: string;
  readonly block_id: string;
  readonly label: string;
}

function findButton(message: StubMessage, actionId: string, blockId: string | undefined): FoundButton | null {
  for (const block of message.blocks ?? []) {
    if (!isRecord(block) || block.type !== 'actions' || !Array.isArray(block.elements)) continue;
    if (blockId !== undefined && block.block_id !== blockId) continue;
    for (const el of block.elements) {
      if (!isRecord(el) || el.type !== 'button' || el.action_id !== actionId) continue;
      const label = isRecord(el.text) && typeof el.text.text === 'string' ? el.text.text : actionId;
      return { value: typeof el.value === 'string' ? el.value : '', block_id: typeof block.block_id === 'string' ? block.block_id : '', label };
    }
  }
  return null;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export class SlackClient {
  readonly events: ClientEvent[] = [];
  private seq = 0;

  constructor(
    private readonly stub: SlackStub,
    readonly options: SlackClientOptions,
  ) {}

  get people(): readonly Person[] {
    return this.options.people;
  }

  person(id: string): Person {
    const p = this.options.people.find((x) => x.id === id);
    if (!p) throw new SlackClientError(`unknown demo user ${id}: one of ${this.options.people.map((x) => x.id).join(', ')}`);
    return p;
  }

  /** A person types `/milvus <text>` in a channel. */
  async command(userId: string, channel: string, text: string): Promise<ActResult> {
    const who = this.person(userId);
    const trimmed = text.trim().replace(/^\/milvus\s*/, '');
    this.note({ channel, user: who.id, kind: 'command', text: `/milvus ${trimmed}` });
    const body = slashCommandBody({
      text: trimmed,
      user_id: who.id,
      user_name: who.name,
      channel_id: channel,
      channel_name: this.options.channelName ?? 'ops',
      response_url: this.stub.responseUrl(undefined, { channel, user: who.id }),
    });
    return this.send(body);
  }

  /** A person clicks a button of a message (after its confirm dialog, if it has one). */
  async click(userId: string, target: ClickTarget): Promise<ActResult> {
    const who = this.person(userId);
    const message = this.stub.messages(target.channel).find((m) => m.ts === target.message_ts);
    if (!message) throw new SlackClientError(`no message ${target.message_ts} in ${target.channel}`);
    const button = findButton(message, target.action_id, target.block_id);
    if (!button) throw new SlackClientError(`message ${target.message_ts} has no button ${target.action_id}${target.block_id ? ` in block ${target.block_id}` : ''}: it may have been answered already`);
    this.note({ channel: target.channel, user: who.id, kind: 'click', text: `clicked ${button.label}` });
    const payload = blockActionPayload({
      action_id: target.action_id,
      value: target.value ?? button.value,
      block_id: button.block_id || undefined,
      action_text: button.label,
      user_id: who.id,
      user_name: who.name,
      channel_id: target.channel,
      channel_name: this.options.channelName ?? 'ops',
      message_ts: message.ts,
      ...(message.thread_ts && message.thread_ts !== message.ts ? { thread_ts: message.thread_ts } : {}),
      message_text: message.text,
      message_blocks: message.blocks ?? [],
      response_url: this.stub.responseUrl(undefined, { channel: target.channel, user: who.id }),
    });
    return this.send(blockActionsBody(payload));
  }

  /** A person opens the app's Home tab: Slack sends `app_home_opened` (Events API, JSON). */
  async openHome(userId: string): Promise<ActResult> {
    const who = this.person(userId);
    const { identity } = this.stub;
    const now = Date.now() / 1000;
    const body = JSON.stringify({
      token: 'gIkuvaNzQIHg97ATvDxqgjtO',
      team_id: identity.team_id,
      api_app_id: identity.app_id,
      event: { type: 'app_home_opened', user: who.id, channel: `D0${who.id.slice(1, 9)}`, tab: 'home', event_ts: now.toFixed(6), ...(this.stub.home(who.id) ? { view: { id: this.stub.home(who.id)!.id } } : {}) },
      type: 'event_callback',
      event_id: `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
      event_time: Math.floor(now),
      authorizations: [{ team_id: identity.team_id, user_id: identity.user_id, is_bot: true, is_enterprise_install: false }],
      is_ext_shared_channel: false,
    });
    return this.send(body, 'application/json');
  }

  private note(e: Omit<ClientEvent, 'at' | 'ts'>): void {
    this.seq += 1;
    // Between what the channel already shows and the bot's answer to it: after the last message or
    // ephemeral, and a millisecond before now (a wall-clock stub stamps the answer at now or later).
    const micros = (Date.now() - 1) * 1000;
    const now = `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
    const shown = [...this.stub.messages(e.channel).map((m) => m.ts), ...this.stub.ephemerals(e.channel).map((m) => m.message_ts), now];
    const last = shown.reduce((a, b) => (b > a ? b : a));
    this.events.push({ ...e, at: Date.now(), ts: `${last}${String(this.seq).padStart(4, '0')}` });
  }

  private async send(body: string, contentType = 'application/x-www-form-urlencoded'): Promise<ActResult> {
    const res = await postSigned(this.options.appUrl, body, { signingSecret: this.options.signingSecret, contentType });
    if (res.status === 200) return { ok: true, status: 200 };
    return { ok: false, status: res.status, error: `the app answered HTTP ${res.status}${res.body ? `: ${res.body.slice(0, 200)}` : ''}` };
  }
}

