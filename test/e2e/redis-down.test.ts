/**
 * Redis away: the bot answers commands and clicks at once ("Redis is unavailable; nothing was
 * done"), health and metrics answer within a second, and nothing asked during the outage runs
 * when Redis comes back. A private redis-server (persisting, on its own loopback port) is killed
 * and started again on the same port.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveState } from '../../src/upgrade/requests.js';
import { fakePlan } from '../integration/plans.js';
import { CHANNEL, USERS, startBotEnv, type BotEnv } from './bot-env.js';
import { until } from './engine.js';
import { freePort, ping, startRedis } from './private-redis.js';
import { installRelease, newNamespace } from './helpers.js';

const QUICK_MS = 1000;
const DOWN = /Redis is unavailable; nothing was done/;
const STALLED = /Redis is not answering \(connected, but no reply within a few seconds\)/;

describe('Redis down or stalled: answered at once, nothing runs late', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  let dir: string;
  let port: number;
  let server: ChildProcess;
  let bot: BotEnv;

  beforeAll(async () => {
    ns = await newNamespace('e2e-redisdown');
    await installRelease(ns.name, 'my-release', '4.1.24');
    dir = mkdtempSync(join(tmpdir(), 'mub-redisdown-'));
    port = await freePort();
    server = startRedis(port, dir);
    await until('the private redis to answer', 10_000, async () => ping(port));
    bot = await startBotEnv({ roles: 'bot,planner', redisUrl: `redis://127.0.0.1:${port}` });
  });
  afterAll(async () => {
    // A failed test may leave Redis down: the bot's waiting connections close only once it is back.
    if (port && !(await ping(port))) {
      server = startRedis(port, dir);
      await until('the private redis to answer', 10_000, async () => ping(port)).catch(() => {});
    }
    await bot?.close();
    server?.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
    await ns?.cleanup();
  });

  const get = async (path: string) => {
    const t0 = Date.now();
    const res = await fetch(`${bot.base}${path}`, { signal: AbortSignal.timeout(5000) });
    const body = await res.text();
    return { status: res.status, body, ms: Date.now() - t0 };
  };

  it('an upgrade and an approve click are refused at once; health answers; nothing runs when Redis is back', async () => {
    // A request waiting for approval, made while Redis is up.
    const pending = await bot.store.create({
      kind: 'upgrade',
      plan: fakePlan('other', ns.name, 'milvus-test'),
      requester: { id: USERS.requester, via: 'slack' },
      place: { channel: CHANNEL, messageTs: '1700000000.000100' },
      approvalsNeeded: 1,
      allowSelfApproval: false,
      ttlMs: 3_600_000,
    });
    expect((await get('/readyz')).status).toBe(200);

    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    await until('the bot to see Redis gone', 5000, async () => (await get('/readyz')).status === 503);

    const command = await bot.slash(`upgrade my-release 2.4.23 -n ${ns.name}`);
    expect(command.status).toBe(200);
    expect(command.ms).toBeLessThan(QUICK_MS);
    expect((JSON.parse(command.body) as { text: string }).text).toMatch(DOWN);

    const t0 = Date.now();
    const click = await bot.click('approve', pending.id, USERS.approver, '1700000000.000100');
    expect(click.status).toBe(200);
    await bot.stub.waitFor(() => bot.stub.ephemerals(CHANNEL).some((e) => e.user === USERS.approver && DOWN.test(e.text)), QUICK_MS);
    expect(Date.now() - t0).toBeLessThan(QUICK_MS);

    const healthz = await get('/healthz');
    expect(healthz.status).toBe(200);
    expect(healthz.ms).toBeLessThan(QUICK_MS);
    const readyz = await get('/readyz');
    expect(readyz.status).toBe(503);
    expect(readyz.ms).toBeLessThan(QUICK_MS);
    expect((JSON.parse(readyz.body) as { checks: Record<string, string> }).checks.redis).toMatch(/Redis is unavailable/);
    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.ms).toBeLessThan(QUICK_MS);
    expect(metrics.body).toMatch(/milvus_upgrade_requests_finished_total/);

    // Back on the same port, with its data.
    server = startRedis(port, dir);
    await until('the private redis to answer again', 10_000, async () => ping(port));
    await until('the bot to be ready again', 20_000, async () => (await get('/readyz')).status === 200);
    expect((await bot.store.require(pending.id)).id).toBe(pending.id);

    // What was asked during the outage must not happen now: watched for a while (a late run of
    // the upgrade plans with helm first, which takes seconds).
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline) {
      expect((await bot.store.history('milvus-test', ns.name, 'my-release')).map((r) => r.id)).toEqual([]);
      const now = await bot.store.require(pending.id);
      expect(now.approvals).toEqual([]);
      expect(deriveState(now, Date.now())).toBe('pending-approval');
      expect(await jobKeys(port, bot.prefix)).toEqual([]);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(bot.stub.callsTo('chat.postMessage')).toEqual([]);

    // And the bot works again.
    const after = await bot.slash(`upgrade my-release 2.4.23 -n ${ns.name}`);
    expect(after.status).toBe(200);
    await bot.stub.waitFor(() => bot.stub.callsTo('chat.postMessage').length >= 2, 30_000);
    expect((await bot.store.history('milvus-test', ns.name, 'my-release')).length).toBe(1);
  });

  it('a stalled Redis (connected, not answering): a click is answered within seconds, and nothing lands when Redis wakes up', async () => {
    await until('Redis to answer', 10_000, async () => ping(port));
    await until('the bot to be ready', 20_000, async () => (await get('/readyz')).status === 200);
    const pending = await bot.store.create({
      kind: 'upgrade',
      plan: fakePlan('stalled', ns.name, 'milvus-test'),
      requester: { id: USERS.requester, via: 'slack' },
      place: { channel: CHANNEL, messageTs: '1700000000.000200' },
      approvalsNeeded: 1,
      allowSelfApproval: false,
      ttlMs: 3_600_000,
    });
    process.kill(server.pid!, 'SIGSTOP');
    try {
      const t0 = Date.now();
      const click = await bot.click('approve', pending.id, USERS.approver, '1700000000.000200');
      expect(click.status).toBe(200);
      await bot.stub.waitFor(() => bot.stub.ephemerals(CHANNEL).some((e) => e.user === USERS.approver && STALLED.test(e.text)), 5000);
      // REDIS_COMMAND_TIMEOUT_MS (2 s) and the ack's deferral at most.
      expect(Date.now() - t0).toBeLessThan(4000);
      const readyz = await get('/readyz');
      expect(readyz.status).toBe(503);
      expect(readyz.ms).toBeLessThan(QUICK_MS);
      // Stalled well past the 5 s a click may take to land.
      await new Promise((r) => setTimeout(r, 6000));
    } finally {
      process.kill(server.pid!, 'SIGCONT');
    }
    await until('the bot to be ready again', 20_000, async () => (await get('/readyz')).status === 200);
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      const now = await bot.store.require(pending.id);
      expect(now.approvals).toEqual([]);
      expect(deriveState(now, Date.now())).toBe('pending-approval');
      await new Promise((r) => setTimeout(r, 250));
    }
  });
});

/** Jobs of the upgrade queue (any state) under the prefix. */
async function jobKeys(port: number, prefix: string): Promise<string[]> {
  const r = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1 }).on('error', () => {});
  try {
    const keys = await r.keys(`${prefix}bull:milvus-upgrades:*`);
    return keys.filter((k) => !/:(meta|id|events|stalled-check)$/.test(k)).sort();
  } finally {
    r.disconnect();
  }
}
