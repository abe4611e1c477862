/**
 * The data gate through Slack (issue 26), on the control plane with real helm and the fake Milvus
 * following each release's pods over real gRPC, read by the product's own SDK client:
 *   - the headline upgrade with healthy data: the card shows the collections, the summary the
 *     gate passed and the longest gaps; credentials from a Secret, never printed;
 *   - a collection stuck loading after the upgrade while every pod is Ready: the hop fails naming
 *     it, and the rollback is offered;
 *   - Milvus unreachable: refused without the override; with it (an approver's), card and audit say so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buttons, textOf } from '../harness/demo-story.js';
import { kubectl } from '../harness/control-plane.js';
import { startFakeMilvus, type FakeMilvus } from '../harness/fake-milvus.js';
import { followRelease, knobConfigMapName, type Following } from '../harness/fake-milvus/follow.js';
import { KNOB_ANNOTATIONS } from '../harness/fake-milvus/release-rules.js';
import { deriveState } from '../../src/upgrade/requests.js';
import { CHANNEL, USERS, startBotEnv, type BotEnv } from './bot-env.js';
import { cli, cluster, installRelease, newNamespace } from './helpers.js';
import { closedPort } from '../integration/nowhere-bot.js';
import { diffSnapshots, snapshotRelease, type SnapshotDiff } from './release-snapshot.js';

const snap = (ns: string, release: string) => snapshotRelease(cluster().kubeconfig, ns, release);
/** What may differ after an upgrade: Milvus's Deployments and images; no StatefulSet, PVC or claim of its dependencies. */
const dataDiffs = (d: readonly SnapshotDiff[]) => d.filter((x) => x.kind !== 'Deployment' && x.field !== 'image').map((x) => x.text);

const PASSWORD = 's3cret-e2e-milvus-pw';

describe('Slack: the data gate', () => {
  let bot: BotEnv;
  let milvus: FakeMilvus;
  let following: Following | null = null;
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-datagate');
    milvus = await startFakeMilvus({ collections: [] });
    bot = await startBotEnv({
      env: { MILVUS_DATA_CHECKS: 'required', MILVUS_ADDRESS: milvus.address, MILVUS_CREDENTIALS_SECRET: '{release}-milvus-auth', DATA_TIMEOUT_SECONDS: '12' },
    });
  });
  afterAll(async () => {
    following?.stop();
    await bot?.close();
    await milvus?.close();
    await ns?.cleanup();
  });

  const k = (args: string[]) => kubectl(cluster(), [...args, '-n', ns.name]);

  /** A release at 2.3.11 that the fake Milvus stands for, with a books collection loaded and one not. */
  async function releaseWithData(release: string): Promise<void> {
    await installRelease(ns.name, release, '4.1.24');
    await k(['create', 'secret', 'generic', `${release}-milvus-auth`, '--from-literal=username=root', `--from-literal=password=${PASSWORD}`]);
    following?.stop();
    milvus.model.collections = [
      { name: 'books', loadState: 'Loaded', rowCount: 1000 },
      { name: 'archive', loadState: 'NotLoad', rowCount: 20 },
    ];
    following = await followRelease(milvus, { kubeconfig: cluster().kubeconfig, namespace: ns.name, release });
    await expect.poll(async () => (await following!.refresh()).serverVersion, { timeout: 30_000 }).toBe('v2.3.11');
  }

  async function cardFor(release: string) {
    await bot.stub.waitFor(() => bot.stub.messages(CHANNEL).some((m) => buttons(m).some((b) => b.action_id === 'approve') && textOf(m).includes(release)), 90_000);
    return bot.stub.messages(CHANNEL).filter((m) => buttons(m).some((b) => b.action_id === 'approve') && textOf(m).includes(release)).pop()!;
  }

  async function approveAndWait(release: string, card: Awaited<ReturnType<typeof cardFor>>) {
    const id = buttons(card).find((b) => b.action_id === 'approve')!.value;
    await bot.click('approve', id, USERS.approver, card.ts);
    await expect.poll(async () => deriveState(await bot.store.require(id), Date.now()), { timeout: 240_000, interval: 500 }).toMatch(/succeeded|failed/);
    const r = await bot.store.require(id);
    // The thread follows the record a moment later (the bot's updater): wait for the summary.
    const progressOf = () => bot.stub.messages(CHANNEL).find((m) => m.ts === r.place?.progressTs);
    await bot.stub.waitFor(() => /Upgrade (succeeded|failed)/.test(textOf(progressOf())) && (r.phase !== 'failed' || /Roll back/.test(textOf(progressOf()))), 30_000);
    const progress = progressOf()!;
    return { id, r, progress, text: textOf(progress) };
  }

  it('the headline upgrade with healthy data: the card shows the collections, the summary the gate and the gaps; the password is never shown', async () => {
    await releaseWithData('healthy');
    const before = await snap(ns.name, 'healthy');
    await bot.slash(`upgrade healthy 2.4.23 -n ${ns.name}`, USERS.requester);
    const card = await cardFor('healthy');
    expect(textOf(card)).toMatch(/\*Data\* .*v2\.3\.11, healthy, 2 collection\(s\) \(1 loaded, 1,020 rows\)/);
    expect(textOf(card)).toMatch(/books: loaded, 1,000 rows/);
    expect(textOf(card)).toMatch(/check healthy's data in Milvus/);
    const { r, text } = await approveAndWait('healthy', card);
    expect(r.phase, r.error ?? '').toBe('succeeded');
    // The whole release: every StatefulSet and PVC the same object; only Milvus's Deployments moved.
    const after = await snap(ns.name, 'healthy');
    expect(dataDiffs(diffSnapshots(before, after))).toEqual([]);
    expect(after.pvcs.map((p) => `${p.name}:${p.uid}`)).toEqual(before.pvcs.map((p) => `${p.name}:${p.uid}`));
    expect(text).toMatch(/Data gate passed 1 of 1 time\(s\): Milvus v2\.4\.23 healthy, 1 loaded collection\(s\) loaded again, no row count lower, 1 canary answered/);
    expect(text).toMatch(/collection books during the run: longest query gap \d+\.\d s \(\d+ of \d+ failed/);
    expect(r.availability && 'query' in r.availability ? r.availability.query.samples : 0).toBeGreaterThan(3);
    // The credentials reached Milvus (the SDK's basic auth), and nothing else.
    expect(milvus.calls.some((c) => c.authorization === Buffer.from(`root:${PASSWORD}`).toString('base64'))).toBe(true);
    const everything = JSON.stringify([bot.stub.calls, r, await bot.store.log(r.id)]);
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain(Buffer.from(`root:${PASSWORD}`).toString('base64'));
  });

  it('a collection stuck loading after the upgrade, every pod Ready: the hop fails naming it, and the rollback is offered', async () => {
    await releaseWithData('stuck');
    await k(['create', 'configmap', knobConfigMapName('stuck')]);
    await k(['annotate', 'configmap', knobConfigMapName('stuck'), `${KNOB_ANNOTATIONS.stuckLoadingFrom}=2.4.23`]);
    const before = await snap(ns.name, 'stuck');
    await bot.slash(`upgrade stuck 2.4.23 -n ${ns.name}`, USERS.requester);
    const { r, progress, text } = await approveAndWait('stuck', await cardFor('stuck'));
    // A failed gate changes nothing that holds data: it only reads.
    expect(dataDiffs(diffSnapshots(before, await snap(ns.name, 'stuck')))).toEqual([]);
    expect(r.phase).toBe('failed');
    expect(r.error).toMatch(/the data gate failed after 12s: collection books: still loading at 0% \(it was loaded before\)/);
    expect(text).toMatch(/Upgrade failed at step \d+ of \d+/);
    expect(buttons(progress).map((b) => b.action_id)).toContain('rollback');
    // Kubernetes saw nothing wrong: every pod of the release is Ready on the new image.
    const pods = JSON.parse(await k(['get', 'pods', '-l', 'app.kubernetes.io/instance=stuck', '-o', 'json'])) as { items: Array<{ status: { conditions?: Array<{ type: string; status: string }> } }> };
    expect(pods.items.length).toBeGreaterThan(0);
    expect(pods.items.every((p) => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))).toBe(true);
  });

  it('Milvus unreachable: refused without the override; an approver\'s --without-data-checks is on the card and in the audit', async () => {
    await installRelease(ns.name, 'blind', '4.1.24');
    await k(['create', 'secret', 'generic', 'blind-milvus-auth', '--from-literal=username=root', `--from-literal=password=${PASSWORD}`]);
    following?.stop();
    following = null;
    const down = await closedPort();
    const env = await startBotEnv({ env: { MILVUS_DATA_CHECKS: 'required', MILVUS_ADDRESS: `127.0.0.1:${down}`, MILVUS_CREDENTIALS_SECRET: '{release}-milvus-auth' } });
    try {
      await env.slash(`upgrade blind 2.4.23 -n ${ns.name}`, USERS.requester);
      await env.stub.waitFor(() => env.stub.ephemerals(CHANNEL).some((e) => e.user === USERS.requester && /blind's data cannot be checked: Milvus at 127\.0\.0\.1:\d+ cannot be read[\s\S]*--without-data-checks/.test(e.text)), 90_000);
      expect(await env.store.history('milvus-test', ns.name, 'blind')).toEqual([]);
      // Only an approver may give the override.
      await env.slash(`upgrade blind 2.4.23 -n ${ns.name} --without-data-checks`, USERS.groupMember);
      await env.stub.waitFor(() => env.stub.ephemerals(CHANNEL).some((e) => e.user === USERS.groupMember && /Not allowed: you may not approve /.test(e.text)), 30_000);
      await env.slash(`upgrade blind 2.4.23 -n ${ns.name} --without-data-checks`, USERS.requester);
      await env.stub.waitFor(() => env.stub.messages(CHANNEL).some((m) => buttons(m).some((b) => b.action_id === 'approve')), 90_000);
      const card = env.stub.messages(CHANNEL).find((m) => buttons(m).some((b) => b.action_id === 'approve'))!;
      expect(textOf(card)).toMatch(/Data not checked\*: Milvus at 127\.0\.0\.1:\d+ cannot be read.*run without data checks, allowed by U0REQ00001/);
      const id = buttons(card).find((b) => b.action_id === 'approve')!.value;
      const r = await env.store.require(id);
      expect(r.plan.steps.some((s) => s.kind === 'check-data')).toBe(false);
      const log = await env.store.log(id);
      expect(log.some((e) => e.type === 'audit' && e.action === 'without-data-checks' && e.actor.id === USERS.requester && /allowed by U0REQ00001: Milvus at 127\.0\.0\.1/.test(e.detail ?? ''))).toBe(true);
    } finally {
      await env.close();
    }
  });

  it('the CLI: a Secret\'s credentials reach Milvus and never its output, debug logs included', async () => {
    await releaseWithData('cli');
    const r = await cli(['plan', 'cli', '2.4.23', '-n', ns.name, '--milvus-address', milvus.address, '--milvus-credentials-secret', '{release}-milvus-auth', '--json'], { MILVUS_DATA_CHECKS: 'required', LOG_LEVEL: 'debug' });
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { data: { snapshot: { collections: Array<{ name: string }> }; canaries: Array<{ collection: string }> }; steps: Array<{ kind: string }> };
    expect(plan.data.snapshot.collections.map((c) => c.name)).toEqual(['books', 'archive']);
    expect(plan.data.canaries.map((c) => c.collection)).toEqual(['books']);
    expect(plan.steps.at(-1)?.kind).toBe('check-data');
    expect(`${r.stdout}${r.stderr}`).not.toContain(PASSWORD);
    // A Secret that is not there: the plan says so (the data not checked), it does not fail.
    const noSecret = await cli(['plan', 'cli', '2.4.23', '-n', ns.name, '--milvus-address', milvus.address, '--milvus-credentials-secret', 'nope-auth', '--json'], { MILVUS_DATA_CHECKS: 'required' });
    expect(noSecret.code, noSecret.stderr).toBe(0);
    expect((JSON.parse(noSecret.stdout) as { data: { notChecked: string } }).data.notChecked).toBe(`the Milvus credentials Secret nope-auth is not in namespace ${ns.name}`);
    // Unreachable, and no override: the upgrade is refused before anything changes (exit 2).
    const refused = await cli(['upgrade', 'cli', '2.4.23', '-n', ns.name, '--milvus-address', `127.0.0.1:${await closedPort()}`, '--yes', '--no-record'], { MILVUS_DATA_CHECKS: 'required' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/refused: cli's data cannot be checked/);
  });
});
