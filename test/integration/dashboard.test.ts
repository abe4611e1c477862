import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { start, type Running } from '../../src/main.js';
import { REDIS_URL, testRedis } from './redis.js';
import { TEST_SEAL_KEY } from '../fixtures/test-sealer.js';

const TOKEN = 'a-dashboard-token-of-some-length';

describe('the queue dashboard (Bull Board)', () => {
  let env: Awaited<ReturnType<typeof testRedis>>;
  let running: Running | null = null;
  beforeEach(async () => {
    env = await testRedis();
  });
  afterEach(async () => {
    await running?.close();
    running = null;
    await env.cleanup();
  });

  const boot = async (extra: Record<string, string>) => {
    running = await start(loadConfig({ ROLES: 'worker', REDIS_URL, KEY_PREFIX: env.prefix, PORT: '0', LOG_LEVEL: 'silent', KUBECONFIG: '/nonexistent', APPROVAL_SEAL_KEY: TEST_SEAL_KEY, ...extra }));
    return running;
  };

  it('is off by default', async () => {
    const r = await boot({});
    expect(r.dashboardPort).toBeNull();
  });

  it('needs a long token when turned on', () => {
    expect(() => loadConfig({ ROLES: 'worker', DASHBOARD_PORT: '0', DASHBOARD_TOKEN: 'short' })).toThrow(/DASHBOARD_TOKEN: required \(16 characters or more\)/);
  });

  it('refuses requests without the token, serves the queue read-only with it', async () => {
    const r = await boot({ DASHBOARD_PORT: '0', DASHBOARD_TOKEN: TOKEN });
    const base = `http://127.0.0.1:${r.dashboardPort}`;
    expect((await fetch(`${base}/`)).status).toBe(401);
    expect((await fetch(`${base}/`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
    const basic = `Basic ${Buffer.from(`ops:${TOKEN}`).toString('base64')}`;
    const page = await fetch(`${base}/`, { headers: { authorization: basic } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
    const api = await fetch(`${base}/api/queues`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: Array<{ name: string; readOnlyMode: boolean }> };
    expect(body.queues.map((q) => [q.name, q.readOnlyMode])).toEqual([['milvus-upgrades', true]]);
    // Read-only: no way to empty the queue.
    const clean = await fetch(`${base}/api/queues/milvus-upgrades/empty`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(clean.status).toBeGreaterThanOrEqual(400);
  });
});
