/**
 * Benchmark: the bot under the load issue 25 describes. The real app (ROLES=bot, HTTP mode) in
 * its own process, as `npm start` runs it; its Kubernetes API is a server on 127.0.0.1 that
 * accepts connections and never answers; no worker or planner runs; Slack is the local stub.
 *
 * 1. Approve latency while reads hang: 32 `/milvus status` (8 people, 4 each) stuck on the hung
 *    API server and 32 `/milvus plan` with no planner, then 20 Approve clicks, one after another,
 *    each timed from sending the click to the vote being in Redis. Target: under 1 s.
 * 2. Memory under floods: RSS idle, then with 96 held connections announcing unsigned 4 MB bodies
 *    (their bodies trickling in), then while 300 plausible 1 MB bodies (signature headers of the
 *    right shape, a fresh timestamp) are sent at once; meanwhile signed `/milvus help` commands
 *    are timed (their acks). Target: under +50 MB.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { RedisRequestStore } from '../src/jobs/requests.js';
import { deleteKeys } from '../test/integration/redis.js';
import { fakePlan } from '../test/integration/plans.js';
import { TEST_SEAL_KEY } from '../test/fixtures/test-sealer.js';
import { blockActionPayload, blockActionsBody, signSlackRequest, slashCommandBody } from '../test/harness/slack-sign.js';
import { startSlackStub } from '../test/harness/slack-stub.js';
import { startHungApi } from '../test/harness/hung-api.js';
import { isMain, log, machine, machineLine, ms, percentile, stamp, startBot, stopChild, table, writeSection } from './run.js';

const SECRET = 'bench-signing-secret';
const CHANNEL = 'C0BENCH001';
const APPROVER = 'U0BENCHAPP';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Statuses other than 200 the signed requests got (a 503 while the body budget was full). */
const refusedStatuses: number[] = [];

/** A signed POST; resolves with the time to the end of the response. */
function post(port: number, body: string): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/slack/events', method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), ...signSlackRequest(SECRET, body) } }, (res) => {
      if (res.statusCode !== 200) refusedStatuses.push(res.statusCode ?? 0);
      res.resume();
      res.on('end', () => resolve(performance.now() - t0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Opens a connection and sends a request head (and `body` bytes of it, if any); the socket stays open. */
function open(port: number, headers: Record<string, string>, body = ''): Socket {
  const s = connect(port, '127.0.0.1');
  s.on('error', () => {});
  s.write(`POST /slack/events HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/x-www-form-urlencoded\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`);
  return s;
}

export async function main(): Promise<void> {
  const m = machine();
  const when = stamp();
  const dir = mkdtempSync(join(tmpdir(), 'mub-bench-trust-'));
  const prefix = `bench-trust-${process.pid}-${Date.now().toString(36)}:`;
  const stub = await startSlackStub();
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const api = await startHungApi();
  let child: ChildProcess | null = null;
  const held: Socket[] = [];
  try {
    writeFileSync(join(dir, 'access.yaml'), `rules:\n  - requesters: ["*"]\n    approvers: ["${APPROVER}"]\n    channels: ["${CHANNEL}"]\n`);
    const bot = await startBot({
      ROLES: 'bot',
      APPROVAL_SEAL_KEY: TEST_SEAL_KEY,
      KUBECONFIG: api.kubeconfig(),
      REDIS_URL,
      KEY_PREFIX: prefix,
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: stub.url,
      PORT: '0',
      ACCESS_CONFIG: join(dir, 'access.yaml'),
      // "bot started" (with its port) is an info line.
      LOG_LEVEL: 'info',
      MILVUS_DATA_CHECKS: 'off',
    });
    child = bot.child;
    const pid = child.pid!;
    const store = new RedisRequestStore(redis, prefix);

    // 1. Approve latency while every read slot waits on the hung API and plans have no planner.
    log('1. 32 status against a hung API server, 32 plans with no planner, then 20 Approve clicks');
    const readers = Array.from({ length: 8 }, (_, i) => `U0BENCHR${i}`);
    const reads: Promise<number>[] = [];
    for (let i = 0; i < 32; i++) reads.push(post(bot.port, slashCommandBody({ text: `status r${i}`, user_id: readers[i % 8]!, channel_id: CHANNEL, response_url: stub.responseUrl(undefined, { channel: CHANNEL, user: readers[i % 8]! }) })));
    for (let i = 0; i < 32; i++) reads.push(post(bot.port, slashCommandBody({ text: `plan p${i} 2.4.23`, user_id: `U0BENCHP${i}`, channel_id: CHANNEL, response_url: stub.responseUrl(undefined, { channel: CHANNEL, user: `U0BENCHP${i}` }) })));
    await Promise.all(reads);
    await new Promise((r) => setTimeout(r, 1500));
    const approveMs: number[] = [];
    for (let i = 0; i < 20; i++) {
      const card = `1700000100.${String(i).padStart(6, '0')}`;
      const r = await store.create({ kind: 'upgrade', plan: fakePlan(`bench-${i}`, 'default', 'hung'), requester: { id: 'U0BENCHREQ', via: 'slack' }, place: { channel: CHANNEL, messageTs: card }, approvalsNeeded: 2, allowSelfApproval: false, ttlMs: 3_600_000 });
      const t0 = performance.now();
      await post(bot.port, blockActionsBody(blockActionPayload({ user_id: APPROVER, channel_id: CHANNEL, message_ts: card, action_id: 'approve', value: r.id, response_url: stub.responseUrl(undefined, { channel: CHANNEL, user: APPROVER }) })));
      while ((await store.require(r.id)).approvals.length === 0) {
        if (performance.now() - t0 > 30_000) throw new Error(`approve ${i} did not count within 30 s`);
        await new Promise((res) => setTimeout(res, 5));
      }
      approveMs.push(performance.now() - t0);
    }
    approveMs.sort((a, b) => a - b);
    log(`  approve: p50 ${ms(percentile(approveMs, 50))} p99 ${ms(percentile(approveMs, 99))} max ${ms(approveMs.at(-1)!)}; API connections held: ${api.sockets.size}`);

    // 2. Memory under floods, with signed commands timed meanwhile.
    const idle = rssMiB(pid);
    log(`2. RSS idle ${idle.toFixed(1)} MiB; 96 held unsigned 4 MB bodies`);
    let closedByBot = 0;
    for (let i = 0; i < 96; i++) {
      const s = open(bot.port, { 'content-length': String(4 * 1024 * 1024) }, 'x'.repeat(64 * 1024));
      s.on('close', () => closedByBot++);
      s.resume();
      held.push(s);
    }
    await new Promise((r) => setTimeout(r, 2000));
    const afterUnsigned = rssMiB(pid);
    const stillOpen = 96 - closedByBot;
    log(`  RSS ${afterUnsigned.toFixed(1)} MiB; connections the bot kept open: ${stillOpen}`);
    for (const s of held.splice(0)) s.destroy();

    log('  300 unsigned 1 MB bodies at once');
    let peakUnsigned = rssMiB(pid);
    const sampleUnsigned = setInterval(() => (peakUnsigned = Math.max(peakUnsigned, rssMiB(pid))), 20);
    const megabyteBody = 'x'.repeat(1024 * 1024);
    for (let i = 0; i < 300; i++) {
      const s = open(bot.port, { 'content-length': String(1024 * 1024) }, megabyteBody);
      s.resume();
      held.push(s);
    }
    await new Promise((r) => setTimeout(r, 2000));
    clearInterval(sampleUnsigned);
    for (const s of held.splice(0)) s.destroy();
    log(`  peak RSS ${peakUnsigned.toFixed(1)} MiB (+${(peakUnsigned - idle).toFixed(1)})`);

    log('  300 plausible 1 MB bodies at once, 50 signed commands timed meanwhile');
    let peak = rssMiB(pid);
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 20);
    const fresh = () => ({ 'x-slack-signature': `v0=${'ab'.repeat(32)}`, 'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000)), 'content-length': String(1024 * 1024) });
    for (let i = 0; i < 300; i++) {
      const s = open(bot.port, fresh(), megabyteBody);
      s.resume();
      held.push(s);
    }
    refusedStatuses.length = 0;
    const acks: number[] = [];
    for (let i = 0; i < 50; i++) {
      acks.push(await post(bot.port, slashCommandBody({ text: 'help', user_id: `U0BENCHH${i}`, channel_id: CHANNEL, response_url: stub.responseUrl(undefined, { channel: CHANNEL, user: `U0BENCHH${i}` }) })));
    }
    await new Promise((r) => setTimeout(r, 1000));
    clearInterval(sampler);
    for (const s of held.splice(0)) s.destroy();
    acks.sort((a, b) => a - b);
    const refusedAcks = refusedStatuses.length;
    log(`  peak RSS ${peak.toFixed(1)} MiB (+${(peak - idle).toFixed(1)}); help acks p50 ${ms(percentile(acks, 50))} p99 ${ms(percentile(acks, 99))}; answered 503 (Slack retries): ${refusedAcks}`);

    writeSection(
      'trust',
      [
        `## Trust under load (issue 25): \`npx tsx bench/trust.ts\``,
        '',
        `${when}. ${machineLine(m)}.`,
        '',
        'The bot role in its own process (HTTP mode), its Kubernetes API a server on 127.0.0.1 that accepts and never answers, no worker or planner, the Slack stub.',
        '',
        table(
          ['measure', 'figure', 'target'],
          [
            ['Approve, click to vote in Redis, while 32 status hang on the API and 32 plans have no planner (20 clicks)', `p50 ${ms(percentile(approveMs, 50))}, p99 ${ms(percentile(approveMs, 99))}, max ${ms(approveMs.at(-1)!)}`, '< 1 s'],
            ['RSS idle', `${idle.toFixed(1)} MiB`, ''],
            ['RSS with 96 held unsigned 4 MB bodies', `${afterUnsigned.toFixed(1)} MiB (+${(afterUnsigned - idle).toFixed(1)}); connections kept: ${stillOpen}`, '< +50 MB'],
            ['peak RSS while 300 unsigned 1 MB bodies arrive at once', `${peakUnsigned.toFixed(1)} MiB (+${(peakUnsigned - idle).toFixed(1)})`, '< +50 MB'],
            ['peak RSS while 300 plausible 1 MB bodies (signature headers of the right shape) arrive at once', `${peak.toFixed(1)} MiB (+${(peak - idle).toFixed(1)})`, '< +50 MB'],
            ['signed commands during that flood (50, one at a time)', `p50 ${ms(percentile(acks, 50))}, p99 ${ms(percentile(acks, 99))}; ${refusedAcks} answered 503 (Slack retries those)`, 'ack < 3 s'],
          ],
        ),
        '',
        'Why: votes and cancels have a pool of their own; a plan with no planner connected is refused at once; every API call ends within 15 s. A request without signature headers, stale, or announcing more than 1 MB is answered before its body is read and its connection closed; bodies being received at once are capped at 4 MB (then 503, which Slack retries).',
      ].join('\n'),
    );
  } finally {
    for (const s of held) s.destroy();
    await stopChild(child);
    await api.close();
    await stub.close();
    await deleteKeys(redis, `${prefix}*`);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) await main();
