import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveState } from '../../src/upgrade/requests.js';
import { REPO_ROOT } from '../harness/control-plane.js';
import type { StubMessage } from '../harness/slack-stub.js';
import { buttons, textOf } from '../harness/demo-story.js';
import { CHANNEL, USERS, startBotEnv, type BotEnv } from './bot-env.js';
import { until } from './engine.js';
import { imagesByComponent, installRelease, newNamespace } from './helpers.js';

describe('Slack: clusters, groups, channels, restarts', () => {
  let bot: BotEnv;
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-slack2');
    await installRelease(ns.name, 'my-release', '4.0.31');
    bot = await startBotEnv({ roles: 'bot,planner', secondCluster: 'second' });
  });
  afterAll(async () => {
    await bot?.close();
    await ns.cleanup();
  });

  async function cardFor(user: string, text: string): Promise<{ card: StubMessage; id: string }> {
    const before = bot.stub.callsTo('chat.postMessage').length;
    const r = await bot.slash(text, user);
    expect(r.status).toBe(200);
    await bot.stub.waitFor(() => bot.stub.callsTo('chat.postMessage').length >= before + 2);
    const card = bot.stub.messages(CHANNEL).filter((m) => buttons(m).some((b) => b.action_id === 'approve')).pop()!;
    return { card, id: buttons(card).find((b) => b.action_id === 'approve')!.value };
  }

  it('-c names the cluster (kubeconfig context): plans, cards and locks are per cluster', async () => {
    const a = await cardFor(USERS.requester, `upgrade my-release 2.4.23 -n ${ns.name} --strategy rolling`);
    expect(textOf(a.card)).toMatch(/cluster `milvus-test`/);
    // The same release name on another cluster is another lock.
    const b = await cardFor(USERS.groupMember, `upgrade my-release 2.4.23 -n ${ns.name} -c second`);
    expect(textOf(b.card)).toMatch(/cluster `second`/);
    expect((await bot.store.require(b.id)).cluster).toBe('second');
    // A second request on the first cluster is refused with a pointer to the active one.
    await bot.slash(`upgrade my-release 2.4.23 -n ${ns.name}`);
    await bot.stub.waitFor(() => bot.stub.ephemerals(CHANNEL).some((e) => e.text.includes(`already has request ${a.id}`)));
    const unknown = await bot.slash(`status my-release -n ${ns.name} -c nowhere`);
    expect(unknown.status).toBe(200);
    await bot.stub.waitFor(() => bot.stub.ephemerals(CHANNEL).some((e) => /no context "nowhere" in the kubeconfig/.test(e.text)));
    // Cancel both: the requester may cancel their own; the history records it.
    await bot.slash(`cancel my-release -n ${ns.name}`);
    await bot.slash(`cancel my-release -n ${ns.name} -c second`, USERS.groupMember);
    await until('both cancelled', 10_000, async () => {
      const states = await Promise.all([a.id, b.id].map(async (id) => deriveState(await bot.store.require(id), Date.now())));
      return states.every((s) => s === 'cancelled');
    });
    await bot.stub.waitFor(() => /Cancelled by <@U0REQ00001>/.test(textOf(bot.stub.messages(CHANNEL).find((m) => m.ts === a.card.ts))));
  });

  it('a user-group member may request; a channel outside the rule may not', async () => {
    const r = await bot.slash(`status my-release -n ${ns.name}`, USERS.groupMember, 'C0ELSEWHERE');
    expect(r.status).toBe(200);
    await bot.stub.waitFor(() => bot.stub.ephemerals('C0ELSEWHERE').some((e) => /may not be handled from this channel/.test(e.text)));
    const ok = await bot.slash(`status my-release -n ${ns.name}`, USERS.groupMember);
    expect(ok.status).toBe(200);
    await bot.stub.waitFor(() => bot.stub.ephemerals(CHANNEL).some((e) => e.user === USERS.groupMember && /runs Milvus 2\.2\.13/.test(e.text)));
  });

  it('a restarted bot keeps updating the same messages (state from Redis), and a separate worker runs the job', async () => {
    const { card, id } = await cardFor(USERS.requester, `upgrade my-release 2.4.23 -n ${ns.name} --strategy rolling`);
    const progressTs = await until('progress message', 10_000, async () => (await bot.store.require(id)).place?.progressTs);
    await bot.restart();
    const { spawnWorker } = await import('./engine.js');
    const worker = spawnWorker(bot.prefix, { COORDINATOR_MIN_READY_SECONDS: '0' });
    try {
      await bot.click('approve', id, USERS.approver, card.ts);
      await bot.stub.waitFor(() => /Upgrade succeeded/.test(textOf(bot.stub.messages(CHANNEL).find((m) => m.ts === progressTs))), 120_000);
      const updates = bot.stub.callsTo('chat.update').filter((c) => c.args.ts === progressTs);
      expect(updates.length).toBeGreaterThanOrEqual(3);
      expect(updates.some((c) => /step \d+ of 10: querynode/.test(String(c.args.text)))).toBe(true);
      // No second progress message or card was posted by the new bot.
      expect(bot.stub.thread(CHANNEL, card.ts).filter((m) => m.ts !== card.ts)).toHaveLength(1);
      expect(new Set(Object.values(await imagesByComponent(ns.name, 'my-release')))).toEqual(new Set(['milvusdb/milvus:v2.4.23']));
    } finally {
      worker.child.kill('SIGTERM');
    }
  });

  it('npm start refuses to start without its settings, naming each on one line', async () => {
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'main.ts')], { env: { PATH: process.env.PATH ?? '', PORT: 'x' }, timeout: 30_000 }, (err, _out, stderr) =>
        resolve({ code: typeof (err as { code?: unknown } | null)?.code === 'number' ? (err as { code: number }).code : 0, stderr }),
      );
    });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^config: PORT: /)]);
    const r2 = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'main.ts')], { env: { PATH: process.env.PATH ?? '' }, timeout: 30_000 }, (err, _out, stderr) =>
        resolve({ code: typeof (err as { code?: unknown } | null)?.code === 'number' ? (err as { code: number }).code : 0, stderr }),
      );
    });
    const r3 = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'main.ts')], { env: { PATH: process.env.PATH ?? '', SLACK_BOT_TOKEN: 'x', SLACK_SIGNING_SECRET: 'y', ACCESS_CONFIG: '/nonexistent/access.yaml', PORT: '0' }, timeout: 30_000 }, (err, _out, stderr) =>
        resolve({ code: typeof (err as { code?: unknown } | null)?.code === 'number' ? (err as { code: number }).code : 0, stderr }),
      );
    });
    expect(r3.code).toBe(2);
    expect(r3.stderr.trim().split('\n')).toEqual(['config: ACCESS_CONFIG: cannot read /nonexistent/access.yaml: ENOENT']);
    expect(r2.code).toBe(2);
    expect(r2.stderr.trim().split('\n')).toEqual([
      'config: SLACK_BOT_TOKEN: required for the bot role',
      'config: SLACK_SIGNING_SECRET: required in HTTP mode',
      'config: ACCESS_CONFIG: required for the bot role (path of the access YAML; deny by default)',
    ]);
  });
});
