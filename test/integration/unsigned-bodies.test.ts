/**
 * Issue 25, item 3, on the real Bolt app: a POST to the Slack endpoint without a signature that
 * announces a 4 MB body is answered 401 at once, before a byte of its body is sent, and its
 * connection is closed (Bolt alone waited for and buffered the whole body first). A signed one
 * over the cap gets 413 the same way; signed requests of a real size still work.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signSlackRequest } from '../harness/slack-sign.js';
import { NOWHERE_SECRET, startNowhereBot, type NowhereBot } from './nowhere-bot.js';
import { REDIS_URL, testRedis } from './redis.js';

/** Sends only the head of a POST (no body) and returns what the server answers, and whether it closed. */
function headOnly(port: number, headers: Record<string, string>): Promise<{ status: number; closed: boolean; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const socket: Socket = connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within 5 s: ${data}`));
    }, 5000);
    socket.on('data', (d) => (data += String(d)));
    socket.on('close', () => {
      clearTimeout(timer);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, closed: true, ms: Date.now() - t0 });
    });
    socket.on('error', () => {});
    socket.write(`POST /slack/events HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/x-www-form-urlencoded\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
  });
}

describe('bodies that are not read', () => {
  let env: Awaited<ReturnType<typeof testRedis>>;
  let bot: NowhereBot;
  let port: number;
  beforeAll(async () => {
    env = await testRedis();
    bot = await startNowhereBot({ redisUrl: REDIS_URL, prefix: env.prefix, accessYaml: 'rules: []\n' });
    port = Number(new URL(bot.base).port);
  });
  afterAll(async () => {
    await bot?.close();
    await env?.cleanup();
  });

  it('an unsigned 4 MB body: 401 before the body is sent, and the connection closed', async () => {
    const r = await headOnly(port, { 'content-length': String(4 * 1024 * 1024) });
    expect(r).toMatchObject({ status: 401, closed: true });
    expect(r.ms).toBeLessThan(2000);
  });

  it('a signed one announcing more than the cap: 413, unread; a stale one: 401', async () => {
    const fresh = signSlackRequest(NOWHERE_SECRET, 'x');
    expect(await headOnly(port, { ...fresh, 'content-length': String(2 * 1024 * 1024) })).toMatchObject({ status: 413, closed: true });
    const stale = signSlackRequest(NOWHERE_SECRET, 'x', Math.floor(Date.now() / 1000) - 600);
    expect(await headOnly(port, { ...stale, 'content-length': '100' })).toMatchObject({ status: 401, closed: true });
  });

  it('bodies in flight are bounded: once 4 MB of plausible 1 MB bodies are being received, the next is answered 503 at once', async () => {
    const held: Socket[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const socket = connect(port, '127.0.0.1');
        socket.on('error', () => {});
        // Signature headers of the right shape, a fresh timestamp: only the whole body could tell it is forged.
        const head = { 'x-slack-signature': `v0=${'ab'.repeat(32)}`, 'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000)), 'content-length': String(1024 * 1024) };
        socket.write(`POST /slack/events HTTP/1.1\r\nhost: 127.0.0.1\r\n${Object.entries(head).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${'x'.repeat(1000)}`);
        held.push(socket);
      }
      await new Promise((r) => setTimeout(r, 300));
      const next = await headOnly(port, { 'x-slack-signature': `v0=${'cd'.repeat(32)}`, 'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000)), 'content-length': String(1024 * 1024) });
      expect(next).toMatchObject({ status: 503, closed: true });
    } finally {
      for (const s of held) s.destroy();
    }
    // Once they are gone, a real command is answered again.
    await new Promise((r) => setTimeout(r, 300));
    expect((await bot.slash('help', 'U0ANYONE02', 'C0OPS00001')).status).toBe(200);
  });

  it('a signed command of a real size is still answered', async () => {
    const r = await bot.slash('help', 'U0ANYONE01', 'C0OPS00001');
    expect(r.status).toBe(200);
  });
});
