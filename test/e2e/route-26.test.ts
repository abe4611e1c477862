/**
 * The road to 2.6 on the control plane with real helm: a 2.4 release (chart 4.2.20, mixcoord,
 * Pulsar v2) goes 2.4.16 -> 2.5.16 (chart 4.2.58, mixcoord flags) -> 2.6.15 (chart 5.0.19) under
 * one approval, through the CLI and through Slack. The order in which Deployments got their new
 * ReplicaSets is read from a watch; every StatefulSet and PVC of the release is checked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveState } from '../../src/upgrade/requests.js';
import { buttons, textOf } from '../harness/demo-story.js';
import { CHANNEL, USERS, startBotEnv, type BotEnv } from './bot-env.js';
import { until } from './engine.js';
import { cli, cluster, helmT, imagesByComponent, installRelease, newNamespace } from './helpers.js';
import { diffSnapshots, snapshotRelease, type ReleaseSnapshot } from './release-snapshot.js';
import { orderOn as order, pausedDeployments, watchNewReplicaSets as watchReplicaSets } from './rollout-watch.js';

const FAST = ['--poll-ms', '200'];
const snap = (ns: string, release: string) => snapshotRelease(cluster().kubeconfig, ns, release);

/** Only the Milvus Deployments may differ; StatefulSets keep their replicas and PVCs their volumes. */
function expectDataUntouched(before: ReleaseSnapshot, after: ReleaseSnapshot, allowedImages: readonly string[]): void {
  const diff = diffSnapshots(before, after);
  const other = diff.filter((d) => d.kind !== 'Deployment' && !(d.field === 'image' && allowedImages.includes(d.name)));
  expect(other.map((d) => d.text)).toEqual([]);
}

async function helmHistory(namespace: string, release: string): Promise<{ revision: number; status: string; chart: string }[]> {
  return JSON.parse(await helmT(['history', release, '-n', namespace, '-o', 'json']));
}

describe('the route 2.4 -> 2.5.16 -> 2.6 from the CLI', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-route');
    await installRelease(ns.name, 'road', '4.2.20');
  });
  afterAll(async () => ns.cleanup());

  it('plans two hops with their charts, flags and rollback, runs both in order, and ends on 2.6.15 with streamingnode and no indexnode', async () => {
    const before = await snap(ns.name, 'road');
    const planned = await cli(['plan', 'road', '2.6.15', '-n', ns.name, '--json']);
    expect(planned.code, planned.stderr).toBe(0);
    const plan = JSON.parse(planned.stdout);
    expect(plan.hops.map((h: { from: string; to: string; chart: string; path: string }) => [h.from, h.to, h.chart, h.path])).toEqual([
      ['2.4.16', '2.5.16', '4.2.58', 'helm'],
      ['2.5.16', '2.6.15', '5.0.19', 'helm'],
    ]);
    expect(plan.hops[0].set).toMatchObject({ 'image.all.tag': 'v2.5.16', 'mixCoordinator.enabled': 'true', 'rootCoordinator.enabled': 'false', 'pulsar.enabled': 'true' });
    expect(plan.hops[1].set).toMatchObject({ 'image.all.tag': 'v2.6.15', 'streaming.enabled': 'true', 'indexNode.enabled': 'false' });
    expect(plan.hops[0].rollback.summary).toMatch(/revision 1/);
    expect(plan.hops[1].rollback).toBeNull();
    expect(plan.hops[1].noRollback).toMatch(/into Milvus 2\.6 there is no way back/);
    expect(plan.steps).toHaveLength(plan.hops[0].steps.length + plan.hops[1].steps.length);

    const watch = await watchReplicaSets(ns.name, 'road');
    let up;
    try {
      up = await cli(['upgrade', 'road', '2.6.15', '-n', ns.name, '--yes', ...FAST]);
    } finally {
      watch.stop();
    }
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(order(watch.seen, 'v2.5.16')).toEqual(['mixcoord', 'indexnode', 'datanode', 'querynode', 'proxy']);
    expect(order(watch.seen, 'v2.6.15')).toEqual(['streamingnode', 'mixcoord', 'querynode', 'datanode', 'proxy']);
    // Every 2.5.16 ReplicaSet came before any 2.6.15 one: the second hop started on a finished first.
    const firstOf26 = watch.seen.findIndex((s) => s.tag === 'v2.6.15');
    expect(watch.seen.slice(firstOf26).some((s) => s.tag === 'v2.5.16')).toBe(false);

    expect((await helmHistory(ns.name, 'road')).map((h) => `${h.revision} ${h.status} ${h.chart}`)).toEqual([
      '1 superseded milvus-4.2.20',
      '2 superseded milvus-4.2.58',
      '3 deployed milvus-5.0.19',
    ]);
    const images = await imagesByComponent(ns.name, 'road');
    expect(images).toEqual({
      mixcoord: 'milvusdb/milvus:v2.6.15', datanode: 'milvusdb/milvus:v2.6.15', proxy: 'milvusdb/milvus:v2.6.15',
      querynode: 'milvusdb/milvus:v2.6.15', streamingnode: 'milvusdb/milvus:v2.6.15',
    });
    const after = await snap(ns.name, 'road');
    // The charts move etcd and Pulsar v2 to newer images (shown in the plan); nothing else of the data.
    const imageChanges = diffSnapshots(before, after).filter((d) => d.kind === 'StatefulSet' && d.field === 'image').map((d) => d.name);
    for (const name of imageChanges) expect(plan.changes.some((c: { name: string }) => c.name === name), `${name} in the plan's changes`).toBe(true);
    expectDataUntouched(before, after, imageChanges);
    expect(after.pvcs.map((p) => p.uid)).toEqual(before.pvcs.map((p) => p.uid));
  });
});

describe('the route through Slack: one card, one approval', () => {
  let bot: BotEnv;
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-route-slack');
    await installRelease(ns.name, 'road', '4.2.20');
    bot = await startBotEnv();
  });
  afterAll(async () => {
    await bot?.close();
    await ns.cleanup();
  });

  it('the card shows the route and why the 2.6 hop has no rollback; one approval runs both hops; no Roll back button at the end', async () => {
    const slash = await bot.slash(`upgrade road 2.6.15 -n ${ns.name}`);
    expect(slash.status).toBe(200);
    await bot.stub.waitFor(() => bot.stub.messages(CHANNEL).some((m) => buttons(m).some((b) => b.action_id === 'approve')), 60_000);
    const card = bot.stub.messages(CHANNEL).find((m) => buttons(m).some((b) => b.action_id === 'approve'))!;
    const text = textOf(card);
    expect(text).toMatch(/\*Route\* 2\.4\.16 → 2\.5\.16 → 2\.6\.15 · one approval covers every hop/);
    expect(text).toMatch(/hop 1 \(2\.4\.16 → 2\.5\.16\): rollback: helm rollback road to revision 1/);
    expect(text).toMatch(/hop 2 \(2\.5\.16 → 2\.6\.15\): no rollback: into Milvus 2\.6 there is no way back/);
    const requestId = buttons(card).find((b) => b.action_id === 'approve')!.value;
    const progressTs = await until('the progress message', 10_000, async () => (await bot.store.require(requestId)).place?.progressTs);
    await bot.click('approve', requestId, USERS.approver, card.ts);
    await bot.stub.waitFor(() => /Upgrade (succeeded|failed)/.test(textOf(bot.stub.messages(CHANNEL).find((m) => m.ts === progressTs))), 240_000);
    const progress = bot.stub.messages(CHANNEL).find((m) => m.ts === progressTs)!;
    const r = await bot.store.require(requestId);
    expect(textOf(progress), JSON.stringify({ error: r.error })).toMatch(/Upgrade succeeded/);
    expect(deriveState(r, Date.now())).toBe('succeeded');
    expect(r.approvals).toHaveLength(1);
    expect(buttons(progress).map((b) => b.action_id)).not.toContain('rollback');
    const updates = bot.stub.callsTo('chat.update').filter((c) => c.args.ts === progressTs).map((c) => String(c.args.text));
    // The fallback text is mrkdwn, escaped as Slack wants it (`->` is sent as `-&gt;`).
    expect(updates.some((t) => /\[1\/2 2\.4\.16 -&gt; 2\.5\.16\]/.test(t))).toBe(true);
    expect(updates.some((t) => /\[2\/2 2\.5\.16 -&gt; 2\.6\.15\]/.test(t))).toBe(true);
    expect(new Set(Object.values(await imagesByComponent(ns.name, 'road')))).toEqual(new Set(['milvusdb/milvus:v2.6.15']));
  });
});

describe('a hop that does not become healthy stops the route; its rollback restores the release', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-route-sick');
    // The querynode of 2.5.16 crash-loops (only that version: the release starts healthy).
    await installRelease(ns.name, 'sick', '4.2.20', {
      'queryNode.annotations.fake-kubelet/crashloop-on': 'v2.5.16',
      'queryNode.annotations.fake-kubelet/logs': 'panic: querynode cannot load segment 42',
    });
  });
  afterAll(async () => ns.cleanup());

  it('the querynode of hop 1 crash-loops: the route stops there with its log lines, nothing is left paused, no 2.6 pod ever starts; rollback puts 2.4.16 back', async () => {
    const before = await snap(ns.name, 'sick');
    const watch = await watchReplicaSets(ns.name, 'sick');
    let up;
    try {
      up = await cli(['upgrade', 'sick', '2.6.15', '-n', ns.name, '--yes', '--rollout-timeout', '60', ...FAST]);
    } finally {
      watch.stop();
    }
    expect(up.code, up.stdout + up.stderr).not.toBe(0);
    const said = up.stdout + up.stderr;
    expect(said).toMatch(/querynode is not healthy while rolling out: pod sick-milvus-querynode-[a-z0-9-]+: container querynode is in CrashLoopBackOff/);
    expect(said).toContain('panic: querynode cannot load segment 42');
    // The route stopped in hop 1: the proxy was still resumed (nothing left paused), no 2.6 at all.
    expect(watch.seen.some((s) => s.tag === 'v2.6.15')).toBe(false);
    expect(await pausedDeployments(ns.name)).toEqual([]);
    expect((await helmHistory(ns.name, 'sick')).map((h) => h.chart)).toEqual(['milvus-4.2.20', 'milvus-4.2.58']);

    const back = await cli(['rollback', 'sick', '-n', ns.name, '--yes', '--rollout-timeout', '60', ...FAST]);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(new Set(Object.values(await imagesByComponent(ns.name, 'sick')))).toEqual(new Set(['milvusdb/milvus:v2.4.16']));
    expect((await helmHistory(ns.name, 'sick')).at(-1)).toMatchObject({ status: 'deployed', chart: 'milvus-4.2.20' });
    expect(await pausedDeployments(ns.name)).toEqual([]);
    const after = await snap(ns.name, 'sick');
    expect(diffSnapshots(before, after).map((d) => d.text)).toEqual([]);
  });

  it('a pod that restarted after the hop (ready again, so its rollout passes) fails the health gate with its logs', async () => {
    const n = await newNamespace('e2e-route-restart');
    try {
      // Every datanode pod reports one restart "just now": those of the installed release did so
      // before the upgrade began; the new ones after, which the health gate must see.
      await installRelease(n.name, 'flaky', '4.2.58', { 'dataNode.annotations.fake-kubelet/restarts': '1' });
      const up = await cli(['upgrade', 'flaky', '2.6.15', '-n', n.name, '--yes', '--rollout-timeout', '60', ...FAST]);
      expect(up.code, up.stdout + up.stderr).not.toBe(0);
      expect(up.stdout + up.stderr).toMatch(/datanode is not healthy[^:]*: pod flaky-milvus-datanode-[a-z0-9-]+: container datanode restarted \(1 restarts, the last since this hop began\)/);
      expect(up.stdout + up.stderr).toMatch(/restarted 1 times \(fake-kubelet test knob\)/);
      expect(await pausedDeployments(n.name)).toEqual([]);
    } finally {
      await n.cleanup();
    }
  });
});

describe('the longest road: 2.1.4 -> 2.6.15 (metadata migration, then two helm hops)', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-route-21');
    await installRelease(ns.name, 'old', '3.2.18');
  });
  afterAll(async () => ns.cleanup());

  it('migrates to 2.2.13 (the newest 2.2 chart of the fixture repository), then helm to 2.5.16 with mixcoord, then to 2.6.15; the data stays', async () => {
    const before = await snap(ns.name, 'old');
    const plan = JSON.parse((await cli(['plan', 'old', '2.6.15', '-n', ns.name, '--json'])).stdout);
    expect(plan.hops.map((h: { from: string; to: string; path: string }) => `${h.from}->${h.to} ${h.path}`)).toEqual(['2.1.4->2.2.13 migrate', '2.2.13->2.5.16 helm', '2.5.16->2.6.15 helm']);
    const up = await cli(['upgrade', 'old', '2.6.15', '-n', ns.name, '--yes', '--session-wait', '1', ...FAST]);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(new Set(Object.values(await imagesByComponent(ns.name, 'old')))).toEqual(new Set(['milvusdb/milvus:v2.6.15']));
    expect(Object.keys(await imagesByComponent(ns.name, 'old')).sort()).toEqual(['datanode', 'mixcoord', 'proxy', 'querynode', 'streamingnode']);
    expect(await pausedDeployments(ns.name)).toEqual([]);
    const after = await snap(ns.name, 'old');
    // The migration's backup PVC is new; every PVC of the release before is still there, the same volume.
    for (const p of before.pvcs) expect(after.pvcs.find((q) => q.name === p.name)?.uid, p.name).toBe(p.uid);
  });
});
