/**
 * `npm run demo`: the whole product on the embedded default. A local Kubernetes control plane
 * (cached build), a Milvus-shaped release at 2.3.11, the bot and worker in HTTP mode against a
 * local Slack API stub, and the headline story played through signed requests, printed as a
 * transcript. Watch the channel live in a browser at the printed address. With
 * DEMO_INTERACTIVE=1 (or --interactive) nothing plays by itself: the page is the Slack client,
 * a person types `/milvus ...` as alice or bob and clicks Approve / Roll back, and the terminal
 * says who acts next. Ctrl-C or the end stops everything this started.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { down, status, up } from '../test/harness/control-plane.js';
import { DEMO, guideStory, installDemoRelease, playStory, startDemoApp, transcriptLine, type DemoApp } from '../test/harness/demo-story.js';
import { startSlackStub, type SlackStub } from '../test/harness/slack-stub.js';
import { deleteKeys } from '../test/integration/redis.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const HOLD_MS = Number(process.env.DEMO_HOLD_SECONDS ?? 0) * 1000;
/** DEMO_INTERACTIVE=1 (or --interactive): people act in the page; the demo waits at each decision. */
const INTERACTIVE = process.env.DEMO_INTERACTIVE === '1' || process.argv.includes('--interactive');

async function main(): Promise<number> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await redis.ping();
  } catch {
    process.stderr.write(`demo: Redis is not reachable at ${REDIS_URL}: start it (redis-server --daemonize yes) or set REDIS_URL\n`);
    return 1;
  }
  const prefix = `demo-${randomBytes(3).toString('hex')}:`;
  const wasRunning = (await status()).running;
  let stub: SlackStub | null = null;
  let app: DemoApp | null = null;
  let printed = 0;
  let timer: NodeJS.Timeout | null = null;
  const cleanup = async () => {
    if (timer) clearInterval(timer);
    await app?.close().catch(() => {});
    await stub?.close().catch(() => {});
    await deleteKeys(redis, `${prefix}*`);
    redis.disconnect();
    if (!wasRunning) await down();
  };
  process.once('SIGINT', () => {
    process.stderr.write('\ndemo: interrupted, cleaning up\n');
    void cleanup().then(() => process.exit(130));
  });
  try {
    const info = await up();
    process.stdout.write(`Kubernetes control plane up (${info.apiserverUrl}); installing ${DEMO.release} 2.3.11 in namespace ${DEMO.namespace}...\n`);
    await installDemoRelease(info);
    stub = await startSlackStub({ port: Number(process.env.DEMO_SLACK_PORT ?? 0), wallClockTs: true });
    process.stdout.write(`Slack API stub at ${stub.url}\n`);
    app = await startDemoApp(info, stub, prefix, { interactive: INTERACTIVE, milvusIn: DEMO.namespace });
    process.stdout.write(`\n  Open ${stub.baseUrl}/ in a browser: the #ops channel as Slack shows it${INTERACTIVE ? ', where you act as alice or bob' : ''}.\n\n`);
    process.stdout.write(`Bot and worker listening on ${app.url}\n\n`);
    const s = stub;
    const flush = () => {
      for (const c of s.calls.slice(printed)) {
        const line = transcriptLine(c);
        if (line) process.stdout.write(`${line}\n`);
      }
      printed = s.calls.length;
    };
    timer = setInterval(flush, 100);
    if (INTERACTIVE) {
      await guideStory(stub, (line) => {
        flush();
        process.stdout.write(`\n>> ${line}\n`);
      });
      await new Promise((r) => setTimeout(r, 300));
      flush();
      process.stdout.write(`\nThe page stays at ${stub.baseUrl}/ until Ctrl-C.\n`);
      await new Promise(() => {});
    }
    const ids = await playStory(stub, app, (line) => {
      flush();
      process.stdout.write(`\n${line}\n`);
    });
    await new Promise((r) => setTimeout(r, 300));
    flush();
    process.stdout.write(`\nDemo finished: ${ids.upgrade} upgraded ${DEMO.release} 2.3.11 -> 2.4.23, then the rollback put it back on 2.3.11.\n`);
    if (HOLD_MS > 0) {
      process.stdout.write(`Keeping the page at ${stub.baseUrl}/ for ${HOLD_MS / 1000}s (Ctrl-C to stop)\n`);
      await new Promise((r) => setTimeout(r, HOLD_MS));
    }
    return 0;
  } catch (err) {
    process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await cleanup();
  }
}

process.exitCode = await main();
