/**
 * The product's milvus-backup adapter (src/cluster/milvus-backup.ts, Node's fetch) against the
 * fake milvus-backup server, which speaks the real server's REST protocol over real HTTP
 * (test/harness/fake-milvus-backup.ts), and, for a restore, two fake Milvus read with the SDK.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpBackupService } from '../../src/cluster/milvus-backup.js';
import { SdkMilvusDataReader } from '../../src/cluster/milvus-data.js';
import { backupProblems, isFinished, type BackupInfo, type RestoreInfo } from '../../src/upgrade/backup.js';
import { UpgradeError } from '../../src/upgrade/errors.js';
import { startFakeMilvusBackup, type FakeMilvusBackup, type FakeMilvusBackupOptions } from '../harness/fake-milvus-backup.js';
import { startFakeMilvus, type FakeMilvus } from '../harness/fake-milvus.js';

const service = new HttpBackupService();
let fake: FakeMilvusBackup | null = null;
const others: Array<{ close(): Promise<void> }> = [];

afterEach(async () => {
  await fake?.close();
  fake = null;
  for (const o of others.splice(0)) await o.close();
});

async function start(options: FakeMilvusBackupOptions = {}): Promise<FakeMilvusBackup> {
  fake = await startFakeMilvusBackup(options);
  return fake;
}

/** Reads until `done`, keeping every answer (the test checks the way, not only the end). */
async function until<T>(read: () => Promise<T>, done: (t: T) => boolean, seen: T[] = []): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    seen.push(value);
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`not done in 10 s: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const finished = (b: BackupInfo | RestoreInfo | null) => b !== null && isFinished(b.state);

async function rejection(p: Promise<unknown>): Promise<UpgradeError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(UpgradeError);
  return err as UpgradeError;
}

describe('milvus-backup over its REST API', () => {
  it('a backup: created async, read while it runs, then every collection with its bytes', async () => {
    const b = await start({ collections: () => [{ name: 'books', rowCount: 1200 }, { name: 'drafts', rowCount: 0 }], milvusVersion: () => 'v2.4.23', knobs: { stepMs: 40 } });
    await service.create(b.url, 'mub_prod_2_4_23_to_2_5_4_20261207T2104');
    expect(b.requests[0]).toMatchObject({ method: 'POST', path: '/api/v1/create', body: { backup_name: 'mub_prod_2_4_23_to_2_5_4_20261207T2104', async: true } });
    const seen: Array<BackupInfo | null> = [];
    const info = await until(() => service.get(b.url, 'mub_prod_2_4_23_to_2_5_4_20261207T2104'), finished, seen);
    expect(seen.map((s) => s?.state)).toContain('executing');
    const progress = seen.map((s) => s?.progress ?? -1);
    expect(progress).toEqual([...progress].sort((x, y) => x - y));
    expect(info).toMatchObject({
      name: 'mub_prod_2_4_23_to_2_5_4_20261207T2104',
      id: b.tasks.get('mub_prod_2_4_23_to_2_5_4_20261207T2104')?.id,
      state: 'success',
      progress: 100,
      errorMessage: '',
      sizeBytes: 1200 * 16 + 1024,
      milvusVersion: 'v2.4.23',
      collections: [
        { name: 'books', db: 'default', sizeBytes: 1200 * 16 + 1024 },
        { name: 'drafts', db: 'default', sizeBytes: 0 },
      ],
    });
    expect(info?.id).toMatch(/^[0-9a-f-]{36}$/);
    // Unix seconds; a running task's end is Go's zero time on the wire, 0 here.
    expect(info!.startTime).toBeGreaterThan(1_700_000_000);
    expect(info!.endTime).toBeGreaterThanOrEqual(info!.startTime);
    expect(seen.find((s) => s?.state === 'executing')?.endTime).toBe(0);
    expect(backupProblems(info!, [{ name: 'books', rows: 1200 }, { name: 'drafts', rows: 0 }])).toEqual([]);
  });

  it('a backup the server has no task for is null (code 0 and an empty data, as the server says it)', async () => {
    const b = await start();
    expect(await service.get(b.url, 'mub_never_taken')).toBeNull();
    expect(b.requests.at(-1)).toMatchObject({ method: 'GET', path: '/api/v1/get_backup', query: { backup_name: 'mub_never_taken' } });
    const raw = await fetch(`${b.url}/api/v1/get_backup?backup_name=mub_never_taken`).then((r) => r.text());
    expect(raw).toBe('{"msg":"success","data":{"state_code":0,"progress":0,"size":0,"meta_size":0}}');
    expect(await service.getRestore(b.url, 'restore_2026_01_01_00_00_00_1')).toBeNull();
  });

  it('a task that fails ends failed with the server\'s message; a collection missing from the backup is a problem', async () => {
    const b = await start({ collections: () => [{ name: 'books', rowCount: 10 }, { name: 'images', rowCount: 3 }] });
    b.knobs.failNextCreate = 'backup: run collection task: copy binlog: the specified key does not exist';
    await service.create(b.url, 'mub_fails');
    const failed = await until(() => service.get(b.url, 'mub_fails'), finished);
    expect(failed).toMatchObject({ state: 'failed', progress: 0, errorMessage: 'backup: run collection task: copy binlog: the specified key does not exist', collections: [] });
    expect(failed!.endTime).toBeGreaterThan(0);
    expect(backupProblems(failed!, [{ name: 'books', rows: 10 }])[0]).toBe('backup mub_fails ended failed: backup: run collection task: copy binlog: the specified key does not exist');

    // A failed name may be taken again (the task manager allows it); this time one collection is left out.
    b.knobs.dropCollection = 'images';
    await service.create(b.url, 'mub_fails');
    const partial = await until(() => service.get(b.url, 'mub_fails'), finished);
    expect(partial?.state).toBe('success');
    expect(partial?.collections.map((c) => c.name)).toEqual(['books']);
    expect(backupProblems(partial!, [{ name: 'books', rows: 10 }, { name: 'images', rows: 3 }])).toEqual(['backup mub_fails has no collection images']);
  });

  it('refusals name the server, the call, the server\'s words and code: a duplicate name, an invalid one, a server that fails', async () => {
    const b = await start({ knobs: { stepMs: 200 } });
    await service.create(b.url, 'mub_twice');
    const id = b.tasks.get('mub_twice')?.id;
    const dup = await rejection(service.create(b.url, 'mub_twice'));
    expect(dup.message).toBe(`milvus-backup at ${b.url} refused POST /api/v1/create: backup: add backup task to manager: mub_twice (existing task ${id}) (code 3)`);
    expect(dup.code).toBe('step-failed');

    const bad = await rejection(service.create(b.url, 'has-dash'));
    expect(bad.message).toBe(`milvus-backup at ${b.url} refused POST /api/v1/create: backup name should only contain numbers, letters and underscores (code 400)`);
    const empty = await rejection(service.create(b.url, ''));
    expect(empty.code).toBe('bad-input');
    expect(b.requests.filter((r) => r.path === '/api/v1/create')).toHaveLength(3);

    b.knobs.refuse = 'server: init backup storage client: dial tcp 10.0.0.7:9000: connect: connection refused';
    const read = await rejection(service.get(b.url, 'mub_twice'));
    expect(read.message).toBe(`milvus-backup at ${b.url} refused GET /api/v1/get_backup: server: init backup storage client: dial tcp 10.0.0.7:9000: connect: connection refused (code 3)`);
    // A read the server fails is waited for again; a write it fails stands.
    expect(read.code).toBe('transient');
    expect((await rejection(service.restore(b.url, { backupName: 'mub_twice' }))).code).toBe('step-failed');
  });

  it('a server that is down, closes the connection, answers 503 or is not there is an UpgradeError naming it', async () => {
    const b = await start();
    b.knobs.down = 'close';
    const closed = await rejection(service.get(b.url, 'x'));
    expect(closed.message).toMatch(new RegExp(`^milvus-backup at ${b.url} did not answer GET /api/v1/get_backup: `));
    expect(closed.code).toBe('transient');
    b.knobs.down = 503;
    const unavailable = await rejection(service.getRestore(b.url, 'r1'));
    expect(unavailable.message).toBe(`milvus-backup at ${b.url} answered GET /api/v1/get_restore with HTTP 503: service unavailable`);
    expect(unavailable.code).toBe('transient');
    const url = b.url;
    await b.close();
    fake = null;
    const gone = await rejection(service.create(url, 'mub_x'));
    expect(gone.message).toMatch(new RegExp(`^milvus-backup at ${url} did not answer POST /api/v1/create: connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+$`));
  });

  it('a server slower than the adapter\'s timeout: an UpgradeError in the timeout, not a wait; a cancel is a cancel', async () => {
    const b = await start({ knobs: { delayMs: 3000 } });
    const quick = new HttpBackupService({ timeoutMs: 200 });
    const t0 = Date.now();
    const slow = await rejection(quick.get(b.url, 'mub_slow'));
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(slow.message).toBe(`milvus-backup at ${b.url} did not answer GET /api/v1/get_backup: no answer within 0.2 s`);
    expect(slow.code).toBe('transient');
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(), 50);
    expect((await rejection(service.get(b.url, 'mub_slow', cancel.signal))).code).toBe('cancelled');
  });

  it('a url with /api/v1/ and credentials: the same calls, credentials as a header and never in a message', async () => {
    const b = await start();
    const withApi = `http://backup:s3cret@${b.url.slice('http://'.length)}/api/v1/`;
    expect(await service.get(withApi, 'mub_a')).toBeNull();
    expect(b.requests.at(-1)).toMatchObject({ path: '/api/v1/get_backup', authorization: `Basic ${Buffer.from('backup:s3cret').toString('base64')}` });
    expect(await service.get(`${b.url}/`, 'mub_a')).toBeNull();
    expect(b.requests.at(-1)?.path).toBe('/api/v1/get_backup');
    b.knobs.refuse = 'no';
    const err = await rejection(service.get(withApi, 'mub_a'));
    expect(err.message).toContain(`milvus-backup at ${b.url} refused`);
    expect(JSON.stringify([err.message, err.details])).not.toContain('s3cret');
    const count = b.requests.length;
    for (const bad of ['ftp://x:21', 'not a url', `${b.url}?x=1`]) expect((await rejection(service.get(bad, 'mub_a'))).code).toBe('bad-input');
    expect((await rejection(service.get('ftp://u:pw@x', 'mub_a'))).message).not.toContain('pw');
    expect(b.requests.length).toBe(count);
  });
});

describe('a restore through milvus-backup, from one fake Milvus into another', () => {
  let source: FakeMilvus;
  let target: FakeMilvus;

  it('restores every collection with the suffix; the target has them with their rows', async () => {
    source = await startFakeMilvus({ collections: [{ name: 'books', loadState: 'Loaded', rowCount: 1200 }, { name: 'drafts', loadState: 'NotLoad', rowCount: 7 }] });
    target = await startFakeMilvus({ collections: [{ name: 'books', loadState: 'Loaded', rowCount: 5 }] });
    others.push(source, target);
    const b = await start({
      collections: () => source.model.collections.map((c) => ({ name: c.name, rowCount: c.rowCount })),
      restoreInto: (cs) => target.model.collections.push(...cs.map((c) => ({ name: c.name, rowCount: c.rowCount, loadState: 'NotLoad' as const }))),
      existsInTarget: (name) => target.model.collections.some((c) => c.name === name),
      milvusVersion: () => source.model.version,
      // Steps long enough for the reads to see the restore part-way.
      knobs: { stepMs: 40 },
    });
    await service.create(b.url, 'mub_r');
    expect((await until(() => service.get(b.url, 'mub_r'), finished))?.state).toBe('success');

    // Without a suffix, `books` is there already: the real restore fails so.
    const clash = await service.restore(b.url, { backupName: 'mub_r' });
    const failed = await until(() => service.getRestore(b.url, clash), finished);
    expect(failed).toMatchObject({ state: 'failed', errorMessage: 'restore: check collection exist restore: collection already exist, database default collection books' });

    const id = await service.restore(b.url, { backupName: 'mub_r', collectionSuffix: '_restored' });
    expect(id).toMatch(/^restore_\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}_\d+$/);
    expect(b.requests.at(-1)?.body).toEqual({ backup_name: 'mub_r', async: true, collection_suffix: '_restored' });
    const seen: Array<RestoreInfo | null> = [];
    const done = await until(() => service.getRestore(b.url, id), finished, seen);
    expect(seen.some((s) => s?.state === 'executing' && s.progress > 1 && s.progress < 100)).toBe(true);
    expect(done).toMatchObject({ id, state: 'success', progress: 100, errorMessage: '' });
    expect(done?.collections).toEqual([
      { name: 'books_restored', state: 'success', progress: 100 },
      { name: 'drafts_restored', state: 'success', progress: 100 },
    ]);
    const snapshot = await new SdkMilvusDataReader().snapshot({ address: target.address });
    expect(snapshot.collections.map((c) => [c.name, c.rowCount])).toEqual([['books', 5], ['books_restored', 1200], ['drafts_restored', 7]]);
  });

  it('only the collections asked for; a backup not in storage is the server\'s refusal', async () => {
    const restored: string[] = [];
    const b = await start({ collections: () => [{ name: 'a', rowCount: 1 }, { name: 'b', rowCount: 2 }], restoreInto: (cs) => restored.push(...cs.map((c) => c.name)) });
    await service.create(b.url, 'mub_some');
    await until(() => service.get(b.url, 'mub_some'), finished);
    const id = await service.restore(b.url, { backupName: 'mub_some', collectionNames: ['b'], collectionSuffix: '_x' });
    expect((await until(() => service.getRestore(b.url, id), finished))?.collections.map((c) => c.name)).toEqual(['b_x']);
    expect(restored).toEqual(['b_x']);
    const missing = await rejection(service.restore(b.url, { backupName: 'mub_none' }));
    expect(missing.message).toBe(`milvus-backup at ${b.url} refused POST /api/v1/restore: backup mub_none not found (code 400)`);
  });
});

describe('what the adapter tolerates, and what it does not', () => {
  /** A server answering `body` to every call. */
  async function answering(body: string): Promise<string> {
    const server: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    others.push({ close: () => new Promise<void>((r) => server.close(() => r())) });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('protojson\'s way (int64 as strings, enums by name) reads the same', async () => {
    const url = await answering(JSON.stringify({
      code: 'Success', msg: 'success',
      data: { id: 'b1', name: 'mub_p', state_code: 'BACKUP_SUCCESS', progress: 100, start_time: '1765142640', end_time: '1765142700', size: '20224', milvus_version: 'v2.6.20', collection_backups: [{ collection_name: 'books', db_name: 'default', size: '20224', collection_id: '451000000000000001' }] },
    }));
    expect(await service.get(url, 'mub_p')).toEqual({
      name: 'mub_p', id: 'b1', state: 'success', progress: 100, errorMessage: '', sizeBytes: 20224, milvusVersion: 'v2.6.20',
      startTime: 1765142640, endTime: 1765142700, collections: [{ name: 'books', db: 'default', sizeBytes: 20224 }],
    });
  });

  it('an answer that is not milvus-backup\'s (another JSON API, a page) is unreadable, not "no backup"', async () => {
    for (const body of ['{}', '{"msg":"ok","data":{"name":"x"}}', '<html>hi</html>']) {
      const url = await answering(body);
      const err = await rejection(service.get(url, 'mub_p'));
      expect(err.code).toBe('unreadable');
      expect(err.message).toContain(`milvus-backup at ${url} answered GET /api/v1/get_backup with something that is not milvus-backup's API`);
    }
    // A create has no data to check: the `data` key every answer of the real server carries (null or not) is what tells.
    expect((await rejection(service.create(await answering('{}'), 'mub_p'))).code).toBe('unreadable');
  });
});

describe('the real server\'s memory: tasks are forgotten by a restart, storage is not', () => {
  it('after a restart a stored backup reads as none, and creating it again never leaves initial (the bot must not wait on it)', async () => {
    const b = await start({ collections: () => [{ name: 'books', rowCount: 3 }] });
    await service.create(b.url, 'mub_kept');
    await until(() => service.get(b.url, 'mub_kept'), finished);
    b.restart();
    expect(await service.get(b.url, 'mub_kept')).toBeNull();
    expect(b.backups.has('mub_kept')).toBe(true);
    await service.create(b.url, 'mub_kept');
    await new Promise((r) => setTimeout(r, b.knobs.stepMs * 10));
    expect(await service.get(b.url, 'mub_kept')).toMatchObject({ state: 'initial', progress: 1 });
  });

  it('/list still names it: the bot asks the list before creating, and stops instead of waiting on a create that cannot finish', async () => {
    const b = await start({ collections: () => [{ name: 'books', rowCount: 3 }] });
    expect(await service.listNames(b.url)).toEqual([]);
    await service.create(b.url, 'mub_listed');
    await until(() => service.get(b.url, 'mub_listed'), finished);
    b.restart();
    expect(await service.get(b.url, 'mub_listed')).toBeNull();
    expect(await service.listNames(b.url)).toEqual(['mub_listed']);
  });
});
