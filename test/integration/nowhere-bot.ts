/**
 * The real app (bot role, HTTP, signed requests) on real Redis and the Slack API stub, with a
 * kubeconfig pointing at a closed port: anything that reaches Kubernetes fails fast. For tests of
 * what the bot decides and answers before it touches a cluster.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { start, type Running } from '../../src/main.js';
import { blockActionPayload, blockActionsBody, postSigned, slashCommandBody, type PostSignedResult } from '../harness/slack-sign.js';
import { startSlackStub, type SlackStub } from '../harness/slack-stub.js';
import { TEST_SEAL_KEY } from '../fixtures/test-sealer.js';

export const NOWHERE_SECRET = 'nowhere-signing-secret';

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 1));
    });
  });
}

export const kubeconfigNowhere = (port: number): string => `apiVersion: v1
kind: Config
clusters:
- name: nowhere
  cluster:
    server: https://127.0.0.1:${port}
    insecure-skip-tls-verify: true
users:
- name: nowhere-user
  user:
    token: not-a-real-token
contexts:
- name: nowhere
  context:
    cluster: nowhere
    user: nowhere-user
current-context: nowhere
`;

export interface NowhereBot {
  readonly stub: SlackStub;
  readonly running: Running;
  readonly url: string;
  /** `http://127.0.0.1:<port>`: health and metrics. */
  readonly base: string;
  slash(text: string, user: string, channel: string): Promise<PostSignedResult>;
  click(action: string, value: string, user: string, channel: string, messageTs?: string): Promise<PostSignedResult>;
  /** Everything said to `user`: ephemerals, and posts to the response_url of their commands and clicks. */
  repliesTo(user: string): string[];
  close(): Promise<void>;
}

let counter = 0;

export async function startNowhereBot(o: { redisUrl: string; prefix: string; accessYaml: string; env?: Record<string, string> }): Promise<NowhereBot> {
  const stub = await startSlackStub();
  const dir = mkdtempSync(join(tmpdir(), 'mub-nowhere-'));
  writeFileSync(join(dir, 'kubeconfig'), kubeconfigNowhere(await closedPort()), { mode: 0o600 });
  writeFileSync(join(dir, 'access.yaml'), o.accessYaml);
  const env = {
    ROLES: 'bot,planner',
    APPROVAL_SEAL_KEY: TEST_SEAL_KEY,
    KUBECONFIG: join(dir, 'kubeconfig'),
    REDIS_URL: o.redisUrl,
    KEY_PREFIX: o.prefix,
    SLACK_BOT_TOKEN: 'xoxb-nowhere-test',
    SLACK_SIGNING_SECRET: NOWHERE_SECRET,
    SLACK_API_URL: stub.url,
    PORT: '0',
    ACCESS_CONFIG: join(dir, 'access.yaml'),
    MILVUS_CHART_REPO_URL: `http://127.0.0.1:${await closedPort()}/`,
    LOG_LEVEL: 'silent',
    ...o.env,
  };
  const helmEnv = { HELM_CONFIG_HOME: join(dir, 'helm', 'config'), HELM_CACHE_HOME: join(dir, 'helm', 'cache'), HELM_DATA_HOME: join(dir, 'helm', 'data') };
  const running = await start(loadConfig(env), { helmEnv, slackRetries: 0, slackUpdateIntervalMs: 100 });
  const url = `http://127.0.0.1:${running.botPort}/slack/events`;
  const responseUrl = (user: string, channel: string) => stub.responseUrl(`${user}.${++counter}`, { channel, user });
  return {
    stub,
    running,
    url,
    base: `http://127.0.0.1:${running.botPort}`,
    slash: (text, user, channel) => postSigned(url, slashCommandBody({ text, user_id: user, channel_id: channel, response_url: responseUrl(user, channel) }), { signingSecret: NOWHERE_SECRET }),
    click: (action, value, user, channel, messageTs = '1700000000.000100') =>
      postSigned(url, blockActionsBody(blockActionPayload({ action_id: action, value, user_id: user, channel_id: channel, message_ts: messageTs, response_url: responseUrl(user, channel) })), { signingSecret: NOWHERE_SECRET }),
    repliesTo: (user) =>
      stub.calls
        .filter((c) => (c.method === 'chat.postEphemeral' && c.args.user === user) || (c.method === 'response_url' && String(c.args.response_url_id).startsWith(`${user}.`)))
        .map((c) => String(c.args.text ?? '')),
    async close() {
      await running.close();
      await stub.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
