/**
 * A bot alone in its process (split mode) reads no Secret: helm's release records are Secrets, so
 * `/milvus status` is read by a worker over the plan queue, and with no worker running the bot
 * says so at once instead of reading them itself (issue 25, least privilege). The real Bolt app
 * over signed HTTP, real Redis, a kubeconfig pointing nowhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, testRedis } from './redis.js';
import { startNowhereBot, type NowhereBot } from './nowhere-bot.js';

const OPS = 'C0OPS00001';
const READER = 'U0READ0001';
const ACCESS_YAML = `rules:
  - channels: ["${OPS}"]
    readers: ["${READER}"]
    requesters: ["${READER}"]
`;

describe('a bot without a worker in its process', () => {
  let redisEnv: Awaited<ReturnType<typeof testRedis>>;
  let bot: NowhereBot;
  beforeAll(async () => {
    redisEnv = await testRedis();
    bot = await startNowhereBot({ redisUrl: REDIS_URL, prefix: redisEnv.prefix, accessYaml: ACCESS_YAML, env: { ROLES: 'bot' } });
  });
  afterAll(async () => {
    await bot?.close();
    await redisEnv?.cleanup();
  });

  it('asks a worker for a release\'s status (helm\'s records are Secrets), and says at once when none runs', async () => {
    const t0 = Date.now();
    const r = await bot.slash('status my-release -n milvus', READER, OPS);
    expect(r.status).toBe(200);
    await bot.stub.waitFor(() => bot.repliesTo(READER).some((t) => !t.includes('hourglass')), 8000);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(bot.repliesTo(READER).join('\n')).toMatch(/no worker or planner is running to read the status of my-release: nothing was changed/);
  });
});
