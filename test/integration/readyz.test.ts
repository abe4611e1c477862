/**
 * Issue 25, item 10: /readyz failed while the default cluster's API server was down, so the
 * chart's readiness probe took the bot out of its Service and Slack could no longer reach it. The
 * bot here runs against a kubeconfig whose API server is a closed port.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNowhereBot, type NowhereBot } from './nowhere-bot.js';
import { REDIS_URL, testRedis } from './redis.js';

describe('/readyz with the Kubernetes API down', () => {
  let env: Awaited<ReturnType<typeof testRedis>>;
  let bot: NowhereBot;
  beforeAll(async () => {
    env = await testRedis();
    bot = await startNowhereBot({ redisUrl: REDIS_URL, prefix: env.prefix, accessYaml: 'rules: []\n' });
  });
  afterAll(async () => {
    await bot?.close();
    await env?.cleanup();
  });

  it('stays ready (Redis answers) and reports Kubernetes as degraded, saying why', async () => {
    const res = await fetch(`${bot.base}/readyz`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { ok: boolean; checks: Record<string, string>; degraded?: string[] };
    expect(res.status).toBe(200);
    expect(body.ok).toBe(true);
    expect(body.checks.redis).toBe('ok');
    expect(body.checks.kubernetes ?? 'ok').not.toBe('ok');
    expect(body.degraded).toEqual(['kubernetes']);
  });
});
