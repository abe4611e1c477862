/**
 * The way back past a step that cannot be undone (issue 27), end to end on the control plane with
 * real helm, the fixture charts, two fake Milvus (the upgraded release's and the new one's, each
 * following its release's pods) and two fake milvus-backup servers on one backup bucket (one
 * configured for each Milvus, as milvus-backup runs one per Milvus):
 *   - Slack: 2.5.16 -> 2.6.15 with a backup before it; the summary offers "Restore into
 *     src-restored" instead of Roll back; the button plans the restore, posts its own card in the
 *     thread, an approver approves, the worker installs the new release at 2.5.16 with the values
 *     of the revision that ran it, milvus-backup restores into it, the data gate finds every
 *     collection with its rows there. The upgraded release is left exactly as it was.
 *   - CLI: the same restore planned from the backup's name; a second one into a release that
 *     exists is refused before any change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buttons, textOf } from '../harness/demo-story.js';
import { startFakeMilvus, type FakeMilvus } from '../harness/fake-milvus.js';
import { startFakeMilvusBackup } from '../harness/fake-milvus-backup.js';
import { followRelease, type Following } from '../harness/fake-milvus/follow.js';
import { versionOf } from '../harness/fake-milvus/model.js';
import { deriveState } from '../../src/upgrade/requests.js';
import { CHANNEL, USERS, startBotEnv, type BotEnv } from './bot-env.js';
import { cli, cluster, helmStatus, imagesByComponent, installRelease, newNamespace } from './helpers.js';
import { diffSnapshots, snapshotRelease } from './release-snapshot.js';

type FakeBackup = Awaited<ReturnType<typeof startFakeMilvusBackup>>;
const snap = (ns: string, release: string) => snapshotRelease(cluster().kubeconfig, ns, release);

describe('restore into a new release, the way back after the step into 2.6', () => {
  let bot: BotEnv;
  let source: FakeMilvus;
  let target: FakeMilvus;
  let backups: FakeBackup;
  let restorer: FakeBackup;
  const following: Following[] = [];
  let ns: { name: string; cleanup: () => Promise<void> };

  beforeAll(async () => {
    ns = await newNamespace('e2e-restore');
    source = await startFakeMilvus({ collections: [] });
    target = await startFakeMilvus({ collections: [] });
    backups = await startFakeMilvusBackup({
      collections: () => source.model.collections.map((c) => ({ name: c.name, rowCount: c.rowCount })),
      milvusVersion: () => versionOf(source.model),
    });
    // The server for the new release: the same backup bucket, writing into the new Milvus.
    restorer = await startFakeMilvusBackup({
      storage: backups.backups,
      restoreInto: (cs) => target.model.collections.push(...cs.map((c) => ({ name: c.name, loadState: 'NotLoad' as const, rowCount: c.rowCount }))),
      existsInTarget: (name) => target.model.collections.some((c) => c.name === name),
      milvusVersion: () => versionOf(target.model),
    });
    bot = await startBotEnv({
      env: {
        MILVUS_DATA_CHECKS: 'required',
        MILVUS_ADDRESS: source.address,
        MILVUS_ADDRESS_BY_RELEASE: `${ns.name}/src-restored=${target.address},${ns.name}/cli-copy=${target.address}`,
        DATA_TIMEOUT_SECONDS: '20',
        BACKUP_URL: backups.url,
        BACKUP_URL_BY_RELEASE: `${ns.name}/src-restored=${restorer.url},${ns.name}/cli-copy=${restorer.url}`,
      },
    });
  });
  afterAll(async () => {
    for (const f of following) f.stop();
    await bot?.close();
    await restorer?.close();
    await backups?.close();
    await target?.close();
    await source?.close();
    await ns?.cleanup();
  });

  const isCard = (kind: string, release: string) => (m: Parameters<typeof buttons>[0]) => buttons(m).some((b) => b.action_id === 'approve') && textOf(m).includes(kind) && textOf(m).includes(release);

  async function approveAndWait(card: { ts: string }, id: string, done: RegExp) {
    await bot.click('approve', id, USERS.approver, card.ts);
    await expect.poll(async () => deriveState(await bot.store.require(id), Date.now()), { timeout: 400_000, interval: 500 }).toMatch(/succeeded|failed/);
    const r = await bot.store.require(id);
    const progressOf = () => bot.stub.messages(CHANNEL).find((m) => m.ts === r.place?.progressTs);
    await bot.stub.waitFor(() => done.test(textOf(progressOf())), 30_000);
    return { r, progress: progressOf()!, text: textOf(progressOf()) };
  }

  it('Slack: the upgrade into 2.6 offers the restore, whose own card, approval and run bring every collection back in a NEW release at 2.5.16', async () => {
    await installRelease(ns.name, 'src', '4.2.58');
    following.push(await followRelease(source, { kubeconfig: cluster().kubeconfig, namespace: ns.name, release: 'src' }));
    following.push(await followRelease(target, { kubeconfig: cluster().kubeconfig, namespace: ns.name, release: 'src-restored' }));
    source.model.collections = [
      { name: 'books', loadState: 'Loaded', rowCount: 1000 },
      { name: 'archive', loadState: 'NotLoad', rowCount: 20 },
    ];
    await expect.poll(async () => (await following[0]!.refresh()).serverVersion, { timeout: 60_000 }).toBe('v2.5.16');

    // The upgrade into 2.6, with the backup before it.
    await bot.slash(`upgrade src 2.6.15 -n ${ns.name}`, USERS.requester);
    await bot.stub.waitFor(() => bot.stub.messages(CHANNEL).some(isCard('Milvus upgrade', 'src')), 120_000);
    const card = bot.stub.messages(CHANNEL).filter(isCard('Milvus upgrade', 'src')).pop()!;
    const upgradeId = buttons(card).find((b) => b.action_id === 'approve')!.value;
    const upgraded = await approveAndWait(card, upgradeId, /Upgrade (succeeded|failed)/);
    expect(upgraded.r.phase, upgraded.r.error ?? '').toBe('succeeded');
    const backupName = upgraded.r.plan.backup!.name;
    expect(upgraded.text).toMatch(new RegExp(`Backup ${backupName}: 2 collection\\(s\\)`));
    expect(buttons(upgraded.progress).map((b) => b.action_id)).toEqual(['restore']);
    expect(buttons(upgraded.progress)[0]).toMatchObject({ text: { text: 'Restore into src-restored' }, value: upgradeId });
    const before = await snap(ns.name, 'src');

    // The button plans the restore: a card of its own in the upgrade's thread, waiting for a vote.
    await bot.click('restore', upgradeId, USERS.requester, upgraded.progress.ts, card.ts);
    await bot.stub.waitFor(() => bot.stub.messages(CHANNEL).some(isCard('Milvus restore', 'src-restored')), 120_000);
    const restoreCard = bot.stub.messages(CHANNEL).filter(isCard('Milvus restore', 'src-restored')).pop()!;
    const cardText = textOf(restoreCard);
    expect(cardText).toMatch(/Milvus restore: src → new release src-restored at 2\.5\.16/);
    expect(cardText).toMatch(new RegExp(`restores backup ${backupName} of src \\(2 collection\\(s\\)`));
    expect(cardText).toMatch(/helm install src-restored zilliztech\/milvus --version 4\.2\.58 with the values of src revision 1/);
    expect(restoreCard.thread_ts).toBe(card.ts);
    const restoreId = buttons(restoreCard).find((b) => b.action_id === 'approve')!.value;
    // Not the asker's own vote: a restore installs a release.
    await bot.click('approve', restoreId, USERS.requester, restoreCard.ts);
    expect(deriveState(await bot.store.require(restoreId), Date.now())).toBe('pending-approval');

    const restored = await approveAndWait(restoreCard, restoreId, /Restore (succeeded|failed)/);
    expect(restored.r.phase, restored.r.error ?? '').toBe('succeeded');
    expect(restored.text).toMatch(new RegExp(`Restore succeeded: src-restored runs Milvus 2\\.5\\.16 with backup ${backupName} restored`));
    expect(restored.text).toMatch(/Data gate passed 1 of 1 time\(s\): Milvus v2\.5\.16 healthy/);
    expect(buttons(restored.progress)).toEqual([]);

    // The new release: chart 4.2.58, every component on 2.5.16, its own volumes; the data there.
    expect(await helmStatus(ns.name, 'src-restored')).toMatchObject({ revision: 1, status: 'deployed', chart: 'milvus-4.2.58' });
    expect(new Set(Object.values(await imagesByComponent(ns.name, 'src-restored')))).toEqual(new Set(['milvusdb/milvus:v2.5.16']));
    expect(target.model.collections.map((c) => [c.name, c.rowCount])).toEqual([
      ['books', 1000],
      ['archive', 20],
    ]);
    const fresh = await snap(ns.name, 'src-restored');
    const sourceUids = new Set(before.pvcs.map((p) => p.uid));
    expect(fresh.pvcs.length).toBeGreaterThan(0);
    expect(fresh.pvcs.filter((p) => sourceUids.has(p.uid))).toEqual([]);
    const asked = restorer.requests.filter((q) => q.method === 'POST' && q.path.endsWith('/restore')).map((q) => q.body);
    expect(asked).toEqual([expect.objectContaining({ backup_name: backupName, async: true, collection_names: ['books', 'archive'], id: expect.stringMatching(/^mub_restore_src_restored_/) })]);
    expect(backups.requests.some((q) => q.path.endsWith('/restore'))).toBe(false);

    // The upgraded release: nothing of it moved (the snapshot goes by name: the new release's objects show as added).
    const diffs = diffSnapshots(before, await snap(ns.name, 'src')).map((d) => d.text);
    expect(diffs.filter((t) => !/^\S+ \S*src-restored\S*: added$/.test(t))).toEqual([]);
    expect(diffs.length).toBeGreaterThan(0);
    expect((await helmStatus(ns.name, 'src')).revision).toBe(2);
    const audit = (await bot.store.log(restoreId)).filter((e) => e.type === 'audit').map((e) => (e.type === 'audit' ? e.action : ''));
    expect(audit).toContain('restore');
  });

  it('CLI: the restore planned from the backup\'s name; into a release that exists, refused before any change', async () => {
    const name = [...backups.backups.keys()][0]!;
    const shown = await cli(['restore', 'src', '-n', ns.name, '--backup', name, '--into', 'cli-copy', '--backup-url', backups.url, '--restore-url', restorer.url, '--into-milvus-address', target.address, '--milvus-address', source.address, '--json'], { MILVUS_DATA_CHECKS: 'required' });
    expect(shown.code, shown.stderr).toBe(0);
    const plan = JSON.parse(shown.stdout) as { kind: string; release: string; restoreOf: { release: string; revision: number }; steps: Array<{ kind: string }> };
    expect(plan).toMatchObject({ kind: 'restore', release: 'cli-copy', restoreOf: { release: 'src', revision: 1 } });
    expect(plan.steps.map((s) => s.kind)).toEqual(['helm-repo-update', 'helm-install', 'check-health', 'restore-backup', 'check-data']);
    expect(shown.stderr).toMatch(/nothing was changed: add --yes to run this restore/);
    expect(await helmStatus(ns.name, 'cli-copy').catch(() => null)).toBeNull();

    const exists = await cli(['restore', 'src', '-n', ns.name, '--backup', name, '--into', 'src-restored', '--backup-url', backups.url, '--restore-url', restorer.url, '--yes', '--no-record']);
    expect(exists.code).toBe(2);
    expect(exists.stderr).toMatch(/release src-restored already exists in e2e-restore-\S+: a restore goes into a NEW release/);
    const unknown = await cli(['restore', 'src', '-n', ns.name, '--backup', 'mub_nothing', '--backup-url', backups.url]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/milvus-backup at http:\/\/127\.0\.0\.1:\d+ has no backup mub_nothing/);
  });
});
