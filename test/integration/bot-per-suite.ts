/**
 * The real Bolt app that reaches no cluster (nowhere-bot.ts) and a request store beside it, on
 * real Redis under a key prefix of their own, for every test of the describe it is called in;
 * closed and cleaned up after the last one.
 */
import { afterAll, beforeAll } from 'vitest';
import { RedisRequestStore } from '../../src/jobs/requests.js';
import { startNowhereBot, type NowhereBot } from './nowhere-bot.js';
import { REDIS_URL, testRedis } from './redis.js';

export interface BotPerSuite {
  /** The suite's Redis connection and prefix. */
  readonly env: Awaited<ReturnType<typeof testRedis>>;
  readonly bot: NowhereBot;
  readonly store: RedisRequestStore;
}

export function botPerSuite(accessYaml: string): BotPerSuite {
  let env: Awaited<ReturnType<typeof testRedis>> | null = null;
  let store: RedisRequestStore | null = null;
  let bot: NowhereBot | null = null;
  beforeAll(async () => {
    env = await testRedis();
    store = new RedisRequestStore(env.redis, env.prefix);
    bot = await startNowhereBot({ redisUrl: REDIS_URL, prefix: env.prefix, accessYaml });
  });
  afterAll(async () => {
    await bot?.close();
    await env?.cleanup();
  });
  return {
    get env() {
      if (!env) throw new Error('botPerSuite: read outside a test');
      return env;
    },
    get bot() {
      if (!bot) throw new Error('botPerSuite: read outside a test');
      return bot;
    },
    get store() {
      if (!store) throw new Error('botPerSuite: read outside a test');
      return store;
    },
  };
}
