import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { loadConfig } from '../../src/config.js';
import { RedisRequestStore } from '../../src/jobs/requests.js';
import { start, type Running } from '../../src/main.js';
import { blockActionPayload, blockActionsBody, postSigned, slashCommandBody } from '../harness/slack-sign.js';
import { startSlackStub, type SlackStub } from '../harness/slack-stub.js';
import { REDIS_URL, testRedis } from '../integration/redis.js';
import { processEnv } from './engine.js';
import { cluster } from './helpers.js';
import { kubeconfigText } from '../harness/control-plane.js';

export const SIGNING_SECRET = 'e2e-signing-secret';
export const CHANNEL = 'C0OPS00001';
export const USERS = { requester: 'U0REQ00001', approver: 'U0APP00001', stranger: 'U0NOBODY01', groupMember: 'U0GRP00001' } as const;

export const ACCESS_YAML = `rules:
  - namespaces: ["*"]
    releases: ["*"]
    requesters: ["${USERS.requester}", "S0OPS00001"]
    approvers: ["${USERS.approver}", "${USERS.requester}"]
    channels: ["${CHANNEL}"]
`;

export interface BotEnv {
  readonly stub: SlackStub;
  readonly store: RedisRequestStore;
  readonly url: string;
  readonly prefix: string;
  /** Base URL of the bot's HTTP server (health, metrics). */
  readonly base: string;
  slash(text: string, user?: string, channel?: string): Promise<{ status: number; body: string; ms: number }>;
  click(action: string, value: string, user: string, messageTs: string, threadTs?: string): Promise<{ status: number; body: string; ms: number }>;
  /** Stops the app and starts a new one on the same Redis prefix and stub (a restarted pod). */
  restart(): Promise<void>;
  /** Starts one more replica of the app on the same Redis prefix and stub (closed with the env). */
  replica(): Promise<Running>;
  close(): Promise<void>;
}

/** The real app (bot + worker roles, HTTP mode) on a free port, its Web API pointed at a stub. */
export async function startBotEnv(options: { roles?: string; approvals?: number; accessYaml?: string; secondCluster?: string; env?: Record<string, string>; redisUrl?: string; now?: () => number } = {}): Promise<BotEnv> {
  const redis = await testRedis();
  const stub = await startSlackStub();
  stub.userGroups.S0OPS00001 = [USERS.groupMember];
  const dir = mkdtempSync(join(tmpdir(), 'mub-access-'));
  const accessPath = join(dir, 'access.yaml');
  writeFileSync(accessPath, options.accessYaml ?? ACCESS_YAML);
  const kubeconfig = join(dir, 'kubeconfig');
  // The bot's kubeconfig may name more clusters (contexts); here a second name for the same API.
  writeFileSync(kubeconfig, twoContexts(options.secondCluster));
  const env = processEnv(redis.prefix, {
    KUBECONFIG: kubeconfig,
    ROLES: options.roles ?? 'bot,worker',
    SLACK_BOT_TOKEN: 'xoxb-e2e-test',
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: stub.url,
    PORT: '0',
    ACCESS_CONFIG: accessPath,
    APPROVALS_NEEDED: String(options.approvals ?? 1),
    LOG_LEVEL: 'warn',
    ...options.env,
    // A Redis of the test's own (one it can stop and start again), else the shared one.
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
  });
  const config = loadConfig(env);
  const extras = { helmEnv: Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('HELM_')).map(([k, v]) => [k, String(v)])), slackRetries: 2, slackUpdateIntervalMs: 100, ...(options.now ? { now: options.now } : {}) };
  let running: Running = await start(config, extras);
  let url = `http://127.0.0.1:${running.botPort}/slack/events`;
  const replicas: Running[] = [];
  const storeConn = new Redis(options.redisUrl ?? REDIS_URL, { maxRetriesPerRequest: null }).on('error', () => {});
  const store = new RedisRequestStore(storeConn, redis.prefix);
  const envObj: BotEnv = {
    stub,
    store,
    get url() {
      return url;
    },
    get base() {
      return `http://127.0.0.1:${running.botPort}`;
    },
    prefix: redis.prefix,
    slash: (text, user = USERS.requester, channel = CHANNEL) =>
      postSigned(url, slashCommandBody({ text, user_id: user, channel_id: channel, response_url: stub.responseUrl(undefined, { channel, user }) }), { signingSecret: SIGNING_SECRET }),
    click: (action, value, user, messageTs, threadTs) =>
      postSigned(url, blockActionsBody(blockActionPayload({ action_id: action, value, user_id: user, channel_id: CHANNEL, message_ts: messageTs, ...(threadTs ? { thread_ts: threadTs } : {}), response_url: stub.responseUrl(undefined, { channel: CHANNEL, user }) })), { signingSecret: SIGNING_SECRET }),
    async restart() {
      await running.close();
      running = await start(config, extras);
      url = `http://127.0.0.1:${running.botPort}/slack/events`;
    },
    async replica() {
      const r = await start(config, extras);
      replicas.push(r);
      return r;
    },
    async close() {
      for (const r of replicas) await r.close();
      await running.close();
      storeConn.disconnect();
      await stub.close();
      await redis.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return envObj;
}

function twoContexts(second?: string): string {
  const info = cluster();
  const base = parseYaml(kubeconfigText(info.apiserverUrl, info.adminToken, 'milvus-test')) as {
    clusters: Array<{ name: string }>;
    users: Array<{ name: string }>;
    contexts: Array<{ name: string; context: { cluster: string; user: string } }>;
  };
  if (second) base.contexts.push({ name: second, context: { cluster: 'milvus-test', user: 'milvus-test-admin' } });
  return stringifyYaml(base);
}
