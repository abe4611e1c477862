/**
 * The data gate's canary (issue 26) with the product's reader (the official SDK) against the
 * fake Milvus over real gRPC (test/harness/fake-milvus.ts): no mock on either side. What the
 * fake receives is what a real Milvus would: a refused expression or field fails the test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SdkMilvusDataReader } from '../../src/cluster/milvus-data.js';
import { UpgradeError } from '../../src/upgrade/errors.js';
import { startFakeMilvus, type FakeMilvus, type FakeMilvusModel } from '../harness/fake-milvus.js';

const reader = new SdkMilvusDataReader({ canaryTimeoutMs: 1_000 });

describe('the canary: rows picked, read back, searched with', () => {
  let milvus: FakeMilvus | null = null;
  const start = async (model: Partial<FakeMilvusModel>) => (milvus = await startFakeMilvus(model));
  afterEach(async () => {
    await milvus?.close();
    milvus = null;
  });

  it('Int64 keys: picks the first rows as decimal strings, finds them all, and a search with their vector hits 3', async () => {
    const m = await start({ collections: [{ name: 'books', loadState: 'Loaded', rowCount: 1200 }] });
    const canary = await reader.pickCanary({ address: m.address }, 'books', 5);
    expect(canary).toEqual({ collection: 'books', primaryField: 'id', ids: ['1', '2', '3', '4', '5'], primaryIsString: false, vectorField: 'vector' });
    expect(await reader.probe({ address: m.address }, canary!)).toEqual({ found: 5, searchHits: 3 });
    expect(m.calls.map((c) => c.method)).toEqual(expect.arrayContaining(['DescribeCollection', 'Query', 'Search']));
  });

  it('Int64 keys beyond a JS number survive as text both ways', async () => {
    const m = await start({ collections: [{ name: 'big', loadState: 'Loaded', rowCount: 3 }] });
    const canary = { collection: 'big', primaryField: 'id', ids: ['9007199254740993', '2'], primaryIsString: false, vectorField: 'vector' };
    // Key 9007199254740993 is no row of the fake: 2 comes back, the big one does not (nor a rounded neighbour).
    expect(await reader.probe({ address: m.address }, canary)).toEqual({ found: 1, searchHits: 3 });
  });

  it('VarChar keys, with quotes and backslashes, are quoted and escaped: every one comes back', async () => {
    const keys = ['plain', 'say "hi"', 'back\\slash', "it's", 'x"] or id != "'];
    const m = await start({ collections: [{ name: 'docs', loadState: 'Loaded', rowCount: 8, primaryType: 'VarChar', primaryField: 'doc_id', keys }] });
    const canary = await reader.pickCanary({ address: m.address }, 'docs', 5);
    expect(canary).toMatchObject({ primaryField: 'doc_id', primaryIsString: true, vectorField: 'vector' });
    // The match-all query sorts as Milvus compares strings; what matters: five real keys.
    expect(canary!.ids).toHaveLength(5);
    expect(await reader.probe({ address: m.address }, { ...canary!, ids: keys })).toEqual({ found: 5, searchHits: 3 });
  });

  it('a collection without rows has no canary (null); one without vector field is probed by key only', async () => {
    const m = await start({
      collections: [
        { name: 'empty', loadState: 'Loaded', rowCount: 0 },
        { name: 'scalars', loadState: 'Loaded', rowCount: 4, vectorField: null },
      ],
    });
    expect(await reader.pickCanary({ address: m.address }, 'empty', 3)).toBeNull();
    const canary = await reader.pickCanary({ address: m.address }, 'scalars', 3);
    expect(canary).toMatchObject({ ids: ['1', '2', '3'], vectorField: null });
    expect(await reader.probe({ address: m.address }, canary!)).toEqual({ found: 3, searchHits: null });
    expect(m.calls.some((c) => c.method === 'Search')).toBe(false);
  });

  it('keys gone since the pick are counted as not found; none found means no search', async () => {
    const m = await start({ collections: [{ name: 'books', loadState: 'Loaded', rowCount: 10 }] });
    const canary = (await reader.pickCanary({ address: m.address }, 'books', 3))!;
    m.model.collections[0]!.rowCount = 2;
    expect(await reader.probe({ address: m.address }, canary)).toEqual({ found: 2, searchHits: 2 });
    m.model.collections[0]!.rowCount = 0;
    expect(await reader.probe({ address: m.address }, canary)).toEqual({ found: 0, searchHits: null });
  });

  it('a query that hangs (DEADLINE_EXCEEDED) is rejected within the canary timeout, naming address, collection and call; never a password', async () => {
    const m = await start({ collections: [{ name: 'books', loadState: 'Loaded', rowCount: 10 }], queryError: { grpc: 'DEADLINE_EXCEEDED' } });
    const canary = { collection: 'books', primaryField: 'id', ids: ['1'], primaryIsString: false, vectorField: 'vector' };
    const began = Date.now();
    const err = await reader.probe({ address: m.address, credentials: { username: 'root', password: 'pw-secret-1' } }, canary).then(() => null, (e: unknown) => e);
    expect(Date.now() - began).toBeLessThan(5_000);
    expect(err).toBeInstanceOf(UpgradeError);
    expect((err as UpgradeError).code).toBe('transient');
    expect((err as UpgradeError).message).toMatch(new RegExp(`^Milvus at ${m.address}: Query of collection books failed: .*DEADLINE_EXCEEDED`));
    expect(JSON.stringify({ m: (err as UpgradeError).message, d: (err as UpgradeError).details })).not.toContain('pw-secret-1');
  });

  it('a search refused with a Milvus status is rejected naming the Search; a collection not loaded, the Query', async () => {
    const m = await start({ collections: [{ name: 'books', loadState: 'Loaded', rowCount: 10 }, { name: 'cold', loadState: 'NotLoad', rowCount: 10 }], searchError: { reason: 'fail to search on QueryNode 7: segment lacks', code: 65535 } });
    const canary = { collection: 'books', primaryField: 'id', ids: ['1', '2'], primaryIsString: false, vectorField: 'vector' };
    await expect(reader.probe({ address: m.address }, canary)).rejects.toThrow(`Milvus at ${m.address}: Search of collection books failed: fail to search on QueryNode 7: segment lacks`);
    await expect(reader.pickCanary({ address: m.address }, 'cold', 3)).rejects.toThrow(`Milvus at ${m.address}: Query of collection cold failed: collection not loaded[collection=cold]`);
    await expect(reader.pickCanary({ address: m.address }, 'nowhere', 3)).rejects.toThrow(/DescribeCollection of collection nowhere failed: collection not found/);
  });

  it('a Milvus that cannot be reached is rejected as transient, naming the address', async () => {
    const m = await start({ unavailable: true });
    await expect(reader.pickCanary({ address: m.address }, 'books', 3)).rejects.toMatchObject({ code: 'transient', message: expect.stringContaining(`Milvus at ${m.address}`) });
  }, 15_000);
});

describe('the snapshot names each collection\'s indexes', () => {
  it('index names from DescribeIndex; a collection without index ("index not found") gives [] and no failure', async () => {
    const m = await startFakeMilvus({
      collections: [
        { name: 'books', loadState: 'Loaded', rowCount: 12 },
        { name: 'two', loadState: 'Loaded', rowCount: 1, indexes: ['vec_hnsw', 'title_trie'] },
        { name: 'raw', loadState: 'NotLoad', rowCount: 5, indexes: [] },
      ],
    });
    try {
      const s = await new SdkMilvusDataReader().snapshot({ address: m.address });
      expect(s.collections.map((c) => [c.name, c.indexes])).toEqual([['books', ['vector']], ['two', ['vec_hnsw', 'title_trie']], ['raw', []]]);
      expect(m.calls.filter((c) => c.method === 'DescribeIndex')).toHaveLength(3);
    } finally {
      await m.close();
    }
  });
});
