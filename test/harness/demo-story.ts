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
import { SlackClient } from './slack-client.js';
import type { RecordedCall, SlackStub } from './slack-stub.js';
import { startFakeMilvus, type FakeCollection } from './fake-milvus.js';
import { followRelease } from './fake-milvus/follow.js';

export const DEMO = {
  namespace: 'demo',
  release: 'my-release',
  channel: 'C0OPS00001',
  alice: 'U0ALICE001',
  bob: 'U0BOB00002',
  signingSecret: 'demo-signing-secret',
} as const;

export const DEMO_PEOPLE = [
  { id: DEMO.alice, name: 'alice' },
  { id: DEMO.bob, name: 'bob' },
] as const;

export interface DemoApp {
  readonly running: Running;
  readonly url: string;
  /** The people's side of Slack: what the story and the page's clicks go through. */
  readonly client: SlackClient;
  close(): Promise<void>;
}

/** Installs the release at 2.3.11 (chart 4.1.24) in a fresh `demo` namespace. */
export async function installDemoRelease(info: ClusterInfo, namespace: string = DEMO.namespace): Promise<void> {
  await kubectl(info, ['delete', 'namespace', namespace, '--ignore-not-found', '--wait=true'], undefined);
  await kubectl(info, ['create', 'namespace', namespace]);
  await helm(info, ['repo', 'add', 'zilliztech', info.chartRepoUrl, '--force-update']);
  await helm(info, ['install', DEMO.release, 'zilliztech/milvus', '-n', namespace, '--version', '4.1.24', '--wait', '--timeout', '120s']);
}

/** What the demo's Milvus holds: what the card's data snapshot and the data gate show. */
export const DEMO_COLLECTIONS: FakeCollection[] = [
  { name: 'books', loadState: 'Loaded', rowCount: 12_000 },
  { name: 'reviews', loadState: 'Loaded', rowCount: 3_400 },
  { name: 'archive', loadState: 'NotLoad', rowCount: 250 },
];

/**
 * Starts bot and worker in this process (HTTP mode), its Web API pointed at the stub, and attaches
 * the people's client to the stub's page (clickable when `interactive`). With `milvusIn`, a fake
 * Milvus stands for the demo release of that namespace (it follows its pods), and the bot reads it
 * for the data snapshot and the data gate; without, the bot is told not to read Milvus.
 */
export async function startDemoApp(info: ClusterInfo, stub: SlackStub, keyPrefix: string, options: { interactive?: boolean; milvusIn?: string } = {}): Promise<DemoApp> {
  const milvus = options.milvusIn ? await startFakeMilvus({ collections: DEMO_COLLECTIONS.map((c) => ({ ...c })) }) : null;
  const following = milvus ? await followRelease(milvus, { kubeconfig: info.kubeconfig, namespace: options.milvusIn!, release: DEMO.release }) : null;
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
    ...(milvus ? { MILVUS_DATA_CHECKS: 'required', MILVUS_ADDRESS: milvus.address, DATA_TIMEOUT_SECONDS: '60' } : { MILVUS_DATA_CHECKS: 'off' }),
  };
  const running = await start(loadConfig(env), { helmEnv: info.helmEnv as Record<string, string>, slackRetries: 3, slackUpdateIntervalMs: 250 });
  const url = `http://127.0.0.1:${running.botPort}/slack/events`;
  const client = new SlackClient(stub, { appUrl: url, signingSecret: DEMO.signingSecret, people: DEMO_PEOPLE, channel: DEMO.channel, channelName: 'ops', interactive: options.interactive === true });
  stub.client = client;
  return {
    running,
    url,
    client,
    close: async () => {
      if (stub.client === client) stub.client = null;
      await running.close();
      following?.stop();
      await milvus?.close();
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
  // As a person reads it: Slack shows its escapes (&lt; &gt; &amp;) as the characters.
  const text = String(a.text ?? '').replace(/\s+/g, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').slice(0, 220);
  switch (c.method) {
    case 'chat.postMessage':
      return a.thread_ts ? `  ↳ bot (thread): ${text}` : `#ops bot: ${text}${buttonsOf(a.blocks).length ? `  [${buttonsOf(a.blocks).map((b) => b.action_id).join('] [')}]` : ''}`;
    case 'chat.update':
      return `  ✎ bot edits ${a.ts}: ${text}${buttonsOf(a.blocks).length ? `  [${buttonsOf(a.blocks).map((b) => b.action_id).join('] [')}]` : ''}`;
    case 'chat.postEphemeral':
      return `  (only <@${a.user}> sees) ${text}`;
    case 'response_url':
      if (a.delete_original === true || a.delete_original === 'true') return '  (the note only the asker saw is removed)';
      return text ? `  (only the asker sees) ${text}` : null;
    default:
      return null;
  }
}

async function waitFor(stub: SlackStub, what: string, predicate: () => boolean, timeoutMs = 180_000): Promise<void> {
  await stub.waitFor(predicate, timeoutMs).catch(() => {
    throw new Error(`demo: timed out waiting for ${what}`);
  });
}

export type DemoStage = 'card' | 'running' | 'succeeded' | 'rollback-card' | 'rolled-back';

/** Plays the story; `say` receives the human side of the conversation. Returns the request ids. */
export async function playStory(stub: SlackStub, app: DemoApp, say: (line: string) => void, namespace: string = DEMO.namespace, onStage?: (stage: DemoStage) => Promise<void>): Promise<{ upgrade: string; rollback: string }> {
  const messageText = (ts: string) => {
    const m = stub.messages(DEMO.channel).find((x) => x.ts === ts);
    return `${m?.text ?? ''} ${JSON.stringify(m?.blocks ?? [])}`;
  };
  const checked = async (what: string, act: Promise<{ ok: boolean; error?: string }>) => {
    const r = await act;
    if (!r.ok) throw new Error(`demo: ${what}: ${r.error ?? 'refused'}`);
  };
  say(`#ops <@${DEMO.alice}>: /milvus upgrade ${DEMO.release} 2.4.23 -n ${namespace}`);
  await checked('the slash command', app.client.command(DEMO.alice, DEMO.channel, `/milvus upgrade ${DEMO.release} 2.4.23 -n ${namespace}`));
  await waitFor(stub, 'the plan card', () => stub.messages(DEMO.channel).some((m) => buttonsOf(m.blocks).some((b) => b.action_id === 'approve')));
  const card = stub.messages(DEMO.channel).find((m) => buttonsOf(m.blocks).some((b) => b.action_id === 'approve'))!;
  const id = buttonsOf(card.blocks).find((b) => b.action_id === 'approve')!.value;
  await waitFor(stub, 'the progress message', () => stub.thread(DEMO.channel, card.ts).length >= 2);
  const progressTs = stub.thread(DEMO.channel, card.ts)[1]!.ts;
  await onStage?.('card');

  say(`#ops <@${DEMO.bob}> clicks [Approve] on ${id}`);
  await checked('the approval', app.client.click(DEMO.bob, { channel: DEMO.channel, message_ts: card.ts, action_id: 'approve' }));
  await waitFor(stub, 'the upgrade to start', () => /Upgrade: step/.test(messageText(progressTs)));
  await onStage?.('running');
  await waitFor(stub, 'the upgrade to finish', () => /Upgrade (succeeded|failed)/.test(messageText(progressTs)));
  if (!/Upgrade succeeded/.test(messageText(progressTs))) throw new Error(`demo: the upgrade did not succeed: ${messageText(progressTs)}`);
  await onStage?.('succeeded');

  say(`#ops <@${DEMO.alice}> clicks [Roll back] and confirms`);
  await waitFor(stub, 'the Roll back button', () => buttons(stub.messages(DEMO.channel).find((m) => m.ts === progressTs)).some((b) => b.action_id === 'rollback'));
  await checked('the rollback request', app.client.click(DEMO.alice, { channel: DEMO.channel, message_ts: progressTs, action_id: 'rollback' }));
  // A rollback needs a second person too (ROLLBACK_APPROVALS): its card appears in the thread.
  const rollbackCard = () => stub.thread(DEMO.channel, card.ts).find((m) => m.ts !== card.ts && buttonsOf(m.blocks).some((b) => b.action_id === 'approve'));
  await waitFor(stub, 'the rollback card', () => rollbackCard() !== undefined);
  const rollbackRequest = buttonsOf(rollbackCard()!.blocks).find((b) => b.action_id === 'approve')!.value;
  await onStage?.('rollback-card');
  say(`#ops <@${DEMO.bob}> clicks [Approve] on ${rollbackRequest}`);
  await checked('the rollback approval', app.client.click(DEMO.bob, { channel: DEMO.channel, message_ts: rollbackCard()!.ts, action_id: 'approve' }));
  await waitFor(stub, 'the rollback to finish', () => stub.thread(DEMO.channel, card.ts).some((m) => /Rollback (succeeded|failed)/.test(`${m.text} ${JSON.stringify(m.blocks)}`)));
  const rollback = stub.thread(DEMO.channel, card.ts).find((m) => /Rollback/.test(m.text ?? ''));
  if (!/Rollback succeeded/.test(`${rollback?.text}`)) throw new Error(`demo: the rollback did not succeed: ${rollback?.text}`);
  await onStage?.('rolled-back');
  return { upgrade: id, rollback: rollbackRequest };
}

/**
 * The interactive demo's guide: the people act in the page; this only says, at each decision,
 * who may do what next, and returns once the rollback has run. Closing the stub (Ctrl-C) ends
 * the wait it is in.
 */
export async function guideStory(stub: SlackStub, say: (line: string) => void, namespace: string = DEMO.namespace): Promise<void> {
  const forever = 24 * 3600_000;
  const until = (predicate: () => boolean) => stub.waitFor(predicate, forever);
  const cardOf = (kind: 'upgrade' | 'rollback') => stub.messages(DEMO.channel).find((m) => m.blocks !== undefined && new RegExp(`Milvus ${kind}:`).test(JSON.stringify(m.blocks)));
  const threadText = (ts: string) => stub.thread(DEMO.channel, ts).map((m) => `${m.text} ${JSON.stringify(m.blocks ?? [])}`).join('\n');
  say(`As alice, type in the page:  /milvus upgrade ${DEMO.release} 2.4.23 -n ${namespace}   (or /milvus plan …, /milvus status ${DEMO.release} -n ${namespace}, /milvus help)`);
  await until(() => cardOf('upgrade') !== undefined);
  const card = cardOf('upgrade')!;
  say('The plan card is in #ops. Switch to bob ("You are") and click Approve, or Reject. alice cannot approve her own request: try it.');
  await until(() => /Upgrade (succeeded|failed|cancelled)|Rejected|Expired/.test(threadText(card.ts) + JSON.stringify(stub.messages(DEMO.channel).find((m) => m.ts === card.ts)?.blocks ?? [])));
  if (!/Upgrade succeeded/.test(threadText(card.ts))) {
    say('The upgrade did not run to success (rejected, expired or failed): see the thread. Ctrl-C ends the demo.');
    return;
  }
  say('The upgrade succeeded. As alice, click Roll back in the thread; the confirm dialog asks first.');
  await until(() => /Milvus rollback:/.test(threadText(card.ts)));
  say('A rollback needs a second person too: as bob, click Approve on the rollback card in the thread.');
  await until(() => /Rollback (succeeded|failed)/.test(threadText(card.ts)));
  say(/Rollback succeeded/.test(threadText(card.ts)) ? `Rolled back: ${DEMO.release} is on 2.3.11 again. Open Home in the page to see the release as each person sees it.` : 'The rollback failed: see the thread.');
}
