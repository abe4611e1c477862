/**
 * A rollback asks for consent and checks the release first, on the control plane with real helm:
 * it waits for ROLLBACK_APPROVALS approvals by someone other than the asker, and refuses
 * (listing the differences) when the release is no longer what the upgrade left, both when
 * asked and again before it runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveState } from '../../src/upgrade/requests.js';
import { kubectl } from '../harness/control-plane.js';
import { buttons, textOf } from '../harness/demo-story.js';
import { CHANNEL, USERS, startBotEnv, type BotEnv } from './bot-env.js';
import { until } from './engine.js';
import { cluster, imagesByComponent, installRelease, newNamespace } from './helpers.js';

describe('Slack: rollback with consent, on the current state', () => {
  let bot: BotEnv;
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-consent');
    await installRelease(ns.name, 'consent', '4.1.24');
    bot = await startBotEnv();
  });
  afterAll(async () => {
    await bot?.close();
    await ns?.cleanup();
  });

  const setProxyImage = (tag: string) => kubectl(cluster(), ['set', 'image', 'deployment/consent-milvus-proxy', `proxy=milvusdb/milvus:${tag}`, '-n', ns.name]);
  const ephemeralTo = (user: string, pattern: RegExp) => () => bot.stub.ephemerals(CHANNEL).some((e) => e.user === user && pattern.test(e.text));

  it('needs a second person, and refuses to run over a release changed since the upgrade', async () => {
    await bot.slash(`upgrade consent 2.4.23 -n ${ns.name}`);
    await bot.stub.waitFor(() => bot.stub.messages(CHANNEL).some((m) => buttons(m).some((b) => b.action_id === 'approve')), 60_000);
    const card = bot.stub.messages(CHANNEL).find((m) => buttons(m).some((b) => b.action_id === 'approve'))!;
    const upgradeId = buttons(card).find((b) => b.action_id === 'approve')!.value;
    const progressTs = await until('the progress message', 10_000, async () => (await bot.store.require(upgradeId)).place?.progressTs);
    await bot.click('approve', upgradeId, USERS.approver, card.ts);
    const upgraded = await until('the upgrade to finish', 120_000, async () => {
      const r = await bot.store.require(upgradeId);
      return r.finishedAt ? r : null;
    });
    expect(upgraded.phase, upgraded.error ?? '').toBe('succeeded');
    // What the upgrade left is recorded: the rollback is checked against it.
    expect(upgraded.leftBehind?.images['consent-milvus-proxy']).toBe('milvusdb/milvus:v2.4.23');

    const rollbackCards = () => bot.stub.thread(CHANNEL, card.ts).filter((m) => m.ts !== card.ts && buttons(m).some((b) => b.action_id === 'approve'));
    const asked = async (): Promise<{ id: string; ts: string }> => {
      const before = rollbackCards().length;
      await bot.click('rollback', upgradeId, USERS.approver, progressTs, card.ts);
      await bot.stub.waitFor(() => rollbackCards().length > before, 20_000);
      const m = rollbackCards().at(-1)!;
      return { id: buttons(m).find((b) => b.action_id === 'approve')!.value, ts: m.ts };
    };

    // 1. Asked by the approver: nothing runs until someone else approves.
    const first = await asked();
    expect(deriveState(await bot.store.require(first.id), Date.now())).toBe('pending-approval');
    expect(textOf(rollbackCards().at(-1))).toMatch(/Milvus rollback: consent 2\.4\.23 → 2\.3\.11/);
    await bot.click('approve', first.id, USERS.approver, first.ts, card.ts);
    await bot.stub.waitFor(ephemeralTo(USERS.approver, /you asked for this rollback: someone else must approve it/));
    expect(deriveState(await bot.store.require(first.id), Date.now())).toBe('pending-approval');

    // 2. The release changes behind the bot's back, then the rollback is approved: the worker refuses.
    await setProxyImage('v2.4.22');
    await bot.click('approve', first.id, USERS.requester, first.ts, card.ts);
    const refused = await until('the rollback to be refused', 60_000, async () => {
      const r = await bot.store.require(first.id);
      return r.finishedAt ? r : null;
    });
    expect(refused.phase).toBe('failed');
    expect(refused.startedAt).toBeNull();
    expect(refused.error).toMatch(/consent changed since the plan was approved: nothing was run/);
    expect(refused.error).toMatch(/consent-milvus-proxy: milvusdb\/milvus:v2\.4\.23 -> milvusdb\/milvus:v2\.4\.22/);
    expect((await imagesByComponent(ns.name, 'consent')).proxy).toBe('milvusdb/milvus:v2.4.22');

    // 3. Asked again while the release still differs: refused at once, listing the difference.
    await bot.click('rollback', upgradeId, USERS.approver, progressTs, card.ts);
    await bot.stub.waitFor(ephemeralTo(USERS.approver, /consent changed since req-\d+ finished: nothing was rolled back[\s\S]*consent-milvus-proxy: milvusdb\/milvus:v2\.4\.23 -&gt; milvusdb\/milvus:v2\.4\.22/), 20_000);
    // No second card was posted: the only rollback card in the thread is the refused one's.
    expect(bot.stub.thread(CHANNEL, card.ts).filter((m) => /^Milvus rollback of consent/.test(m.text))).toHaveLength(1);

    // 4. Put back as the upgrade left it: asked and approved, the rollback runs.
    await setProxyImage('v2.4.23');
    await until('the proxy to be back on 2.4.23', 30_000, async () => (await imagesByComponent(ns.name, 'consent')).proxy === 'milvusdb/milvus:v2.4.23');
    const second = await asked();
    await bot.click('approve', second.id, USERS.requester, second.ts, card.ts);
    const done = await until('the rollback to finish', 120_000, async () => {
      const r = await bot.store.require(second.id);
      return r.finishedAt ? r : null;
    });
    expect(done.phase, done.error ?? '').toBe('rolled-back');
    expect(done.approvals.map((v) => v.by.id)).toEqual([USERS.requester]);
    expect(new Set(Object.values(await imagesByComponent(ns.name, 'consent')))).toEqual(new Set(['milvusdb/milvus:v2.3.11']));
    // Its own card shows who approved it.
    await bot.stub.waitFor(() => /Approved by <@U0REQ00001>/.test(textOf(bot.stub.messages(CHANNEL).find((m) => m.ts === second.ts))), 20_000);
  });
});
