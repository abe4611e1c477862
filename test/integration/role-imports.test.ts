/**
 * A process loads what its roles use: a worker (or planner) never loads Bolt or the Slack Web API
 * client (about 35 MB of RSS), the bot does; the queue dashboard's Express and Bull Board load
 * only where it is on. The real entry point (src/main.ts), real Redis, a kubeconfig pointing at a
 * closed port; every module URL the process resolves is recorded.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { closedPort, kubeconfigNowhere } from './nowhere-bot.js';
import { deleteKeys } from './redis.js';
import { TEST_SEAL_KEY } from '../fixtures/test-sealer.js';

const REPO_ROOT = join(import.meta.dirname, '..', '..');
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const dir = mkdtempSync(join(tmpdir(), 'role-imports-'));
const prefix = `role-imports-${process.pid}:`;
afterAll(async () => {
  const redis = new Redis(REDIS_URL);
  await deleteKeys(redis, `${prefix}*`);
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts src/main.ts with `env` until it logs `ready`, stops it; the module URLs it resolved. */
async function importsOf(env: Record<string, string>, ready: RegExp): Promise<string[]> {
  const to = join(dir, `imports-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(to, '');
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigNowhere(await closedPort()), { mode: 0o600 });
  writeFileSync(join(dir, 'access.yaml'), 'rules: []\n');
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', join(REPO_ROOT, 'test', 'fixtures', 'record-imports.mjs'), join(REPO_ROOT, 'src', 'main.ts')], {
    env: { ...process.env, RECORD_IMPORTS_TO: to, KUBECONFIG: kubeconfig, REDIS_URL, KEY_PREFIX: prefix, PORT: '0', LOG_LEVEL: 'info', ACCESS_CONFIG: join(dir, 'access.yaml'), APPROVAL_SEAL_KEY: TEST_SEAL_KEY, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let seen = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not started: ${seen.slice(-2000)}`)), 60_000);
      child.once('exit', (code) => reject(new Error(`exited (${code}): ${seen.slice(-2000)}`)));
      child.stderr!.on('data', (d: Buffer) => {
        seen += String(d);
        if (ready.test(seen)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  }
  return readFileSync(to, 'utf8').split('\n').filter(Boolean);
}

const slack = (urls: string[]) => urls.filter((u) => /\/@slack\/(bolt|web-api)\//.test(u));
const dashboard = (urls: string[]) => urls.filter((u) => /\/(@bull-board|express)\//.test(u));

describe('modules loaded by role', () => {
  it('a worker loads neither Bolt nor the Web API client, nor the dashboard', async () => {
    const urls = await importsOf({ ROLES: 'worker' }, /"msg":"plan worker started"/);
    expect(urls.some((u) => u.includes('/bullmq/')), 'it did start a worker').toBe(true);
    expect(slack(urls)).toEqual([]);
    expect(dashboard(urls)).toEqual([]);
  }, 90_000);

  it('a planner loads no Slack module either', async () => {
    const urls = await importsOf({ ROLES: 'planner' }, /"msg":"plan worker started"/);
    expect(slack(urls)).toEqual([]);
  }, 90_000);

  it('the bot loads both', async () => {
    const urls = await importsOf({ ROLES: 'bot', SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: 'secret', SLACK_API_URL: 'http://127.0.0.1:9/api/' }, /"msg":"bot started"/);
    expect(slack(urls).some((u) => u.includes('/@slack/bolt/'))).toBe(true);
    expect(slack(urls).some((u) => u.includes('/@slack/web-api/'))).toBe(true);
  }, 90_000);
});
