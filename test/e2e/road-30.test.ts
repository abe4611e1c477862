/**
 * The road to 3.0 and the backups bound to it (issue 27), on the control plane with real helm,
 * the fixture charts 5.0.19 and 5.0.22, the fake Milvus following each release's pods and the fake
 * milvus-backup (its REST protocol) backing up what the fake Milvus holds:
 *   - Slack, 2.6.15 -> 3.0.3: through 2.6.20 on chart 5.0.22, a verified backup before the 3.0
 *     hop, the image-only hop keeps the chart, the data gate passes, no Roll back but the restore
 *     offer; the whole release compared before and after;
 *   - a backup that fails, or lacks a collection, stops before the hop changes anything;
 *   - refusals (CLI): an indexnode, Woodpecker as a service, no backup service without the override.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buttons, textOf } from '../harness/demo-story.js';
import { startFakeMilvus, type FakeMilvus } from '../harness/fake-milvus.js';
import { startFakeMilvusBackup } from '../harness/fake-milvus-backup.js';
import { followRelease, type Following } from '../harness/fake-milvus/follow.js';
import { versionOf } from '../harness/fake-milvus/model.js';
import { deriveState } from '../../src/upgrade/requests.js';
import { CHANNEL, USERS, startBotEnv, type BotEnv } from './bot-env.js';
import { cli, cluster, helmStatus, helmT, imagesByComponent, installRelease, newNamespace } from './helpers.js';
import { diffSnapshots, snapshotRelease, type SnapshotDiff } from './release-snapshot.js';
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveChartRepo } from '../harness/chart-repo.js';

type FakeBackup = Awaited<ReturnType<typeof startFakeMilvusBackup>>;
const snap = (ns: string, release: string) => snapshotRelease(cluster().kubeconfig, ns, release);
/** What may differ after an upgrade: Milvus's Deployments and images; no StatefulSet, PVC or claim of its dependencies. */
const dataDiffs = (d: readonly SnapshotDiff[]) => d.filter((x) => x.kind !== 'Deployment' && x.field !== 'image').map((x) => x.text);

describe('the road to 3.0, with a backup before the hop that cannot be undone', () => {
  let bot: BotEnv;
  let milvus: FakeMilvus;
  let backup: FakeBackup;
  let following: Following | null = null;
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-road30');
    milvus = await startFakeMilvus({ collections: [] });
    backup = await startFakeMilvusBackup({
      collections: () => milvus.model.collections.map((c) => ({ name: c.name, rowCount: c.rowCount })),
      milvusVersion: () => versionOf(milvus.model),
    });
    bot = await startBotEnv({ env: { MILVUS_DATA_CHECKS: 'required', MILVUS_ADDRESS: milvus.address, DATA_TIMEOUT_SECONDS: '20', BACKUP_URL: backup.url } });
  });
  afterAll(async () => {
    following?.stop();
    await bot?.close();
    await backup?.close();
    await milvus?.close();
    await ns?.cleanup();
  });

  async function releaseWithData(release: string, chart: string, version: string, set: Record<string, string> = {}): Promise<void> {
    await installRelease(ns.name, release, chart, set);
    following?.stop();
    milvus.model.collections = [
      { name: 'books', loadState: 'Loaded', rowCount: 1000 },
      { name: 'archive', loadState: 'NotLoad', rowCount: 20 },
    ];
    following = await followRelease(milvus, { kubeconfig: cluster().kubeconfig, namespace: ns.name, release });
    await expect.poll(async () => (await following!.refresh()).serverVersion, { timeout: 60_000 }).toBe(`v${version}`);
  }

  async function cardFor(release: string) {
    const isCard = (m: Parameters<typeof buttons>[0]) => buttons(m).some((b) => b.action_id === 'approve') && textOf(m).includes(release);
    await bot.stub.waitFor(() => bot.stub.messages(CHANNEL).some(isCard), 120_000);
    return bot.stub.messages(CHANNEL).filter(isCard).pop()!;
  }

  async function approveAndWait(card: Awaited<ReturnType<typeof cardFor>>) {
    const id = buttons(card).find((b) => b.action_id === 'approve')!.value;
    await bot.click('approve', id, USERS.approver, card.ts);
    await expect.poll(async () => deriveState(await bot.store.require(id), Date.now()), { timeout: 400_000, interval: 500 }).toMatch(/succeeded|failed/);
    const r = await bot.store.require(id);
    const progressOf = () => bot.stub.messages(CHANNEL).find((m) => m.ts === r.place?.progressTs);
    await bot.stub.waitFor(() => /Upgrade (succeeded|failed)/.test(textOf(progressOf())), 30_000);
    const progress = progressOf()!;
    return { r, progress, text: textOf(progress) };
  }

  it('Slack, 2.6.15 -> 3.0.3: through 2.6.20 on chart 5.0.22, a verified backup, the image-only hop on the same chart, the data gate, and the restore offer instead of Roll back', async () => {
    await releaseWithData('road', '5.0.19', '2.6.15');
    const before = await snap(ns.name, 'road');
    await bot.slash(`upgrade road 3.0.3 -n ${ns.name}`, USERS.requester);
    const card = await cardFor('road');
    const cardText = textOf(card);
    expect(cardText).toMatch(/\*Route\* 2\.6\.15 → 2\.6\.20 → 3\.0\.3/);
    expect(cardText).toMatch(/\*Backup\*\\nbackup: hop 2 \(2\.6\.20 -&gt; 3\.0\.3\): mub_road_2_6_20_to_3_0_3_\d{8}T\d{6} at http:\/\/127\.0\.0\.1:\d+, before the step into 3\.0 \(no image rollback\), required; checked against 2 collection\(s\)/);
    expect(cardText).toMatch(/way back: hop 2 .*restore backup mub_road_\S+ into a NEW release road-restored at Milvus 2\.6\.20 \(chart 5\.0\.22\)/);
    const { r, progress, text } = await approveAndWait(card);
    expect(r.phase, r.error ?? '').toBe('succeeded');

    // The backup: asked once, under the plan's name, and it holds both collections.
    const name = r.plan.hops![1]!.backup!.name;
    expect(r.plan.steps[r.plan.hops![1]!.firstStep]).toMatchObject({ kind: 'backup', name });
    expect(backup.requests.filter((q) => q.method === 'POST' && q.path.endsWith('/create')).map((q) => (q.body as { backup_name: string }).backup_name)).toEqual([name]);
    expect([...backup.backups.get(name)!.collections].map((c) => c.name).sort()).toEqual(['archive', 'books']);
    expect(text).toMatch(new RegExp(`:floppy_disk: Backup ${name}: 2 collection\\(s\\), [\\d.]+ KB.*from Milvus v2\\.6\\.20; all 2 collection\\(s\\) of the snapshot in it`));

    // The image-only hop: chart 5.0.22 kept, every Milvus component on v3.0.3.
    expect(await helmStatus(ns.name, 'road')).toMatchObject({ revision: 3, status: 'deployed', chart: 'milvus-5.0.22' });
    const images = await imagesByComponent(ns.name, 'road');
    expect(Object.keys(images).sort()).toEqual(['datanode', 'mixcoord', 'proxy', 'querynode', 'streamingnode']);
    expect(new Set(Object.values(images))).toEqual(new Set(['milvusdb/milvus:v3.0.3']));
    expect(text).toMatch(/Data gate passed 2 of 2 time\(s\): Milvus v3\.0\.3 healthy/);

    // No Roll back button: the restore offer and the guide's words instead.
    expect(buttons(progress).map((b) => b.action_id)).not.toContain('rollback');
    expect(text).toMatch(/No Roll back: from 3\.0 there is no image rollback.*the way back: restore backup mub_road_\S+ into a NEW release road-restored at Milvus 2\.6\.20/);
    expect(text).toMatch(/before enabling any 3\.0 feature/);

    // The whole release: every StatefulSet and PVC the same object; the rendered config the same.
    const after = await snap(ns.name, 'road');
    expect(dataDiffs(diffSnapshots(before, after))).toEqual([]);
    expect(after.pvcs.map((p) => `${p.name}:${p.uid}`)).toEqual(before.pvcs.map((p) => `${p.name}:${p.uid}`));
  });

  it('a backup that fails, or lacks a collection, stops the hop before it changes anything', async () => {
    await releaseWithData('nobackup', '5.0.22', '2.6.20');
    const before = await snap(ns.name, 'nobackup');
    const revision = (await helmStatus(ns.name, 'nobackup')).revision;
    backup.knobs.failNextCreate = 'object storage unreachable';
    await bot.slash(`upgrade nobackup 3.0.3 -n ${ns.name}`, USERS.requester);
    const failed = await approveAndWait(await cardFor('nobackup'));
    expect(failed.r.phase).toBe('failed');
    expect(failed.r.error).toMatch(/backup mub_nobackup_2_6_20_to_3_0_3_\S+ ended failed: object storage unreachable/);
    expect(failed.text).toMatch(/Upgrade failed at step 1 of \d+/);

    backup.knobs.dropCollection = 'books';
    await bot.slash(`upgrade nobackup 3.0.3 -n ${ns.name}`, USERS.requester);
    const short = await approveAndWait(await cardFor('nobackup'));
    backup.knobs.dropCollection = null;
    expect(short.r.phase).toBe('failed');
    expect(short.r.error).toMatch(/backup mub_nobackup_\S+ has no collection books/);

    // Nothing of the release moved: same helm revision, same objects, same images.
    expect((await helmStatus(ns.name, 'nobackup')).revision).toBe(revision);
    expect(diffSnapshots(before, await snap(ns.name, 'nobackup')).map((d) => d.text)).toEqual([]);
  });

  it('refusals before any change: an indexnode, Woodpecker as a service, no backup service without --without-backup', async () => {
    await installRelease(ns.name, 'withindex', '5.0.22', { 'indexNode.enabled': 'true' });
    const indexnode = await cli(['plan', 'withindex', '3.0.3', '-n', ns.name, '--backup-url', backup.url]);
    expect(indexnode.code).toBe(2);
    expect(indexnode.stderr).toMatch(/cannot take the image-only upgrade to 3\.0\.3: it runs an IndexNode[\s\S]*--set indexNode\.enabled=false/);

    await installRelease(ns.name, 'wpservice', '5.0.22', { 'streaming.woodpecker.embedded': 'false', 'woodpecker.enabled': 'true' });
    const service = await cli(['plan', 'wpservice', '3.0.3', '-n', ns.name, '--backup-url', backup.url]);
    expect(service.code).toBe(2);
    expect(service.stderr).toMatch(/runs Woodpecker as a service[\s\S]*zilliztech\/woodpecker#216/);

    await installRelease(ns.name, 'unbacked', '5.0.22');
    const revision = (await helmStatus(ns.name, 'unbacked')).revision;
    const plan = await cli(['plan', 'unbacked', '3.0.3', '-n', ns.name, '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    const json = JSON.parse(plan.stdout) as { backupMissing: { required: boolean }; hops: Array<{ backup: unknown; rollback: unknown; noRollback: string; restore: unknown }> };
    expect(json.backupMissing).toMatchObject({ required: true });
    expect(json.hops).toEqual([expect.objectContaining({ backup: null, rollback: null, restore: null, noRollback: expect.stringMatching(/no image rollback/) })]);
    const refused = await cli(['upgrade', 'unbacked', '3.0.3', '-n', ns.name, '--yes', '--no-record']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/unbacked cannot be upgraded without a backup: no milvus-backup service is configured[\s\S]*--without-backup/);
    expect((await helmStatus(ns.name, 'unbacked')).revision).toBe(revision);
    // Where its data is, for a milvus-backup server of the bot chart: read from its rendered config.
    const item = await cli(['backup-server', 'unbacked', '-n', ns.name]);
    expect(item.code, item.stderr).toBe(0);
    expect(JSON.parse(item.stdout)).toEqual({
      backupServers: [{ release: 'unbacked', namespace: ns.name, etcd: { endpoints: expect.stringMatching(/unbacked-etcd/), rootPath: 'by-dev' }, minio: { address: 'unbacked-minio', port: 9000, useSSL: false, bucketName: 'milvus-bucket', rootPath: 'file' } }],
    });
    const allowed = await cli(['plan', 'unbacked', '3.0.3', '-n', ns.name, '--without-backup']);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stdout).toMatch(/backup: NONE, run without one as allowed by cli:/);
  });

  it('a repository with no chart 5.0.22 or later: the road to 3.0 is refused, naming the validated baseline and the newest 2.6 chart it has', async () => {
    // The fixture repository without 5.0.22, indexed by the real helm and served on loopback.
    const dir = await mkdtemp(join(tmpdir(), 'repo-no-5022-'));
    const source = join(cluster().stateDir, 'charts');
    for (const f of await readdir(source)) if (f.endsWith('.tgz') && f !== 'milvus-5.0.22.tgz') await copyFile(join(source, f), join(dir, f));
    await helmT(['repo', 'index', dir]);
    const repo = await serveChartRepo(dir);
    // helm's repository list is shared by the test runs: a name of its own, removed after.
    const repoName = `nobaseline-${Date.now().toString(36)}`;
    try {
      await installRelease(ns.name, 'nobase', '5.0.19');
      const refused = await cli(['plan', 'nobase', '3.0.3', '-n', ns.name, '--repo-name', repoName, '--repo-url', repo.url, '--backup-url', backup.url]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/the repository has no chart 5\.0\.22 or later for the road to 3\.0[\s\S]*validated from Milvus 2\.6\.20 on chart 5\.0\.22[\s\S]*the newest 2\.6 chart here is 5\.0\.19 \(Milvus 2\.6\.15\)/);
    } finally {
      await helmT(['repo', 'remove', repoName]).catch(() => {});
      await repo.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
