/**
 * Proves the Slack test harness: the Web API stub behaves like Slack for a real WebClient, and the
 * signing helpers produce requests a real Bolt HTTP receiver accepts (and Bolt rejects bad ones).
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, LogLevel, verifySlackRequest, webApi } from '@slack/bolt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSlackStub, type SlackStub } from '../harness/slack-stub.js';
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
    expect((await web.apiCall('bookmarks.list', { channel_id: 'C1' })).ok).toBe(true);
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
    await web.chat.postMessage({ channel: 'C1', thread_ts: parent.ts!, text: 'step 1 done' });
    const html = await (await fetch(`${stub.baseUrl}/`)).text();
    expect(html).toContain('<meta http-equiv="refresh" content="2">');
    expect(html).toContain('Upgrade &lt;b&gt;my-release&lt;/b&gt; &amp; &quot;go&quot;');
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toMatch(new RegExp(`class="message" data-ts="${parent.ts!.replace('.', '\\.')}"`));
    expect(html).toMatch(/<span class="button" data-action-id="approve" data-value="r1" data-style="primary">Approve &lt;now&gt;<\/span>/);
    expect(html).toMatch(/<div class="thread"[^>]*><div class="message reply"[^>]*>.*step 1 done/s);
    const one = await (await fetch(`${stub.baseUrl}/channel/C1?refresh=0`)).text();
    expect(one).not.toContain('http-equiv="refresh"');
    expect(one).toContain('step 1 done');
    const state = (await (await fetch(`${stub.baseUrl}/state.json`)).json()) as { messages: Array<{ text: string }> };
    expect(state.messages.map((m) => m.text)).toEqual(['Upgrade <b>my-release</b> & "go"', 'step 1 done']);
    expect(html).not.toContain('xoxb-test');
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
