/**
 * The headline story, played against the real app through signed Slack requests and the local
 * Slack API stub: /milvus upgrade my-release 2.4.23 -> approval by a second person -> live
 * progress -> success -> Rollback. Used by `npm run demo` and by the browser test.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { start, type Running } from '../../src/main.js';
import { helm, kubectl, type ClusterInfo } from './control-plane.js';
import { blockActionPayload, blockActionsBody, postSigned, slashCommandBody } from './slack-sign.js';
import type { RecordedCall, SlackStub } from './slack-stub.js';

export const DEMO = {
  namespace: 'demo',
  release: 'my-release',
  channel: 'C0OPS00001',
  alice: 'U0ALICE001',
  bob: 'U0BOB00002',
  signingSecret: 'demo-signing-secret',
} as const;

export interface DemoApp {
  readonly running: Running;
  readonly url: string;
  close(): Promise<void>;
}

/** Installs the release at 2.3.11 (chart 4.1.24) in a fresh `demo` namespace. */
export async function installDemoRelease(info: ClusterInfo, namespace: string = DEMO.namespace): Promise<void> {
  await kubectl(info, ['delete', 'namespace', namespace, '--ignore-not-found', '--wait=true'], undefined);
  await kubectl(info, ['create', 'namespace', namespace]);
  await helm(info, ['repo', 'add', 'zilliztech', info.chartRepoUrl, '--force-update']);
  await helm(info, ['install', DEMO.release, 'zilliztech/milvus', '-n', namespace, '--version', '4.1.24', '--wait', '--timeout', '120s']);
}

/** Starts bot and worker in this process (HTTP mode), its Web API pointed at the stub. */
export async function startDemoApp(info: ClusterInfo, stub: SlackStub, keyPrefix: string): Promise<DemoApp> {
  const dir = mkdtempSync(join(tmpdir(), 'mub-demo-'));
  const access = join(dir, 'access.yaml');
  writeFileSync(access, `rules:\n  - requesters: ["${DEMO.alice}"]\n    approvers: ["${DEMO.bob}"]\n    channels: ["${DEMO.channel}"]\n`);
  const env = {
    ...process.env,
    ...info.helmEnv,
    ROLES: 'bot,worker',
    KUBECONFIG: info.kubeconfig,
    KEY_PREFIX: keyPrefix,
    MILVUS_CHART_REPO_URL: info.chartRepoUrl,
    SLACK_BOT_TOKEN: 'xoxb-demo',
    SLACK_SIGNING_SECRET: DEMO.signingSecret,
    SLACK_API_URL: stub.url,
    ACCESS_CONFIG: access,
    PORT: '0',
    POLL_INTERVAL_MS: '250',
    // The health gate watches the pods this long after each hop: short, so the story moves on.
    HEALTH_SETTLE_SECONDS: process.env.HEALTH_SETTLE_SECONDS ?? '3',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  };
  const running = await start(loadConfig(env), { helmEnv: info.helmEnv as Record<string, string>, slackRetries: 3, slackUpdateIntervalMs: 250 });
  return {
    running,
    url: `http://127.0.0.1:${running.botPort}/slack/events`,
    close: async () => {
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type Buttons = Array<{ action_id: string; value: string }>;
/** The buttons of a message's blocks. */
export const buttonsOf = (blocks: unknown): Buttons =>
  ((blocks ?? []) as Array<{ type: string; elements?: Buttons }>).filter((b) => b.type === 'actions').flatMap((b) => b.elements ?? []);
/** Buttons of a message as the stub holds it. */
export const buttons = (m: { blocks?: unknown[] } | undefined): Buttons => buttonsOf(m?.blocks);
/** The buttons that act (approve, reject, roll back): not "Show all changes", which stays. */
export const actionButtons = (m: { blocks?: unknown[] } | undefined): Buttons => buttons(m).filter((b) => b.action_id !== 'show_changes');
/** Everything a person reads in a message (text and blocks), for matching. */
export const textOf = (m: { text?: string; blocks?: unknown[] } | undefined): string => JSON.stringify(m?.blocks ?? []) + (m?.text ?? '');

/** One line per Slack call, as a person would read the channel. */
export function transcriptLine(c: RecordedCall): string | null {
  const a = c.args as Record<string, unknown>;
  const text = String(a.text ?? '').replace(/\s+/g, ' ').slice(0, 220);
  switch (c.method) {
    case 'chat.postMessage':
      return a.thread_ts ? `  ↳ bot (thread): ${text}` : `#ops bot: ${text}${buttonsOf(a.blocks).length ? `  [${buttonsOf(a.blocks).map((b) => b.action_id).join('] [')}]` : ''}`;
    case 'chat.update':
      return `  ✎ bot edits ${a.ts}: ${text}${buttonsOf(a.blocks).length ? `  [${buttonsOf(a.blocks).map((b) => b.action_id).join('] [')}]` : ''}`;
    case 'chat.postEphemeral':
      return `  (only <@${a.user}> sees) ${text}`;
    case 'response_url':
      return `  (only the asker sees) ${text}`;
    default:
      return null;
  }
}

async function waitFor(stub: SlackStub, what: string, predicate: () => boolean, timeoutMs = 180_000): Promise<void> {
  await stub.waitFor(predicate, timeoutMs).catch(() => {
    throw new Error(`demo: timed out waiting for ${what}`);
  });
}

/** Plays the story; `say` receives the human side of the conversation. Returns the request ids. */
export async function playStory(stub: SlackStub, app: DemoApp, say: (line: string) => void, namespace: string = DEMO.namespace, onStage?: (stage: 'card' | 'running' | 'succeeded' | 'rolled-back') => Promise<void>): Promise<{ upgrade: string; rollback: string }> {
  const messageText = (ts: string) => {
    const m = stub.messages(DEMO.channel).find((x) => x.ts === ts);
    return `${m?.text ?? ''} ${JSON.stringify(m?.blocks ?? [])}`;
  };
  say(`#ops <@${DEMO.alice}>: /milvus upgrade ${DEMO.release} 2.4.23 -n ${namespace}`);
  const slash = await postSigned(app.url, slashCommandBody({ text: `upgrade ${DEMO.release} 2.4.23 -n ${namespace}`, user_id: DEMO.alice, user_name: 'alice', channel_id: DEMO.channel, response_url: stub.responseUrl() }), { signingSecret: DEMO.signingSecret });
  if (slash.status !== 200) throw new Error(`demo: the slash command got HTTP ${slash.status}`);
  await waitFor(stub, 'the plan card', () => stub.messages(DEMO.channel).some((m) => buttonsOf(m.blocks).some((b) => b.action_id === 'approve')));
  const card = stub.messages(DEMO.channel).find((m) => buttonsOf(m.blocks).some((b) => b.action_id === 'approve'))!;
  const id = buttonsOf(card.blocks).find((b) => b.action_id === 'approve')!.value;
  await waitFor(stub, 'the progress message', () => stub.thread(DEMO.channel, card.ts).length >= 2);
  const progressTs = stub.thread(DEMO.channel, card.ts)[1]!.ts;
  await onStage?.('card');

  say(`#ops <@${DEMO.bob}> clicks [Approve] on ${id}`);
  await postSigned(app.url, blockActionsBody(blockActionPayload({ action_id: 'approve', value: id, user_id: DEMO.bob, user_name: 'bob', channel_id: DEMO.channel, message_ts: card.ts, response_url: stub.responseUrl() })), { signingSecret: DEMO.signingSecret });
  await waitFor(stub, 'the upgrade to start', () => /Upgrade: step/.test(messageText(progressTs)));
  await onStage?.('running');
  await waitFor(stub, 'the upgrade to finish', () => /Upgrade (succeeded|failed)/.test(messageText(progressTs)));
  if (!/Upgrade succeeded/.test(messageText(progressTs))) throw new Error(`demo: the upgrade did not succeed: ${messageText(progressTs)}`);
  await onStage?.('succeeded');

  say(`#ops <@${DEMO.alice}> clicks [Roll back] and confirms`);
  await postSigned(app.url, blockActionsBody(blockActionPayload({ action_id: 'rollback', value: id, user_id: DEMO.alice, user_name: 'alice', channel_id: DEMO.channel, message_ts: progressTs, thread_ts: card.ts, response_url: stub.responseUrl() })), { signingSecret: DEMO.signingSecret });
  // A rollback needs a second person too (ROLLBACK_APPROVALS): its card appears in the thread.
  const rollbackCard = () => stub.thread(DEMO.channel, card.ts).find((m) => m.ts !== card.ts && buttonsOf(m.blocks).some((b) => b.action_id === 'approve'));
  await waitFor(stub, 'the rollback card', () => rollbackCard() !== undefined);
  const rollbackRequest = buttonsOf(rollbackCard()!.blocks).find((b) => b.action_id === 'approve')!.value;
  say(`#ops <@${DEMO.bob}> clicks [Approve] on ${rollbackRequest}`);
  await postSigned(app.url, blockActionsBody(blockActionPayload({ action_id: 'approve', value: rollbackRequest, user_id: DEMO.bob, user_name: 'bob', channel_id: DEMO.channel, message_ts: rollbackCard()!.ts, thread_ts: card.ts, response_url: stub.responseUrl() })), { signingSecret: DEMO.signingSecret });
  await waitFor(stub, 'the rollback to finish', () => stub.thread(DEMO.channel, card.ts).some((m) => /Rollback (succeeded|failed)/.test(`${m.text} ${JSON.stringify(m.blocks)}`)));
  const rollback = stub.thread(DEMO.channel, card.ts).find((m) => /Rollback/.test(m.text ?? ''));
  if (!/Rollback succeeded/.test(`${rollback?.text}`)) throw new Error(`demo: the rollback did not succeed: ${rollback?.text}`);
  await onStage?.('rolled-back');
  return { upgrade: id, rollback: rollbackRequest };
}
