/**
 * Issue 24, honest rollback, on the control plane with real helm and the real Bolt app: a 2.1.4
 * release (chart 3.2.18) is routed to 2.4.5 (the metadata migration to 2.2.13, then helm to chart
 * 4.1.36) under one approval, then the Roll back button undoes both hops, the last first. helm's
 * revision 1 records the 2.1.4 images; the rollback must never start one before the migration's
 * own rollback has put the 2.1 metadata back. A pod watch over the namespace (the migration's
 * pods included) is the witness, not the bot's log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buttons } from '../harness/demo-story.js';
import { CHANNEL, USERS, startBotEnv, type BotEnv } from './bot-env.js';
import { until } from './engine.js';
import { cluster, imagesByComponent, installRelease, newNamespace } from './helpers.js';
import { diffSnapshots, snapshotRelease } from './release-snapshot.js';
import { pausedDeployments, watchPods } from './rollout-watch.js';

const ROLLBACK_POD = 'milvus-meta-migration-rollback-old';

describe('Slack: the route 2.1.4 -> 2.2.13 -> 2.4.5 and its rollback', () => {
  let bot: BotEnv;
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-route-back');
    await installRelease(ns.name, 'old', '3.2.18');
    bot = await startBotEnv({ env: { SESSION_WAIT_SECONDS: '1', HEALTH_SETTLE_SECONDS: '1' } });
  });
  afterAll(async () => {
    await bot?.close();
    await ns?.cleanup();
  });

  it('undoes the helm hop while every Deployment is paused and set back to 2.2.13, then restores the metadata before any 2.1.4 pod starts', async () => {
    const before = await snapshotRelease(cluster().kubeconfig, ns.name, 'old');
    await bot.slash(`upgrade old 2.4.5 -n ${ns.name}`);
    await bot.stub.waitFor(() => bot.stub.messages(CHANNEL).some((m) => buttons(m).some((b) => b.action_id === 'approve')), 90_000);
    const card = bot.stub.messages(CHANNEL).find((m) => buttons(m).some((b) => b.action_id === 'approve'))!;
    const upgradeId = buttons(card).find((b) => b.action_id === 'approve')!.value;
    const progressTs = await until('the progress message', 10_000, async () => (await bot.store.require(upgradeId)).place?.progressTs);
    await bot.click('approve', upgradeId, USERS.approver, card.ts);
    const upgraded = await until('the route to finish', 600_000, async () => {
      const r = await bot.store.require(upgradeId);
      return r.finishedAt ? r : null;
    });
    expect(upgraded.phase, upgraded.error ?? '').toBe('succeeded');
    expect(upgraded.plan.hops!.map((h) => `${h.from}->${h.to} ${h.path}`)).toEqual(['2.1.4->2.2.13 migrate', '2.2.13->2.4.5 helm']);
    expect(new Set(Object.values(await imagesByComponent(ns.name, 'old')))).toEqual(new Set(['milvusdb/milvus:v2.4.5']));

    const pods = await watchPods(ns.name, null);
    let done: Awaited<ReturnType<BotEnv["store"]["require"]>>;
    try {
      const rollbackCards = () => bot.stub.thread(CHANNEL, card.ts).filter((m) => m.ts !== card.ts && buttons(m).some((b) => b.action_id === 'approve'));
      await bot.click('rollback', upgradeId, USERS.approver, progressTs, card.ts);
      await bot.stub.waitFor(() => rollbackCards().length > 0, 30_000);
      const rollbackCard = rollbackCards().at(-1)!;
      const rollbackId = buttons(rollbackCard).find((b) => b.action_id === 'approve')!.value;
      const asked = await bot.store.require(rollbackId);
      expect([asked.plan.from, asked.plan.to]).toEqual(['2.4.5', '2.1.4']);
      expect(asked.plan.steps.map((s) => s.kind)).toContain('restore-deployments');
      await bot.click('approve', rollbackId, USERS.requester, rollbackCard.ts, card.ts);
      done = await until('the rollback to finish', 600_000, async () => {
        const r = await bot.store.require(rollbackId);
        return r.finishedAt ? r : null;
      });
    } finally {
      pods.stop();
    }
    expect(done.phase, done.error ?? '').toBe('rolled-back');
    expect(new Set(Object.values(await imagesByComponent(ns.name, 'old')))).toEqual(new Set(['milvusdb/milvus:v2.1.4']));
    expect(await pausedDeployments(ns.name)).toEqual([]);

    // The witness: the first 2.1.4 pod comes after the metadata rollback pod succeeded, and no
    // 2.1.4 pod exists while any 2.2.13 or 2.4.5 pod of Milvus still runs.
    const restored = pods.events.findIndex((e) => e.name === ROLLBACK_POD && e.phase === 'Succeeded');
    const first21 = pods.events.findIndex((e) => e.type === 'ADDED' && e.tag === 'v2.1.4');
    expect(restored, JSON.stringify(pods.events.filter((e) => e.name.startsWith('milvus-meta')))).toBeGreaterThan(0);
    expect(first21).toBeGreaterThan(restored);
    // helm's rollback to revision 1 (which records 2.1.4) started no pod of its own: the
    // Deployments were paused and set back to 2.2.13 first.
    const tagsBetween = new Set(pods.events.slice(0, restored).filter((e) => e.type === 'ADDED' && e.component !== '?').map((e) => e.tag));
    expect([...tagsBetween].filter((t) => t.startsWith('v2.1'))).toEqual([]);
    expect(tagsBetween.has('v2.2.13')).toBe(true);

    // Every StatefulSet and PVC of the release is the same object as before the route.
    const after = await snapshotRelease(cluster().kubeconfig, ns.name, 'old');
    const data = diffSnapshots(before, after).filter((d) => d.kind === 'StatefulSet' || d.kind === 'PersistentVolumeClaim');
    expect(data.map((d) => d.text)).toEqual([]);
  });
});
