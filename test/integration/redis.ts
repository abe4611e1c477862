import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Deletes every key matching `pattern` (SCAN, so a big database is not blocked). */
export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

/** A Redis connection and a key prefix of the test's own; `cleanup` deletes every key under it. */
export async function testRedis(): Promise<{ redis: Redis; prefix: string; cleanup: () => Promise<void> }> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const prefix = `test-${randomBytes(4).toString('hex')}:`;
  return {
    redis,
    prefix,
    cleanup: async () => {
      await deleteKeys(redis, `${prefix}*`);
      redis.disconnect();
    },
  };
}
