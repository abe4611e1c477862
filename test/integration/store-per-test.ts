/**
 * A request store on real Redis for each test of the describe it is called in, under a key
 * prefix of its own, cleaned up after the test.
 */
import { afterEach, beforeEach } from 'vitest';
import { RedisRequestStore } from '../../src/jobs/requests.js';
import { testRedis } from './redis.js';

export interface StorePerTest {
  /** The test's Redis connection and prefix (read inside a test or hook). */
  readonly env: Awaited<ReturnType<typeof testRedis>>;
  readonly store: RedisRequestStore;
}

export function storePerTest(): StorePerTest {
  let env: Awaited<ReturnType<typeof testRedis>> | null = null;
  let store: RedisRequestStore | null = null;
  beforeEach(async () => {
    env = await testRedis();
    store = new RedisRequestStore(env.redis, env.prefix);
  });
  afterEach(async () => {
    await env?.cleanup();
    env = null;
    store = null;
  });
  return {
    get env() {
      if (!env) throw new Error('storePerTest: read outside a test');
      return env;
    },
    get store() {
      if (!store) throw new Error('storePerTest: read outside a test');
      return store;
    },
  };
}
