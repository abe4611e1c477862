import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveState } from '../../src/upgrade/requests.js';
import { postSigned, slashCommandBody } from '../harness/slack-sign.js';
import { buttons, textOf } from '../harness/demo-story.js';
import { CHANNEL, SIGNING_SECRET, USERS, startBotEnv, type BotEnv } from './bot-env.js';
import { until } from './engine.js';
import { imagesByComponent, installRelease, newNamespace } from './helpers.js';

describe('Slack: /milvus upgrade -> approval -> progress -> rollback, through signed requests and a Slack API stub', () => {
  let bot: BotEnv;
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-slack');
    await installRelease(ns.name, 'my-release', '4.1.24');
    bot = await startBotEnv();
  });
  afterAll(async () => {
    await bot?.close();
    await ns.cleanup();
  });

  it('refuses wrong signatures and stale timestamps with 401, and queues nothing', async () => {
    const body = slashCommandBody({ text: `upgrade my-release 2.4.23 -n ${ns.name}`, user_id: USERS.requester, channel_id: CHANNEL });
    const wrong = await postSigned(bot.url, body, { signingSecret: 'not-the-secret' });
    const stale = await postSigned(bot.url, body, { signingSecret: SIGNING_SECRET, timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(wrong.status).toBe(401);
    expect(stale.status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(bot.stub.callsTo('chat.postMessage')).toHaveLength(0);
    expect(await bot.store.history('milvus-test', ns.name, 'my-release')).toHaveLength(0);
  });

  it('answers bad input at once with the right form, and runs nothing', async () => {
    const r = await bot.slash(`upgrade My_Release 2.4.23 -n ${ns.name}`);
    expect(r.status).toBe(200);
    expect(r.ms).toBeLessThan(3000);
    expect(JSON.parse(r.body)).toMatchObject({ response_type: 'ephemeral', text: expect.stringMatching(/not a valid Helm release name[\s\S]*usage: \/milvus upgrade <release> <version>/) });
    const unknown = await bot.slash('frobnicate my-release');
    expect(JSON.parse(unknown.body).text).toMatch(/unknown command "frobnicate"/);
    expect(bot.stub.callsTo('chat.postMessage')).toHaveLength(0);
  });

  it('denies a requester not in the access rules, with a message and an audit entry', async () => {
    const r = await bot.slash(`upgrade my-release 2.4.23 -n ${ns.name}`, USERS.stranger);
    expect(r.status).toBe(200);
    await bot.stub.waitFor(() => bot.stub.ephemerals(CHANNEL).some((e) => e.user === USERS.stranger));
    expect(bot.stub.ephemerals(CHANNEL).find((e) => e.user === USERS.stranger)!.text).toMatch(/Not allowed: you may not request/);
    expect(bot.stub.callsTo('chat.postMessage')).toHaveLength(0);
    expect(await bot.store.history('milvus-test', ns.name, 'my-release')).toHaveLength(0);
  });

  it('runs the headline story end to end', async () => {
    const slash = await bot.slash(`upgrade my-release 2.4.23 -n ${ns.name}`);
    expect(slash.status).toBe(200);
    expect(slash.ms).toBeLessThan(3000);
    await bot.stub.waitFor(() => bot.stub.messages(CHANNEL).some((m) => !m.thread_ts || m.thread_ts === m.ts) && bot.stub.callsTo('chat.postMessage').length >= 2);
    const card = bot.stub.messages(CHANNEL).find((m) => buttons(m).some((b) => b.action_id === 'approve'))!;
    expect(card).toBeDefined();
    expect(textOf(card)).toMatch(/2\.3\.11 → \*?2\.4\.23/);
    expect(textOf(card)).toMatch(/no chart carries Milvus 2\.4\.23/);
    expect(textOf(card)).toMatch(/<@U0APP00001>/);
    // The whole-release plan on the card: a summary with the queue, the full list one click away.
    expect(textOf(card)).toMatch(/\*Changes\* \d+ changed · 1 added · 4 removed · message queue: Pulsar v2, kept/);
    const requestId = buttons(card).find((b) => b.action_id === 'approve')!.value;
    expect(buttons(card).map((b) => b.action_id)).toEqual(['show_changes', 'approve', 'reject']);
    await bot.click('show_changes', requestId, USERS.requester, card.ts);
    await bot.stub.waitFor(() => bot.stub.ephemerals(CHANNEL).some((e) => e.user === USERS.requester && /All changes of/.test(e.text)));
    const progressTs = await until('the progress message to be recorded', 10_000, async () => (await bot.store.require(requestId)).place?.progressTs);

    // The requester cannot approve their own request... (self-approval is refused)
    await bot.click('approve', requestId, USERS.requester, card.ts);
    await bot.stub.waitFor(() => bot.stub.ephemerals(CHANNEL).some((e) => e.user === USERS.requester && /someone else must approve/.test(e.text)));
    // ...nor can a stranger.
    await bot.click('approve', requestId, USERS.stranger, card.ts);
    await bot.stub.waitFor(() => bot.stub.ephemerals(CHANNEL).some((e) => e.user === USERS.stranger && /Not allowed: you may not approve/.test(e.text)));
    expect(deriveState(await bot.store.require(requestId), Date.now())).toBe('pending-approval');

    // A second person approves; a double click is harmless.
    const approve = await bot.click('approve', requestId, USERS.approver, card.ts);
    expect(approve.status).toBe(200);
    await bot.click('approve', requestId, USERS.approver, card.ts);
    await bot.stub
      .waitFor(() => /Upgrade (succeeded|failed)/.test(textOf(bot.stub.messages(CHANNEL).find((m) => m.ts === progressTs))), 120_000)
      .catch(async (err: Error) => {
        const r = await bot.store.require(requestId);
        throw new Error(`${err.message}\nrequest: ${JSON.stringify({ phase: r.phase, error: r.error, approvals: r.approvals })}\nupdates: ${bot.stub.callsTo('chat.update').map((c) => String(c.args.text)).join('\n')}`);
      });
    expect(textOf(bot.stub.messages(CHANNEL).find((m) => m.ts === progressTs))).toMatch(/Upgrade succeeded/);

    const progress = bot.stub.messages(CHANNEL).find((m) => m.ts === progressTs)!;
    expect(progress.thread_ts).toBe(card.ts);
    expect(progress.updates).toBeGreaterThanOrEqual(3);
    const updates = bot.stub.callsTo('chat.update').filter((c) => c.args.ts === progressTs).map((c) => String(c.args.text));
    expect(updates.some((t) => /step 3 of \d+: helm upgrade my-release/.test(t))).toBe(true);
    const cardNow = bot.stub.messages(CHANNEL).find((m) => m.ts === card.ts)!;
    // Decided: no Approve/Reject any more; the full list of changes stays one click away.
    expect(buttons(cardNow).map((b) => b.action_id)).toEqual(['show_changes']);
    expect(textOf(cardNow)).toMatch(/Approved by <@U0APP00001>/);
    expect(new Set(Object.values(await imagesByComponent(ns.name, 'my-release')))).toEqual(new Set(['milvusdb/milvus:v2.4.23']));
    const r = await bot.store.require(requestId);
    expect(r.approvals.map((v) => v.by.id)).toEqual([USERS.approver]);

    // Rollback, clicked twice.
    const rollback = buttons(progress).find((b) => b.action_id === 'rollback');
    expect(rollback?.value).toBe(requestId);
    await bot.click('rollback', requestId, USERS.approver, progressTs, card.ts);
    await bot.click('rollback', requestId, USERS.approver, progressTs, card.ts);
    // It waits for a second person (ROLLBACK_APPROVALS=1): its own card, in the upgrade's thread.
    const rollbackCard = () => bot.stub.thread(CHANNEL, card.ts).find((m) => m.ts !== card.ts && buttons(m).some((b) => b.action_id === 'approve'));
    await bot.stub.waitFor(() => rollbackCard() !== undefined);
    const rollbackId = buttons(rollbackCard()).find((b) => b.action_id === 'approve')!.value;
    expect(deriveState(await bot.store.require(rollbackId), Date.now())).toBe('pending-approval');
    expect(new Set(Object.values(await imagesByComponent(ns.name, 'my-release')))).toEqual(new Set(['milvusdb/milvus:v2.4.23']));
    await bot.click('approve', rollbackId, USERS.requester, rollbackCard()!.ts, card.ts);
    await bot.stub.waitFor(() => bot.stub.thread(CHANNEL, card.ts).some((m) => /Rollback succeeded/.test(textOf(m))), 120_000);
    const thread = bot.stub.thread(CHANNEL, card.ts);
    expect(thread.filter((m) => /Rollback/.test(textOf(m)))).toHaveLength(1);
    expect(new Set(Object.values(await imagesByComponent(ns.name, 'my-release')))).toEqual(new Set(['milvusdb/milvus:v2.3.11']));
    const history = await bot.store.history('milvus-test', ns.name, 'my-release');
    expect(history.map((h) => [h.kind, deriveState(h, Date.now())])).toEqual([['rollback', 'rolled-back'], ['upgrade', 'rolled-back']]);
    // The original progress message no longer offers a Rollback.
    await bot.stub.waitFor(() => buttons(bot.stub.messages(CHANNEL).find((m) => m.ts === progressTs)).length === 0);

    // Health and metrics on the same port as Slack's endpoint.
    expect((await fetch(`${bot.base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${bot.base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ok: true, checks: { redis: 'ok', kubernetes: 'ok' } });
    const metrics = await (await fetch(`${bot.base}/metrics`)).text();
    expect(metrics).toMatch(/milvus_upgrade_requests_finished_total\{kind="upgrade",outcome="succeeded"\} 1/);
    expect(metrics).toMatch(/milvus_upgrade_requests_finished_total\{kind="rollback",outcome="rolled-back"\} 1/);
    expect(metrics).toMatch(/milvus_upgrade_step_duration_seconds_count\{kind="helm-upgrade",result="finished"\} 1/);
    expect(metrics).toMatch(/milvus_upgrade_queue_jobs\{state="completed"\} 2/);
  });
});
