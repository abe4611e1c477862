/**
 * Replies that arrive: commands are answered through their response_url, which works in DMs and
 * in channels the bot is not in (Slack refuses chat.postEphemeral and chat.postMessage there);
 * a plan card that cannot be posted frees the release and says why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveState } from '../../src/upgrade/requests.js';
import { buttons } from '../harness/demo-story.js';
import { CHANNEL, USERS, startBotEnv, type BotEnv } from './bot-env.js';
import { until } from './engine.js';
import { installRelease, newNamespace } from './helpers.js';

const DM = 'D0DIRECT001';
const NOT_IN = 'C0NOTIN0001';

const ACCESS = `rules:
  - namespaces: ["*"]
    releases: ["*"]
    requesters: ["${USERS.requester}"]
    approvers: ["${USERS.approver}"]
    channels: ["${CHANNEL}", "${DM}", "${NOT_IN}"]
`;

describe('Slack: replies reach people where the bot cannot post', () => {
  let bot: BotEnv;
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-replies');
    await installRelease(ns.name, 'my-release', '4.1.24');
    bot = await startBotEnv({ roles: 'bot,planner', accessYaml: ACCESS });
    bot.stub.channels[DM] = { is_member: false };
    bot.stub.channels[NOT_IN] = { is_member: false };
  });
  afterAll(async () => {
    await bot?.close();
    await ns.cleanup();
  });

  const answersVia = (method: string, pattern: RegExp) => bot.stub.callsTo(method).filter((c) => c.status === 200 && (c.response as { ok?: boolean }).ok !== false && pattern.test(String(c.args.text ?? '')));

  it('/milvus status from a DM the bot is not in is answered through the response_url', async () => {
    const r = await bot.slash(`status my-release -n ${ns.name}`, USERS.requester, DM);
    expect(r.status).toBe(200);
    await bot.stub.waitFor(() => answersVia('response_url', /\*my-release\* runs Milvus \d+\.\d+\.\d+/).length > 0, 20_000);
    const answer = answersVia('response_url', /runs Milvus/)[0]!;
    expect(answer.args.response_type).toBe('ephemeral');
    expect(bot.stub.ephemerals(DM).filter((e) => e.user === USERS.requester).map((e) => e.text)).toEqual([String(answer.args.text)]);
    // Nothing was (or could be) posted in the DM by the Web API.
    expect(bot.stub.callsTo('chat.postMessage').filter((c) => c.args.channel === DM)).toEqual([]);
  });

  it('an upgrade where the plan card cannot be posted ends at once, frees the release and says why', async () => {
    const r = await bot.slash(`upgrade my-release 2.4.23 -n ${ns.name}`, USERS.requester, NOT_IN);
    expect(r.status).toBe(200);
    await bot.stub.waitFor(() => answersVia('response_url', /could not post the plan card/).length > 0, 30_000);
    const told = String(answersVia('response_url', /could not post the plan card/)[0]!.args.text);
    expect(told).toMatch(/not_in_channel/);
    expect(told).toMatch(/invite/);
    const [first] = await bot.store.history('milvus-test', ns.name, 'my-release');
    expect(first).toBeDefined();
    expect(deriveState(first!, Date.now())).toBe('failed');
    expect(first!.error).toMatch(/plan card could not be posted in .*not_in_channel/);
    expect(await bot.store.activeFor('milvus-test', ns.name, 'my-release')).toBeNull();

    // The release is free: a second upgrade, where the bot is, gets its card.
    const again = await bot.slash(`upgrade my-release 2.4.23 -n ${ns.name}`, USERS.requester, CHANNEL);
    expect(again.status).toBe(200);
    const card = await until('the second card', 30_000, async () => bot.stub.messages(CHANNEL).find((m) => buttons(m).some((b) => b.action_id === 'approve')));
    const id = buttons(card).find((b) => b.action_id === 'approve')!.value;
    expect(id).not.toBe(first!.id);
    expect(deriveState(await bot.store.require(id), Date.now())).toBe('pending-approval');
    expect(answersVia('response_url', /already has request/)).toEqual([]);
  });
});
