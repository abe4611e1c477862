/**
 * Proves the Slack test harness: the Web API stub behaves like Slack for a real WebClient, and the
 * signing helpers produce requests a real Bolt HTTP receiver accepts (and Bolt rejects bad ones).
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, LogLevel, verifySlackRequest, webApi } from '@slack/bolt';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { validateBlocks, validateView, type Surface } from '../harness/block-kit-rules.js';
import { RESPONSE_URL_TTL_MS, startSlackStub, type SlackStub } from '../harness/slack-stub.js';
import { blockActionPayload, blockActionsBody, postSigned, signSlackRequest, slashCommandBody } from '../harness/slack-sign.js';

const { WebClient, WebClientEvent, ErrorCode } = webApi;
const fixture = (name: string): string => readFileSync(new URL(`../fixtures/slack/${name}`, import.meta.url), 'utf8');

let stub: SlackStub;
beforeAll(async () => {
  stub = await startSlackStub();
});
afterAll(async () => {
  await stub.close();
});
afterEach(() => {
  stub.reset();
  stub.userGroups = {};
  stub.channels = {};
});

const client = (opts: Partial<ConstructorParameters<typeof WebClient>[1]> = {}): InstanceType<typeof WebClient> =>
  new WebClient('xoxb-test', { slackApiUrl: stub.url, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR, ...opts });

describe('slack stub', () => {
  it('serves the Web API under <base>/api/ as WebClient expects', () => {
    expect(stub.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
  });

  it('records posts and updates and keeps message state, with blocks decoded', async () => {
    const web = client();
    const auth = await web.auth.test();
    expect(auth).toMatchObject({ ok: true, user_id: stub.identity.user_id, bot_id: stub.identity.bot_id, team_id: stub.identity.team_id });

    const blocks = [
      { type: 'header', text: { type: 'plain_text', text: 'Upgrade my-release' } },
      { type: 'actions', elements: [{ type: 'button', action_id: 'approve', value: 'r1', text: { type: 'plain_text', text: 'Approve' } }] },
    ];
    const posted = await web.chat.postMessage({ channel: 'C1', text: 'plan card', blocks });
    expect(posted.ok).toBe(true);
    expect(posted.channel).toBe('C1');
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(posted.message?.text).toBe('plan card');

    const reply = await web.chat.postMessage({ channel: 'C1', thread_ts: posted.ts!, text: 'progress 0/5' });
    expect(Number(reply.ts)).toBeGreaterThan(Number(posted.ts));
    const updated = await web.chat.update({ channel: 'C1', ts: reply.ts!, text: 'progress 1/5' });
    expect(updated).toMatchObject({ ok: true, channel: 'C1', ts: reply.ts });

    expect(stub.calls.map((c) => c.method)).toEqual(['auth.test', 'chat.postMessage', 'chat.postMessage', 'chat.update']);
    const first = stub.callsTo('chat.postMessage')[0]!;
    expect(first.token).toBe('xoxb-test');
    expect(first.args.token).toBeUndefined();
    expect(first.args.blocks).toEqual(blocks); // JSON string in the form body, decoded
    expect(first.status).toBe(200);
    expect(first.response).toMatchObject({ ok: true, ts: posted.ts });

    const msgs = stub.messages('C1');
    expect(msgs).toHaveLength(2);
    expect(msgs[0]).toMatchObject({ ts: posted.ts, text: 'plan card', blocks, updates: 0, channel: 'C1' });
    expect(msgs[1]).toMatchObject({ ts: reply.ts, thread_ts: posted.ts, text: 'progress 1/5', updates: 1 });
    expect(stub.thread('C1', posted.ts!).map((m) => m.text)).toEqual(['plan card', 'progress 1/5']);
    expect(stub.messages('C2')).toEqual([]);
  });

  it('fails chat.update of a ts never posted with message_not_found', async () => {
    const err = await client()
      .chat.update({ channel: 'C1', ts: '1234.5678', text: 'x' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.PlatformError, data: { ok: false, error: 'message_not_found' } });
    expect(stub.calls.at(-1)?.response).toEqual({ ok: false, error: 'message_not_found' });
  });

  it('answers the other bot methods like Slack', async () => {
    const web = client();
    stub.userGroups = { S0APPROVERS: ['U1', 'U2'] };
    expect((await web.usergroups.users.list({ usergroup: 'S0APPROVERS' })).users).toEqual(['U1', 'U2']);
    await expect(web.usergroups.users.list({ usergroup: 'S0NOPE' })).rejects.toMatchObject({ data: { error: 'no_such_subteam' } });
    expect((await web.users.info({ user: 'U9' })).user).toMatchObject({ id: 'U9', is_bot: false });
    expect((await web.conversations.info({ channel: 'C9' })).channel).toMatchObject({ id: 'C9', is_member: true });
    const eph = await web.chat.postEphemeral({ channel: 'C1', user: 'U1', text: 'only you' });
    expect(eph.message_ts).toMatch(/^\d+\.\d{6}$/);
    expect(stub.ephemerals('C1')).toMatchObject([{ user: 'U1', text: 'only you' }]);
    const p = await web.chat.postMessage({ channel: 'C1', text: 'hi' });
    await web.reactions.add({ channel: 'C1', timestamp: p.ts!, name: 'white_check_mark' });
    expect(stub.messages('C1')[0]?.reactions).toEqual([{ name: 'white_check_mark', count: 1, users: [stub.identity.user_id] }]);
    const v = await web.views.open({ trigger_id: 't1', view: { type: 'modal', title: { type: 'plain_text', text: 'Reject' }, blocks: [] } });
    expect(v.view?.id).toMatch(/^V/);
    await web.chat.delete({ channel: 'C1', ts: p.ts! });
    expect(stub.messages('C1')).toEqual([]);
  });

  it('answers a method it does not have with unknown_method (HTTP 200), as Slack does', async () => {
    await expect(client().apiCall('bookmarks.list', { channel_id: 'C1' })).rejects.toMatchObject({ code: ErrorCode.PlatformError, data: { ok: false, error: 'unknown_method' } });
    expect(stub.calls.at(-1)).toMatchObject({ method: 'bookmarks.list', status: 200, response: { ok: false, error: 'unknown_method', req_method: 'bookmarks.list' } });
  });

  it('parses JSON bodies, records response_url posts, and can delay answers', async () => {
    const res = await fetch(`${stub.url}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', authorization: 'Bearer xoxb-json' },
      body: JSON.stringify({ channel: 'C3', text: 'json', blocks: [{ type: 'divider' }] }),
    });
    expect(await res.json()).toMatchObject({ ok: true, channel: 'C3' });
    expect(stub.calls[0]).toMatchObject({ token: 'xoxb-json', args: { channel: 'C3', blocks: [{ type: 'divider' }] } });

    const url = stub.responseUrl('abc');
    expect((await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'done', replace_original: false }) })).status).toBe(200);
    expect(stub.callsTo('response_url')).toMatchObject([{ args: { text: 'done', response_url_id: 'abc' } }]);

    stub.failNext('*', { delayMs: 300 });
    const t0 = Date.now();
    expect((await client().chat.postMessage({ channel: 'C3', text: 'slow' })).ok).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
  });

  it('rejects a missing or malformed token with not_authed', async () => {
    const anon = new WebClient(undefined, { slackApiUrl: stub.url, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR });
    await expect(anon.chat.postMessage({ channel: 'C1', text: 'x' })).rejects.toMatchObject({ data: { error: 'not_authed' } });
    await expect(client().chat.postMessage({ channel: 'C1', text: 'x', token: 'nonsense' })).rejects.toMatchObject({ data: { error: 'not_authed' } });
    expect(stub.messages()).toEqual([]);
  });

  it('injects a 429 with Retry-After that WebClient sees', async () => {
    stub.failNext('chat.postMessage', { status: 429, retryAfter: 7 });
    const web = client({ rejectRateLimitedCalls: true });
    const seen: number[] = [];
    web.on(WebClientEvent.RATE_LIMITED, (sec: number) => seen.push(sec));
    const err = await web.chat.postMessage({ channel: 'C1', text: 'x' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 7 });
    expect(seen).toEqual([7]);
    expect(stub.calls[0]).toMatchObject({ method: 'chat.postMessage', status: 429, response: { ok: false, error: 'ratelimited' } });
    // The fault was used up: the next call succeeds.
    expect((await web.chat.postMessage({ channel: 'C1', text: 'x' })).ok).toBe(true);
  });

  it('with retries enabled, WebClient waits Retry-After and then succeeds', async () => {
    stub.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    const web = client({ retryConfig: { retries: 2, minTimeout: 0, maxTimeout: 0 } });
    const t0 = Date.now();
    const res = await web.chat.postMessage({ channel: 'C1', text: 'after the limit' });
    expect(res.ok).toBe(true);
    const [limited, passed] = stub.callsTo('chat.postMessage');
    expect(limited?.status).toBe(429);
    expect(passed?.status).toBe(200);
    expect(passed!.at - limited!.at).toBeGreaterThanOrEqual(950);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(stub.messages('C1').map((m) => m.text)).toEqual(['after the limit']);
  });

  it('injects 500s and ok:false errors, counted by times', async () => {
    stub.failNext('chat.update', { status: 500 });
    stub.failNext('chat.postMessage', { error: 'channel_not_found' }, 2);
    const web = client();
    await expect(web.chat.update({ channel: 'C1', ts: '1.2', text: 'x' })).rejects.toMatchObject({ code: ErrorCode.HTTPError, statusCode: 500 });
    await expect(web.chat.postMessage({ channel: 'C1', text: 'x' })).rejects.toMatchObject({ data: { error: 'channel_not_found' } });
    await expect(web.chat.postMessage({ channel: 'C1', text: 'x' })).rejects.toMatchObject({ data: { error: 'channel_not_found' } });
    expect((await web.chat.postMessage({ channel: 'C1', text: 'x' })).ok).toBe(true);
  });

  it('waitFor resolves on a later call and times out listing the methods seen', async () => {
    const web = client();
    const waiting = stub.waitFor((calls) => calls.some((c) => c.method === 'reactions.add'), 5000);
    const p = await web.chat.postMessage({ channel: 'C1', text: 'x' });
    await web.reactions.add({ channel: 'C1', timestamp: p.ts!, name: 'eyes' });
    await expect(waiting).resolves.toBeUndefined();
    await expect(stub.waitFor((calls) => calls.some((c) => c.method === 'views.open'), 100)).rejects.toThrow(
      /timed out after 100 ms; 2 call\(s\) recorded: chat\.postMessage, reactions\.add/,
    );
  });

  it('renders channels and threads as escaped HTML and serves state.json', async () => {
    const web = client();
    const parent = await web.chat.postMessage({
      channel: 'C1',
      text: 'Upgrade <b>my-release</b> & "go"',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: '*plan* <script>alert(1)</script>' } },
        { type: 'actions', elements: [{ type: 'button', action_id: 'approve', value: 'r1', style: 'primary', text: { type: 'plain_text', text: 'Approve <now>' } }] },
      ],
    });
    await web.chat.postMessage({ channel: 'C1', thread_ts: parent.ts!, text: 'step 1 & "ok" > 2' });
    const html = await (await fetch(`${stub.baseUrl}/`)).text();
    // The page polls its pane once a second by default; ?refresh=0 turns that off.
    expect(html).toContain('"refreshMs":1000');
    expect(html).not.toContain('<script>alert(1)</script>');
    // mrkdwn reads <...> as a link or command, as Slack does; nothing of it reaches the page as a tag.
    expect(html).toContain('<b>plan</b> ');
    // With blocks, Slack shows the blocks and keeps `text` for notifications only.
    expect(html).not.toContain('Upgrade &lt;b&gt;');
    expect(html).toContain('step 1 &amp; &quot;ok&quot; &gt; 2');
    expect(html).toMatch(new RegExp(`class="message" data-ts="${parent.ts!.replace('.', '\\.')}"`));
    // Not interactive (no client attached): the button shows, styled, and cannot be clicked.
    expect(html).toMatch(/<button type="button" class="btn primary" data-action-id="approve" data-block-id="[^"]*" data-value="r1" disabled[^>]*>Approve &lt;now&gt;<\/button>/);
    expect(html).toMatch(/<div class="thread"[^>]*><div class="thread-count">1 reply<\/div><div class="message reply"[^>]*>.*step 1/s);
    const one = await (await fetch(`${stub.baseUrl}/channel/C1?refresh=0`)).text();
    expect(one).toContain('"refreshMs":0');
    expect(one).toContain('step 1');
    const pane = await (await fetch(`${stub.baseUrl}/fragment?channel=C1`)).text();
    expect(pane).not.toContain('<html');
    expect(pane).toContain('step 1');
    const acted = await fetch(`${stub.baseUrl}/client/action`, { method: 'POST', body: '{}' });
    expect(acted.status, 'a page with no interactive client refuses clicks').toBe(403);
    const state = (await (await fetch(`${stub.baseUrl}/state.json`)).json()) as { messages: Array<{ text: string }> };
    expect(state.messages.map((m) => m.text)).toEqual(['Upgrade <b>my-release</b> & "go"', 'step 1 & "ok" > 2']);
    expect(html).not.toContain('xoxb-test');
  });
});

const x = (n: number): string => 'x'.repeat(n);
const plain = (text: string) => ({ type: 'plain_text', text });
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });
const sectionOf = (text: string) => ({ type: 'section', text: mrkdwn(text) });
const buttonOf = (fields: Record<string, unknown> = {}) => ({ type: 'button', action_id: 'go', text: plain('Go'), value: 'v', ...fields });
const actionsOf = (...elements: unknown[]) => ({ type: 'actions', elements });
const confirmOf = (fields: Record<string, unknown> = {}) => ({ title: plain('Sure?'), text: mrkdwn('Really'), confirm: plain('Yes'), deny: plain('No'), ...fields });
const withConfirm = (fields: Record<string, unknown>) => [actionsOf(buttonOf({ confirm: confirmOf(fields) }))];
const times = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));

/**
 * One rule each: `limit` is the largest payload Slack takes, `over` the smallest it refuses, with
 * the JSON pointer its error names.
 */
const RULES: Array<{ rule: string; surface?: Surface; limit: unknown[]; over: unknown[]; error: RegExp }> = [
  { rule: 'at most 50 blocks in a message', limit: times(50, () => ({ type: 'divider' })), over: times(51, () => ({ type: 'divider' })), error: /^no more than 50 items allowed \[json-pointer:\/blocks\]$/ },
  { rule: 'at most 100 blocks in a modal', surface: 'modal', limit: times(100, () => ({ type: 'divider' })), over: times(101, () => ({ type: 'divider' })), error: /no more than 100 items allowed \[json-pointer:\/blocks\]/ },
  { rule: 'at most 100 blocks in a Home tab', surface: 'home', limit: times(100, () => ({ type: 'divider' })), over: times(101, () => ({ type: 'divider' })), error: /no more than 100 items allowed/ },
  { rule: 'block_id of 255 characters', limit: [{ type: 'divider', block_id: x(255) }], over: [{ type: 'divider', block_id: x(256) }], error: /must be less than 256 characters \[json-pointer:\/blocks\/0\/block_id\]/ },
  { rule: 'block_id unique in the message', limit: [{ type: 'divider', block_id: 'a' }, { type: 'divider', block_id: 'b' }], over: [{ type: 'divider', block_id: 'a' }, { type: 'divider', block_id: 'a' }], error: /duplicate block_id: a \[json-pointer:\/blocks\/1\/block_id\]/ },
  { rule: 'header text of 150 characters', limit: [{ type: 'header', text: plain(x(150)) }], over: [{ type: 'header', text: plain(x(151)) }], error: /must be less than 151 characters \[json-pointer:\/blocks\/0\/text\/text\]/ },
  { rule: 'header text plain_text only', limit: [{ type: 'header', text: plain('h') }], over: [{ type: 'header', text: mrkdwn('h') }], error: /must be plain_text \[json-pointer:\/blocks\/0\/text\/type\]/ },
  { rule: 'section text of 3000 characters', limit: [sectionOf(x(3000))], over: [sectionOf(x(3001))], error: /must be less than 3001 characters \[json-pointer:\/blocks\/0\/text\/text\]/ },
  { rule: 'section text not empty', limit: [sectionOf('a')], over: [sectionOf('')], error: /must be more than 0 characters \[json-pointer:\/blocks\/0\/text\/text\]/ },
  { rule: 'section needs text or fields', limit: [{ type: 'section', fields: [mrkdwn('a')] }], over: [{ type: 'section' }], error: /must provide text or fields \[json-pointer:\/blocks\/0\]/ },
  { rule: 'section fields at most 10', limit: [{ type: 'section', fields: times(10, () => mrkdwn('f')) }], over: [{ type: 'section', fields: times(11, () => mrkdwn('f')) }], error: /no more than 10 items allowed \[json-pointer:\/blocks\/0\/fields\]/ },
  { rule: 'section field of 2000 characters', limit: [{ type: 'section', fields: [mrkdwn(x(2000))] }], over: [{ type: 'section', fields: [mrkdwn(x(2001))] }], error: /must be less than 2001 characters \[json-pointer:\/blocks\/0\/fields\/0\/text\]/ },
  { rule: 'context elements at most 10', limit: [{ type: 'context', elements: times(10, () => mrkdwn('c')) }], over: [{ type: 'context', elements: times(11, () => mrkdwn('c')) }], error: /no more than 10 items allowed \[json-pointer:\/blocks\/0\/elements\]/ },
  { rule: 'actions elements at most 25', limit: [actionsOf(...times(25, (i) => buttonOf({ action_id: `a${i}` })))], over: [actionsOf(...times(26, (i) => buttonOf({ action_id: `a${i}` })))], error: /no more than 25 items allowed \[json-pointer:\/blocks\/0\/elements\]/ },
  { rule: 'button text of 75 characters', limit: [actionsOf(buttonOf({ text: plain(x(75)) }))], over: [actionsOf(buttonOf({ text: plain(x(76)) }))], error: /must be less than 76 characters \[json-pointer:\/blocks\/0\/elements\/0\/text\/text\]/ },
  { rule: 'button text plain_text only', limit: [actionsOf(buttonOf())], over: [actionsOf(buttonOf({ text: mrkdwn('Go') }))], error: /must be plain_text \[json-pointer:\/blocks\/0\/elements\/0\/text\/type\]/ },
  { rule: 'button value of 2000 characters', limit: [actionsOf(buttonOf({ value: x(2000) }))], over: [actionsOf(buttonOf({ value: x(2001) }))], error: /must be less than 2001 characters \[json-pointer:\/blocks\/0\/elements\/0\/value\]/ },
  { rule: 'button action_id of 255 characters', limit: [actionsOf(buttonOf({ action_id: x(255) }))], over: [actionsOf(buttonOf({ action_id: x(256) }))], error: /must be less than 256 characters \[json-pointer:\/blocks\/0\/elements\/0\/action_id\]/ },
  { rule: 'action_id unique within its block (other blocks may reuse it)', limit: [actionsOf(buttonOf({ action_id: 'a' }), buttonOf({ action_id: 'b' })), actionsOf(buttonOf({ action_id: 'a' }))], over: [actionsOf(buttonOf({ action_id: 'a' }), buttonOf({ action_id: 'a' }))], error: /duplicate action_id: a \[json-pointer:\/blocks\/0\/elements\/1\/action_id\]/ },
  { rule: 'button url of 3000 characters', limit: [actionsOf(buttonOf({ url: `https://e.x/${x(2988)}` }))], over: [actionsOf(buttonOf({ url: `https://e.x/${x(2989)}` }))], error: /must be less than 3001 characters \[json-pointer:\/blocks\/0\/elements\/0\/url\]/ },
  { rule: 'button style primary or danger', limit: [actionsOf(buttonOf({ style: 'primary' }), buttonOf({ action_id: 'b', style: 'danger' }))], over: [actionsOf(buttonOf({ style: 'warning' }))], error: /must be one of: primary, danger \[json-pointer:\/blocks\/0\/elements\/0\/style\]/ },
  { rule: 'confirm title of 100 characters', limit: withConfirm({ title: plain(x(100)) }), over: withConfirm({ title: plain(x(101)) }), error: /must be less than 101 characters \[json-pointer:\/blocks\/0\/elements\/0\/confirm\/title\/text\]/ },
  { rule: 'confirm title plain_text only', limit: withConfirm({}), over: withConfirm({ title: mrkdwn('Sure?') }), error: /must be plain_text \[json-pointer:\/blocks\/0\/elements\/0\/confirm\/title\/type\]/ },
  { rule: 'confirm text of 300 characters', limit: withConfirm({ text: mrkdwn(x(300)) }), over: withConfirm({ text: mrkdwn(x(301)) }), error: /must be less than 301 characters \[json-pointer:\/blocks\/0\/elements\/0\/confirm\/text\/text\]/ },
  { rule: 'confirm button of 30 characters', limit: withConfirm({ confirm: plain(x(30)) }), over: withConfirm({ confirm: plain(x(31)) }), error: /must be less than 31 characters \[json-pointer:\/blocks\/0\/elements\/0\/confirm\/confirm\/text\]/ },
  { rule: 'deny button of 30 characters', limit: withConfirm({ deny: plain(x(30)) }), over: withConfirm({ deny: plain(x(31)) }), error: /must be less than 31 characters \[json-pointer:\/blocks\/0\/elements\/0\/confirm\/deny\/text\]/ },
  { rule: 'text object type plain_text or mrkdwn', limit: [sectionOf('a')], over: [{ type: 'section', text: { type: 'markdown', text: 'a' } }], error: /must be one of: plain_text, mrkdwn \[json-pointer:\/blocks\/0\/text\/type\]/ },
  { rule: 'no verbatim on plain_text', limit: [{ type: 'section', text: { ...mrkdwn('a'), verbatim: true } }], over: [{ type: 'section', text: { ...plain('a'), verbatim: true } }], error: /invalid additional property: verbatim \[json-pointer:\/blocks\/0\/text\]/ },
  { rule: 'no emoji on mrkdwn', limit: [{ type: 'header', text: { ...plain('a'), emoji: true } }], over: [{ type: 'section', text: { ...mrkdwn('a'), emoji: true } }], error: /invalid additional property: emoji \[json-pointer:\/blocks\/0\/text\]/ },
  { rule: 'image alt_text of 2000 characters', limit: [{ type: 'image', image_url: 'https://e.x/i.png', alt_text: x(2000) }], over: [{ type: 'image', image_url: 'https://e.x/i.png', alt_text: x(2001) }], error: /must be less than 2001 characters \[json-pointer:\/blocks\/0\/alt_text\]/ },
  { rule: 'image alt_text required', limit: [{ type: 'image', image_url: 'https://e.x/i.png', alt_text: 'a' }], over: [{ type: 'image', image_url: 'https://e.x/i.png' }], error: /must provide a string \[json-pointer:\/blocks\/0\/alt_text\]/ },
  { rule: 'no block type Slack does not know', limit: [{ type: 'rich_text', elements: [] }], over: [{ type: 'fancy' }], error: /unsupported block type: fancy \[json-pointer:\/blocks\/0\/type\]/ },
];

describe('Block Kit rules (block-kit-rules.ts)', () => {
  it.each(RULES)('$rule', ({ surface = 'message', limit, over, error }) => {
    expect(validateBlocks(limit, surface)).toEqual([]);
    const errors = validateBlocks(over, surface);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(error);
  });

  it('an input block is a modal thing: refused in a message', () => {
    expect(validateBlocks([{ type: 'input', label: plain('l'), element: { type: 'plain_text_input' } }], 'modal')).toEqual([]);
    expect(validateBlocks([{ type: 'input', label: plain('l'), element: { type: 'plain_text_input' } }], 'message')).toEqual(['unsupported block type: input [json-pointer:/blocks/0/type]']);
  });

  it('modal views: type, a plain_text title of at most 24 characters', () => {
    expect(validateView({ type: 'modal', title: plain(x(24)), blocks: [] }, 'modal')).toEqual([]);
    expect(validateView({ type: 'modal', title: plain(x(25)), blocks: [] }, 'modal')).toEqual(['must be less than 25 characters [json-pointer:/view/title/text]']);
    expect(validateView({ type: 'modal', blocks: [] }, 'modal')).toEqual(['must provide an object [json-pointer:/view/title]']);
    expect(validateView({ type: 'home', blocks: [] }, 'modal')).toContain('must be modal [json-pointer:/view/type]');
    expect(validateView({ type: 'home', blocks: [sectionOf(x(3001))] }, 'home')).toEqual(['must be less than 3001 characters [json-pointer:/view/blocks/0/text/text]']);
  });
});

describe('slack stub refuses what Slack refuses', () => {
  const tooLong = [sectionOf(x(3001))];
  const refusal = {
    ok: false,
    error: 'invalid_blocks',
    errors: ['must be less than 3001 characters [json-pointer:/blocks/0/text/text]'],
    response_metadata: { messages: ['[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]'] },
  };

  it('chat.postMessage, chat.update and chat.postEphemeral answer invalid_blocks with the errors; nothing changes', async () => {
    const web = client();
    await expect(web.chat.postMessage({ channel: 'C1', text: 't', blocks: tooLong as never })).rejects.toMatchObject({ data: refusal });
    expect(stub.messages()).toEqual([]);
    const posted = await web.chat.postMessage({ channel: 'C1', text: 'fine', blocks: [sectionOf(x(3000))] as never });
    await expect(web.chat.update({ channel: 'C1', ts: posted.ts!, text: 'new', blocks: tooLong as never })).rejects.toMatchObject({ data: refusal });
    expect(stub.messages('C1')[0]).toMatchObject({ text: 'fine', updates: 0 });
    await expect(web.chat.postEphemeral({ channel: 'C1', user: 'U1', text: 't', blocks: tooLong as never })).rejects.toMatchObject({ data: refusal });
    expect(stub.ephemerals()).toEqual([]);
  });

  it('blocks that are not a JSON array answer invalid_blocks_format', async () => {
    const res = await fetch(`${stub.url}chat.postMessage`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Bearer xoxb-t' }, body: 'channel=C1&text=t&blocks=not-json' });
    expect(await res.json()).toEqual({ ok: false, error: 'invalid_blocks_format' });
  });

  it('views.open and views.publish answer invalid_arguments with the reasons', async () => {
    const web = client();
    await expect(web.views.open({ trigger_id: 't', view: { type: 'modal', title: plain(x(25)), blocks: [] } as never })).rejects.toMatchObject({
      data: { ok: false, error: 'invalid_arguments', response_metadata: { messages: ['[ERROR] must be less than 25 characters [json-pointer:/view/title/text]'] } },
    });
    await expect(web.views.publish({ user_id: 'U1', view: { type: 'home', blocks: times(101, () => ({ type: 'divider' })) } as never })).rejects.toMatchObject({
      data: { error: 'invalid_arguments', response_metadata: { messages: ['[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]'] } },
    });
    expect(stub.views()).toEqual([]);
    expect(stub.home('U1')).toBeUndefined();
    expect((await web.views.publish({ user_id: 'U1', view: { type: 'home', blocks: times(100, () => ({ type: 'divider' })) } as never })).ok).toBe(true);
  });

  it('a text of 40,000 characters posts whole; longer is truncated, posted, and warned about', async () => {
    const web = client();
    const whole = await web.chat.postMessage({ channel: 'C1', text: x(40_000) });
    expect(whole.response_metadata?.warnings).toBeUndefined();
    const cut = await web.chat.postMessage({ channel: 'C1', text: x(40_001) });
    expect(cut.ok).toBe(true);
    expect(cut.response_metadata?.warnings).toEqual(['message_truncated']);
    expect(stub.messages('C1').map((m) => m.text.length)).toEqual([40_000, 40_000]);
  });
});

describe('slack stub: who is in a channel', () => {
  it('chat.postEphemeral to someone outside a channel with declared members answers user_not_in_channel', async () => {
    const web = client();
    stub.channels.C5 = { members: ['U1'] };
    expect((await web.chat.postEphemeral({ channel: 'C5', user: 'U1', text: 'hi' })).ok).toBe(true);
    await expect(web.chat.postEphemeral({ channel: 'C5', user: 'U2', text: 'hi' })).rejects.toMatchObject({ data: { error: 'user_not_in_channel' } });
    expect(stub.ephemerals('C5').map((e) => e.user)).toEqual(['U1']);
    // conversations.info does not show the member list (Slack's does not either).
    expect((await web.conversations.info({ channel: 'C5' })).channel).not.toHaveProperty('members');
  });

  it('a channel without declared members takes anyone (documented default)', async () => {
    expect((await client().chat.postEphemeral({ channel: 'C6', user: 'U9', text: 'hi' })).ok).toBe(true);
  });

  it('a channel the bot is not in: not_in_channel (public) or channel_not_found (DM), for posts and ephemerals', async () => {
    const web = client();
    stub.channels.C7 = { is_member: false, members: ['U1'] };
    stub.channels.D7 = { is_member: false };
    await expect(web.chat.postEphemeral({ channel: 'C7', user: 'U1', text: 'hi' })).rejects.toMatchObject({ data: { error: 'not_in_channel' } });
    await expect(web.chat.postMessage({ channel: 'C7', text: 'hi' })).rejects.toMatchObject({ data: { error: 'not_in_channel' } });
    await expect(web.chat.postEphemeral({ channel: 'D7', user: 'U1', text: 'hi' })).rejects.toMatchObject({ data: { error: 'channel_not_found' } });
  });
});

describe('slack stub: response_url', () => {
  const post = async (url: string, body: Record<string, unknown>) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('replace_original replaces the answer posted through the same response_url, in place', async () => {
    const url = stub.responseUrl('cmd1', { channel: 'C1', user: 'U1' });
    const other = stub.responseUrl('cmd2', { channel: 'C1', user: 'U1' });
    await post(url, { text: 'Planning…', response_type: 'ephemeral', replace_original: false });
    await post(other, { text: 'unrelated', response_type: 'ephemeral' });
    const [notice] = stub.ephemerals('C1');
    expect((await post(url, { text: 'the plan', response_type: 'ephemeral', replace_original: true })).status).toBe(200);
    expect(stub.ephemerals('C1')).toEqual([
      { ...notice, text: 'the plan' },
      expect.objectContaining({ text: 'unrelated' }),
    ]);
  });

  it('delete_original removes that answer, and only it', async () => {
    const url = stub.responseUrl('cmd3', { channel: 'C1', user: 'U1' });
    await post(stub.responseUrl('cmd4', { channel: 'C1', user: 'U1' }), { text: 'stays' });
    await post(url, { text: 'Planning…', replace_original: false });
    expect(stub.ephemerals('C1').map((e) => e.text)).toEqual(['stays', 'Planning…']);
    expect((await post(url, { delete_original: true })).status).toBe(200);
    expect(stub.ephemerals('C1').map((e) => e.text)).toEqual(['stays']);
  });

  it('replace_original with nothing posted before posts the answer', async () => {
    await post(stub.responseUrl('cmd5', { channel: 'C1', user: 'U1' }), { text: 'first and only', replace_original: true });
    expect(stub.ephemerals('C1').map((e) => e.text)).toEqual(['first and only']);
  });

  it('takes 5 posts; the 6th is refused with HTTP 404 used_url', async () => {
    const url = stub.responseUrl('five', { channel: 'C1', user: 'U1' });
    for (let i = 1; i <= 5; i += 1) expect((await post(url, { text: `answer ${i}` })).status).toBe(200);
    expect(await post(url, { text: 'one too many' })).toEqual({ status: 404, body: { ok: false, error: 'used_url' } });
    expect(stub.ephemerals('C1').map((e) => e.text)).not.toContain('one too many');
  });

  it('expires 30 minutes after it was handed out (HTTP 404 expired_url)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const url = stub.responseUrl('late', { channel: 'C1', user: 'U1' });
      vi.setSystemTime(Date.now() + RESPONSE_URL_TTL_MS);
      expect((await post(url, { text: 'just in time' })).status).toBe(200);
      vi.setSystemTime(Date.now() + 1);
      expect(await post(url, { text: 'too late' })).toEqual({ status: 404, body: { ok: false, error: 'expired_url' } });
    } finally {
      vi.useRealTimers();
    }
  });

  it('blocks that break a rule are refused (HTTP 400 invalid_blocks) and shown to nobody', async () => {
    const answer = await post(stub.responseUrl('bad', { channel: 'C1', user: 'U1' }), { text: 't', blocks: [{ type: 'header', text: plain(x(151)) }] });
    expect(answer).toMatchObject({ status: 400, body: { ok: false, error: 'invalid_blocks', errors: ['must be less than 151 characters [json-pointer:/blocks/0/text/text]'] } });
    expect(stub.ephemerals()).toEqual([]);
  });
});

describe('slack signing', () => {
  it("matches Slack's documented v0 example and an independent HMAC", () => {
    // From Slack's "Verifying requests from Slack" guide.
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    expect(signSlackRequest('8f742231b10e8888abcd99yyyzzz85a5', body, 1531420618)).toEqual({
      'x-slack-signature': 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
      'x-slack-request-timestamp': '1531420618',
    });
    const mine = slashCommandBody({ text: 'upgrade my-release 2.4.23', user_id: 'U1', channel_id: 'C1' });
    const ts = 1_700_000_123;
    const expected = `v0=${createHmac('sha256', 'test-secret').update(`v0:${ts}:${mine}`).digest('hex')}`;
    const headers = signSlackRequest('test-secret', mine, ts);
    expect(headers['x-slack-signature']).toBe(expected);
    expect(() =>
      verifySlackRequest({
        signingSecret: 'test-secret',
        body: mine,
        headers: { 'x-slack-signature': headers['x-slack-signature'], 'x-slack-request-timestamp': ts },
        nowMilliseconds: ts * 1000,
      }),
    ).not.toThrow();
  });

  it('builds Slack-shaped bodies', () => {
    const body = new URLSearchParams(slashCommandBody({ text: 'upgrade my-release 2.4.23', user_id: 'U1', channel_id: 'C1' }));
    expect([...body.keys()]).toEqual([
      'token', 'team_id', 'team_domain', 'channel_id', 'channel_name', 'user_id', 'user_name',
      'command', 'text', 'api_app_id', 'is_enterprise_install', 'response_url', 'trigger_id',
    ]);
    expect(body.get('text')).toBe('upgrade my-release 2.4.23');
    expect(body.get('command')).toBe('/milvus');
    const fixtureBody = new URLSearchParams(fixture('slash-command.txt'));
    expect([...fixtureBody.keys()]).toEqual([...body.keys()]);
    expect(fixtureBody.get('text')).toBe('upgrade my-release 2.4.23');

    const payload = blockActionPayload({ user_id: 'U2', channel_id: 'C1', message_ts: '1700000000.000100', action_id: 'approve', value: 'r1' });
    const decoded: unknown = JSON.parse(new URLSearchParams(blockActionsBody(payload)).get('payload')!);
    expect(decoded).toEqual(payload);
    const fx = JSON.parse(fixture('block-actions-approve.json')) as Record<string, unknown>;
    expect(Object.keys(payload).sort()).toEqual(Object.keys(fx).sort());
    expect(fx).toMatchObject({ type: 'block_actions', actions: [{ action_id: 'approve', type: 'button' }] });
  });
});

describe('a real Bolt app over HTTP', () => {
  let app: InstanceType<typeof App>;
  let events: string;
  const acted: string[] = [];

  beforeAll(async () => {
    app = new App({
      token: 'xoxb-test',
      signingSecret: 'test-secret',
      logLevel: LogLevel.ERROR,
      clientOptions: { slackApiUrl: stub.url, retryConfig: { retries: 0 } },
    });
    app.command('/milvus', async ({ ack }) => {
      await ack('ok');
    });
    app.action('approve', async ({ ack, body, client: web }) => {
      await ack();
      if (body.type !== 'block_actions' || !body.channel || !body.message) return;
      acted.push(body.user.id);
      await web.chat.update({ channel: body.channel.id, ts: body.message.ts, text: `approved by <@${body.user.id}>` });
    });
    const server = (await app.start(0)) as Server;
    events = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
  });
  afterAll(async () => {
    await app.stop();
  });

  it('accepts a correctly signed slash command with 200 and the ack body', async () => {
    const res = await postSigned(events, slashCommandBody({ text: 'upgrade my-release 2.4.23', user_id: 'U1', channel_id: 'C1' }), { signingSecret: 'test-secret' });
    expect(res.status).toBe(200);
    expect(res.body).toBe('ok');
  });

  it('accepts the fixture body, signed now', async () => {
    const res = await postSigned(events, fixture('slash-command.txt'), { signingSecret: 'test-secret' });
    expect(res).toMatchObject({ status: 200, body: 'ok' });
  });

  it('rejects a wrong signature with 401 and an empty body', async () => {
    const body = slashCommandBody({ text: 'upgrade my-release 2.4.23', user_id: 'U1', channel_id: 'C1' });
    expect(await postSigned(events, body, { signingSecret: 'wrong-secret' })).toMatchObject({ status: 401, body: '' });
    expect(await postSigned(events, body, { signingSecret: 'test-secret', signature: 'v0=deadbeef' })).toMatchObject({ status: 401, body: '' });
  });

  it('rejects a request signed 6 minutes ago with 401', async () => {
    const body = slashCommandBody({ text: 'upgrade my-release 2.4.23', user_id: 'U1', channel_id: 'C1' });
    const res = await postSigned(events, body, { signingSecret: 'test-secret', timestamp: Math.floor(Date.now() / 1000) - 360 });
    expect(res).toMatchObject({ status: 401, body: '' });
  });

  it('delivers a signed button click; the handler talks to the stub', async () => {
    const web = client();
    const card = await web.chat.postMessage({ channel: 'C1', text: 'plan card' });
    const payload = blockActionPayload({ user_id: 'U2', channel_id: 'C1', message_ts: card.ts!, action_id: 'approve', value: 'r1' });
    const res = await postSigned(events, blockActionsBody(payload), { signingSecret: 'test-secret' });
    expect(res.status).toBe(200);
    await stub.waitFor((calls) => calls.some((c) => c.method === 'chat.update'), 5000);
    expect(acted).toEqual(['U2']);
    expect(stub.messages('C1')[0]).toMatchObject({ text: 'approved by <@U2>', updates: 1 });
    expect(stub.callsTo('chat.update')[0]?.token).toBe('xoxb-test');
  });
});
