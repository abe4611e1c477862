/**
 * Issue 25, item 2: every command and click shared one pool; reads stuck on a hung Kubernetes API
 * server held every slot, and the next Approve waited behind them. The real Bolt app over signed
 * HTTP against an API server on 127.0.0.1 that accepts and never answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisRequestStore } from '../../src/jobs/requests.js';
import { fakePlan } from './plans.js';
import { REDIS_URL, testRedis } from './redis.js';
import { startNowhereBot, type NowhereBot } from './nowhere-bot.js';
import { startHungApi, type HungApi } from '../harness/hung-api.js';

const OPS = 'C0OPS00001';
const APPROVER = 'U0APP00001';
const READERS = ['U0RD000001', 'U0RD000002', 'U0RD000003'];
const ACCESS_YAML = `rules:
  - channels: ["${OPS}"]
    requesters: ["*"]
    approvers: ["${APPROVER}"]
`;

describe('decisions apart from reads', () => {
  let redisEnv: Awaited<ReturnType<typeof testRedis>>;
  let store: RedisRequestStore;
  let bot: NowhereBot;
  let hung: HungApi;

  beforeAll(async () => {
    hung = await startHungApi();
    const kubeconfig = hung.kubeconfig('nowhere');
    redisEnv = await testRedis();
    store = new RedisRequestStore(redisEnv.redis, redisEnv.prefix);
    bot = await startNowhereBot({ redisUrl: REDIS_URL, prefix: redisEnv.prefix, accessYaml: ACCESS_YAML, env: { KUBECONFIG: kubeconfig, BOT_WORK_CONCURRENCY: '4', BOT_WORK_DEFER_MS: '0' } });
  });
  afterAll(async () => {
    await bot?.close();
    await hung.close();
    await redisEnv?.cleanup();
  });

  it('with every read slot held by a hung API server, an Approve still counts within a second or two; one person cannot hold more than four', async () => {
    const card = '1700000009.000100';
    const r = await store.create({ kind: 'upgrade', plan: fakePlan('alpha', 'default', 'nowhere'), requester: { id: READERS[0]!, via: 'slack' }, place: { channel: OPS, messageTs: card }, approvalsNeeded: 2, allowSelfApproval: false, ttlMs: 3_600_000 });
    // Four reads from three people fill the read pool (4 slots); each hangs on the API server.
    for (const [i, user] of [READERS[0], READERS[1], READERS[2], READERS[0]].entries()) {
      await bot.slash(`status alpha-${i} -n default`, user!, OPS);
    }
    for (const deadline = Date.now() + 5000; hung.sockets.size < 4; await new Promise((res) => setTimeout(res, 50))) {
      if (Date.now() > deadline) throw new Error(`the reads did not reach the API server (${hung.sockets.size} connections)`);
    }
    const t0 = Date.now();
    await bot.click('approve', r.id, APPROVER, OPS, card);
    for (;;) {
      if ((await store.require(r.id)).approvals.length === 1) break;
      if (Date.now() - t0 > 3000) throw new Error('the vote waited behind the hung reads');
      await new Promise((res) => setTimeout(res, 25));
    }
    expect(Date.now() - t0).toBeLessThan(3000);

    // READERS[0] already has two in flight; two more fit, the fifth is answered at once.
    for (const n of [4, 5]) await bot.slash(`status alpha-${n} -n default`, READERS[0]!, OPS);
    const before = bot.repliesTo(READERS[0]!).length;
    await bot.slash('status alpha-6 -n default', READERS[0]!, OPS);
    await bot.stub.waitFor(() => bot.repliesTo(READERS[0]!).length > before, 3000);
    expect(bot.repliesTo(READERS[0]!).at(-1)).toMatch(/You have 4 commands still being worked on: wait for their answers, then ask again/);
  });
});
