/**
 * The fake milvus-backup on the wire, byte for byte where the real server's answer is known from
 * its source (core/server/*.go, gin's c.JSON of backuppb's Go structs): what the adapter's tests
 * stand on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeMilvusBackup, type FakeMilvusBackup } from '../harness/fake-milvus-backup.js';

let fake: FakeMilvusBackup | null = null;
afterEach(async () => {
  await fake?.close();
  fake = null;
});

async function call(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(`${fake!.url}${path}`, { method, headers, redirect: 'manual', ...(body !== undefined ? { body } : {}) });
  return { status: res.status, text: await res.text() };
}

/** Reads until the task is no longer running (a fixed wait would race a loaded machine). */
async function settled(path: string): Promise<string> {
  for (const end = Date.now() + 10_000; Date.now() < end; await new Promise((r) => setTimeout(r, 10))) {
    const text = (await call('GET', path)).text;
    if (!/"state_code":[01],/.test(text)) return text;
  }
  throw new Error(`${path} still running after 10 s`);
}

describe('the fake milvus-backup speaks the real server\'s JSON', () => {
  it('create: async answer, the refusals of an empty, invalid and duplicate name, a body gin cannot bind', async () => {
    fake = await startFakeMilvusBackup({ knobs: { stepMs: 100 } });
    const post = (body: string) => call('POST', '/api/v1/create', body, { request_id: 'r-1' });
    expect(await post('{"backup_name":"b1","async":true}')).toEqual({ status: 200, text: '{"requestId":"r-1","msg":"create backup is executing asynchronously","data":null}' });
    expect(await post('{"backup_name":"b1","async":true}')).toEqual({ status: 200, text: '{"requestId":"r-1","code":3,"msg":"backup: add backup task to manager: b1 (existing task r-1)","data":null}' });
    expect(await post('{"backup_name":"1b","async":true}')).toEqual({ status: 200, text: '{"requestId":"r-1","code":400,"msg":"backup name should start with an underscore or letter","data":null}' });
    expect(await post('{"backup_name":"a b"}')).toEqual({ status: 200, text: '{"requestId":"r-1","code":400,"msg":"backup name should not contain whitespace","data":null}' });
    expect(await post(`{"backup_name":"${'a'.repeat(129)}"}`)).toMatchObject({ text: expect.stringContaining('"code":400,"msg":"backup name length should not exceed 128"') });
    expect(await post('{"async":true}')).toEqual({ status: 500, text: '' });
    expect(await post('{"backup_name":1}')).toEqual({ status: 400, text: '{"error":"Invalid request body"}' });
    expect(await post('')).toEqual({ status: 400, text: '{"error":"Invalid request body"}' });
    expect(fake.requests.map((r) => r.body)).toContainEqual({ backup_name: 'b1', async: true });
  });

  it('get_backup: a running task (Go\'s zero end time), then storage\'s view with int64 ids beyond 2^53', async () => {
    // Steps long enough for the first read to find the task initial.
    fake = await startFakeMilvusBackup({ collections: () => [{ name: 'books', rowCount: 2 }], milvusVersion: () => 'v2.5.4', knobs: { stepMs: 300 } });
    await call('POST', '/api/v1/create', '{"backup_name":"b2","async":true}');
    const running = JSON.parse((await call('GET', '/api/v1/get_backup?backup_name=b2')).text) as { data: Record<string, unknown> };
    expect(running.data).toMatchObject({ state_code: 0, progress: 1, end_time: -62135596800, name: 'b2', size: 0, meta_size: 0 });
    fake.knobs.stepMs = 10;
    const text = await settled('/api/v1/get_backup?backup_name=b2');
    expect(text).toMatch(/"collection_id":451000000000000\d{3},/);
    const done = JSON.parse(text) as { data: Record<string, unknown> };
    expect(done.data).toMatchObject({ state_code: 2, progress: 100, name: 'b2', size: 1056, milvus_version: 'v2.5.4', format: 'binlog' });
    expect(done.data.collection_backups).toMatchObject([{ db_name: 'default', collection_name: 'books', size: 1056, has_index: true }]);
    expect(await call('GET', '/api/v1/get_backup')).toEqual({ status: 200, text: '{"code":400,"msg":"server: empty backup name and backup id, please set a backup name or id","data":null}' });
    expect(JSON.parse((await call('GET', '/api/v1/list')).text)).toEqual({ data: [{ id: expect.any(String), name: 'b2', size: 1056, milvus_version: 'v2.5.4' }] });
    // A sync create waits for its end, and answers a fresh struct (runSync drops its own answer).
    expect(await call('POST', '/api/v1/create', '{"backup_name":"b3"}')).toEqual({ status: 200, text: '{"msg":"success","data":null}' });
    expect(fake.backups.get('b3')?.collections.map((c) => c.name)).toEqual(['books']);
  });

  it('restore and get_restore: the refusals, an unknown id, and gin\'s own pages', async () => {
    fake = await startFakeMilvusBackup();
    const restore = (body: string) => call('POST', '/api/v1/restore', body);
    expect(await restore('{"backup_name":"nope"}')).toEqual({ status: 200, text: '{"code":400,"msg":"backup nope not found","data":null}' });
    expect(await restore('{}')).toEqual({ status: 200, text: '{"code":400,"msg":"backup name is required","data":null}' });
    expect((await restore('{"backup_name":"x","collection_suffix":"-r"}')).text).toBe('{"code":400,"msg":"only alphanumeric characters and underscores are allowed in collection suffix","data":null}');
    expect((await restore('[1]')).status).toBe(400);
    expect(await call('GET', '/api/v1/get_restore?id=r9')).toEqual({ status: 200, text: '{"code":3,"msg":"task not found","data":null}' });
    expect(await call('GET', '/api/v1/get_restore')).toEqual({ status: 200, text: '{"code":3,"msg":"empty restore id","data":null}' });
    expect(await call('GET', '/api/v1/nothing')).toEqual({ status: 404, text: '404 page not found' });
    expect(await call('POST', '/api/v1/get_backup')).toEqual({ status: 404, text: '404 page not found' });
    expect((await call('GET', '/api/v1/get_backup/?backup_name=a')).status).toBe(301);
    expect(await call('GET', '/api/v1/hello')).toEqual({ status: 200, text: 'Hello, This is backup service' });
  });
});
