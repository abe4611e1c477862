/**
 * Progress that converges: Slack messages follow the store, not pub/sub. A change whose pub/sub
 * message is lost still reaches the thread; with two bot replicas each new content of a message
 * is edited once.
 */
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RedisRequestStore } from '../../src/jobs/requests.js';
import type { Actor } from '../../src/upgrade/requests.js';
import { actionButtons, buttons, textOf } from '../harness/demo-story.js';
import { REDIS_URL } from '../integration/redis.js';
import { CHANNEL, USERS, startBotEnv, type BotEnv } from './bot-env.js';
import { until } from './engine.js';
import { installRelease, newNamespace } from './helpers.js';

const approver: Actor = { id: USERS.approver, via: 'slack' };

describe('Slack threads converge on the stored state', () => {
  let bot: BotEnv;
  let ns: { name: string; cleanup: () => Promise<void> };
  let quietConn: Redis;
  /** A store whose changes announce nothing: as if every pub/sub message were lost. */
  let quiet: RedisRequestStore;
  beforeEach(async () => {
    ns = await newNamespace('e2e-converge');
    await installRelease(ns.name, 'my-release', '4.1.24');
    bot = await startBotEnv({ roles: 'bot,planner', env: { PROGRESS_REREAD_MS: '300' } });
    quietConn = new Redis(REDIS_URL);
    quietConn.publish = (async () => 0) as unknown as Redis['publish'];
    quiet = new RedisRequestStore(quietConn, bot.prefix);
  });
  afterEach(async () => {
    quietConn.disconnect();
    await bot?.close();
    await ns.cleanup();
  });

  async function planCard() {
    const r = await bot.slash(`upgrade my-release 2.4.23 -n ${ns.name}`);
    expect(r.status).toBe(200);
    await bot.stub.waitFor(() => bot.stub.messages(CHANNEL).some((m) => buttons(m).some((b) => b.action_id === 'approve')) && bot.stub.messages(CHANNEL).length >= 2, 30_000);
    const card = bot.stub.messages(CHANNEL).find((m) => buttons(m).some((b) => b.action_id === 'approve'))!;
    const id = buttons(card).find((b) => b.action_id === 'approve')!.value;
    return { card, id };
  }
  const shown = (ts: string) => bot.stub.messages(CHANNEL).find((m) => m.ts === ts);
  /** The contents chat.update gave one message, in order. */
  const editsOf = (ts: string) => bot.stub.callsTo('chat.update').filter((c) => c.args.ts === ts && c.status === 200).map((c) => JSON.stringify([c.args.text, c.args.blocks]));

  /** Until the bot has made no Slack call for `ms` (what it does after the card has settled). */
  async function settled(ms = 1000) {
    let count = -1;
    let since = Date.now();
    await until('the bot to settle', 20_000, async () => {
      const n = bot.stub.callsTo('chat.update').length + bot.stub.callsTo('chat.postMessage').length;
      if (n !== count) {
        count = n;
        since = Date.now();
      }
      return Date.now() - since >= ms;
    });
  }

  it('a change whose pub/sub message is lost still ends with the right card and progress message', async () => {
    const { card, id } = await planCard();
    await settled();
    await quiet.reject(id, approver, 'not today');
    await bot.stub.waitFor(() => /rejected/i.test(textOf(shown(card.ts))) && actionButtons(shown(card.ts)).length === 0, 15_000);
    const progress = bot.stub.messages(CHANNEL).find((m) => m.thread_ts === card.ts && m.ts !== card.ts)!;
    await bot.stub.waitFor(() => /rejected/i.test(textOf(shown(progress.ts))), 15_000);
    expect(textOf(shown(card.ts))).toMatch(/not today|<@U0APP00001>/);
  });

  it('two bot replicas: each new content of a message is edited once, and the last one wins', async () => {
    await bot.replica();
    const { card, id } = await planCard();
    const approve = await bot.click('approve', id, USERS.approver, card.ts);
    expect(approve.status).toBe(200);
    await bot.stub.waitFor(() => /queued/i.test(textOf(shown(card.ts))), 15_000);
    // Then a cancel nobody announces: only the periodic re-reads of both replicas see it.
    await quiet.requestCancel(id, approver);
    await bot.stub.waitFor(() => /cancelled/i.test(textOf(shown(card.ts))), 15_000);
    const progress = bot.stub.messages(CHANNEL).find((m) => m.thread_ts === card.ts && m.ts !== card.ts)!;
    await bot.stub.waitFor(() => /cancelled/i.test(textOf(shown(progress.ts))), 15_000);
    // Both replicas heard every announced change (the approval, "queued") and re-read the
    // unannounced one: without a shared ledger each would have edited each message itself.
    for (const ts of [card.ts, progress.ts]) {
      const edits = editsOf(ts);
      expect(edits.length).toBeGreaterThan(0);
      const repeats = edits.filter((e, i) => i > 0 && e === edits[i - 1]);
      expect(repeats, `message ${ts}`).toEqual([]);
      expect(new Set(edits).size, `message ${ts}: every content once`).toBe(edits.length);
    }
    expect(textOf(shown(card.ts))).toMatch(/cancelled/i);
  });
});
