/**
 * --allow-data-changes over real Slack requests (issue 25: nothing tested it): only an approver
 * may give it; it is audited; the card says who allowed what. The plan that needs it: a 4.0.31
 * release on Pulsar v2 asked onto chart 4.2.25, which cannot render Pulsar v2 (it would delete
 * the five Pulsar StatefulSets).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buttons, textOf } from '../harness/demo-story.js';
import { CHANNEL, USERS, startBotEnv, type BotEnv } from './bot-env.js';
import { installRelease, newNamespace } from './helpers.js';

describe('Slack: --allow-data-changes', () => {
  let bot: BotEnv;
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-allow');
    await installRelease(ns.name, 'my-release', '4.0.31');
    bot = await startBotEnv({ roles: 'bot,planner' });
  });
  afterAll(async () => {
    await bot?.close();
    await ns.cleanup();
  });

  it('without it the data guard refuses; a requester who is not an approver may not give it; an approver may, audited and shown on the card', async () => {
    const command = `upgrade my-release 2.4.17 -n ${ns.name} --chart 4.2.25`;
    // 1. The data guard: refused, nothing recorded.
    await bot.slash(command, USERS.requester);
    await bot.stub.waitFor(() => bot.stub.ephemerals(CHANNEL).some((e) => e.user === USERS.requester && /would change what holds the release's data[\s\S]*pulsar-bookie would be deleted[\s\S]*--allow-data-changes/.test(e.text)), 60_000);
    expect(await bot.store.history('milvus-test', ns.name, 'my-release')).toEqual([]);

    // 2. A requester who is no approver: refused before any plan, and the decision is audited.
    await bot.slash(`${command} --allow-data-changes`, USERS.groupMember);
    await bot.stub.waitFor(() => bot.stub.ephemerals(CHANNEL).some((e) => e.user === USERS.groupMember && /Not allowed: you may not approve /.test(e.text)), 30_000);
    expect(await bot.store.history('milvus-test', ns.name, 'my-release')).toEqual([]);
    expect((await bot.store.accessLog()).some((a) => a.actor.id === USERS.groupMember && a.action === 'approve' && !a.allowed)).toBe(true);

    // 3. An approver: a card that says who allowed which change, and the audit trail has it.
    const posts = bot.stub.callsTo('chat.postMessage').length;
    await bot.slash(`${command} --allow-data-changes`, USERS.requester);
    await bot.stub.waitFor(() => bot.stub.callsTo('chat.postMessage').length >= posts + 1, 60_000);
    const card = bot.stub.messages(CHANNEL).filter((m) => buttons(m).some((b) => b.action_id === 'approve')).pop()!;
    expect(textOf(card)).toMatch(/changes to what holds data were allowed by/);
    expect(textOf(card)).toMatch(/pulsar-bookie/);
    const id = buttons(card).find((b) => b.action_id === 'approve')!.value;
    const request = await bot.store.require(id);
    expect(request.plan.dataChanges?.allowedBy).toBe(USERS.requester);
    const log = await bot.store.log(id);
    expect(log.some((e) => e.type === 'audit' && e.action === 'allow-data-changes' && e.actor.id === USERS.requester && /pulsar/.test(e.detail ?? ''))).toBe(true);
  });
});
