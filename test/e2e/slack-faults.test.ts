import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionButtons, buttons } from '../harness/demo-story.js';
import { CHANNEL, USERS, startBotEnv, type BotEnv } from './bot-env.js';
import { installRelease, newNamespace } from './helpers.js';

describe('Slack API answering 429 with Retry-After, then 500', () => {
  let bot: BotEnv;
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-slackfault');
    await installRelease(ns.name, 'my-release', '4.1.24');
    bot = await startBotEnv({ roles: 'bot,planner' });
  });
  afterAll(async () => {
    await bot?.close();
    await ns.cleanup();
  });

  it('messages still arrive, in order, with no duplicate plan card; edits get through too', async () => {
    bot.stub.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    bot.stub.failNext('chat.postMessage', { status: 500 });
    const r = await bot.slash(`upgrade my-release 2.4.23 -n ${ns.name}`);
    expect(r.status).toBe(200);
    await bot.stub.waitFor(() => bot.stub.messages(CHANNEL).length >= 2, 30_000);
    const posts = bot.stub.callsTo('chat.postMessage');
    expect(posts.map((c) => c.status)).toEqual([429, 500, 200, 200]);
    const messages = bot.stub.messages(CHANNEL);
    const cards = messages.filter((m) => buttons(m).some((b) => b.action_id === 'approve'));
    expect(cards).toHaveLength(1);
    const card = cards[0]!;
    // The card first, then its progress message in the thread.
    expect(messages.map((m) => m.ts)).toEqual([card.ts, messages[1]!.ts]);
    expect(messages[1]!.thread_ts).toBe(card.ts);

    bot.stub.failNext('chat.update', { status: 429, retryAfter: 1 }, 2);
    const id = buttons(card).find((b) => b.action_id === 'approve')!.value;
    await bot.click('approve', id, USERS.approver, card.ts);
    await bot.stub.waitFor(() => actionButtons(bot.stub.messages(CHANNEL).find((m) => m.ts === card.ts)).length === 0, 30_000);
    expect(bot.stub.callsTo('chat.update').filter((c) => c.status === 429)).toHaveLength(2);
    expect(JSON.stringify(bot.stub.messages(CHANNEL).find((m) => m.ts === card.ts)!.blocks)).toMatch(/Approved by <@U0APP00001>/);
  });
});
