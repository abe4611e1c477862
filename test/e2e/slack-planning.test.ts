/**
 * Plans render on workers, not in the bot: the bot (ROLES=bot, its own helm wrapper counting every
 * call) answers "planning…" at once through the response_url, a planner process renders, and the
 * answer replaces the notice. With no planner running, the bot says so within its timeout.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELM_BIN } from '../harness/control-plane.js';
import type { RecordedCall } from '../harness/slack-stub.js';
import { CHANNEL, USERS, startBotEnv, type BotEnv } from './bot-env.js';
import { spawnWorker, until } from './engine.js';
import { installRelease, newNamespace } from './helpers.js';

describe('Slack: plans rendered on a worker', () => {
  let bot: BotEnv;
  let planner: { child: ChildProcess; output: () => string } | null = null;
  let ns: { name: string; cleanup: () => Promise<void> };
  const dir = mkdtempSync(join(tmpdir(), 'mub-bot-helm-'));
  const calls = join(dir, 'calls');

  beforeAll(async () => {
    ns = await newNamespace('e2e-planning');
    await installRelease(ns.name, 'my-release', '4.1.24');
    writeFileSync(calls, '');
    const wrapper = join(dir, 'helm');
    writeFileSync(wrapper, `#!/usr/bin/env bash\necho "$1 $2" >> '${calls}'\nexec '${HELM_BIN}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    bot = await startBotEnv({ roles: 'bot', env: { HELM_BIN: wrapper, PLAN_TIMEOUT_SECONDS: '4' } });
    planner = spawnWorker(bot.prefix, { ROLES: 'planner', LOG_LEVEL: 'info' });
    await until('the planner is up', 60_000, async () => planner!.output().includes('plan worker started'));
  }, 120_000);
  afterAll(async () => {
    planner?.child.kill('SIGKILL');
    await bot?.close();
    await ns?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const answers = (since: number): RecordedCall[] => bot.stub.callsTo('response_url').slice(since);
  const helmCallsOfTheBot = () => readFileSync(calls, 'utf8').split('\n').filter(Boolean);

  it('/milvus plan: "planning…" at once, then the plan replaces it; the bot ran no helm to render it', async () => {
    const since = bot.stub.callsTo('response_url').length;
    const r = await bot.slash(`plan my-release 2.4.23 -n ${ns.name}`);
    expect(r.status).toBe(200);
    await bot.stub.waitFor(() => answers(since).length >= 2, 60_000);
    const [notice, plan] = answers(since);
    expect(String(notice!.args.text)).toMatch(/Planning the upgrade of \*my-release\* to 2\.4\.23/);
    expect(notice!.args.replace_original).toBe(false);
    expect(String(plan!.args.text)).toMatch(/This is a preview: nothing was changed/);
    expect(String(plan!.args.text)).toMatch(/2\.3\.11.*2\.4\.23/);
    expect(plan!.args.replace_original).toBe(true);
    expect(answers(since)).toHaveLength(2);
    expect(planner!.output()).toMatch(/"msg":"plan rendered"/);
    // The bot itself asks helm for its version at most (the tooling check of status reads).
    expect(helmCallsOfTheBot().filter((c) => !/^(version|repo) /.test(c))).toEqual([]);
  }, 90_000);

  it('/milvus upgrade: the notice, then the card in the channel, and the notice goes', async () => {
    const since = bot.stub.callsTo('response_url').length;
    const posts = bot.stub.callsTo('chat.postMessage').length;
    await bot.slash(`upgrade my-release 2.4.23 -n ${ns.name}`);
    await bot.stub.waitFor(() => bot.stub.callsTo('chat.postMessage').length >= posts + 2 && answers(since).length >= 2, 60_000);
    const [notice, gone] = answers(since);
    expect(String(notice!.args.text)).toMatch(/Planning the upgrade of \*my-release\* to 2\.4\.23: the card follows/);
    expect(gone!.args.delete_original).toBe(true);
    const card = bot.stub.callsTo('chat.postMessage')[posts]!;
    expect(card.args.channel).toBe(CHANNEL);
    expect(String(card.args.text)).toMatch(/my-release/);
    expect(helmCallsOfTheBot().filter((c) => !/^(version|repo) /.test(c))).toEqual([]);
    await bot.slash(`cancel my-release -n ${ns.name}`);
    await until('cancelled', 20_000, async () => (await bot.store.activeFor('milvus-test', ns.name, 'my-release')) === null);
  }, 90_000);

  it('no planner running: the notice is replaced at once by "no worker or planner is running"', async () => {
    planner!.child.kill('SIGKILL');
    await until('the planner is gone', 10_000, async () => planner!.child.exitCode !== null || planner!.child.signalCode !== null);
    const since = bot.stub.callsTo('response_url').length;
    await bot.slash(`plan my-release 2.4.23 -n ${ns.name}`, USERS.requester);
    await bot.stub.waitFor(() => answers(since).length >= 2, 30_000);
    const [notice, answer] = answers(since);
    expect(String(notice!.args.text)).toMatch(/Planning/);
    expect(answer!.args.replace_original).toBe(true);
    expect(String(answer!.args.text)).toMatch(/no worker or planner is running to render the plan of my-release to 2\.4\.23: nothing was changed/);
  }, 60_000);
});
