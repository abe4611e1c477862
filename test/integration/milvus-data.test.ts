/**
 * The product's Milvus reader (the official SDK) against the fake Milvus, which serves the SDK's
 * own protocol definitions over real gRPC (test/harness/fake-milvus.ts): no mock on either side.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SdkMilvusDataReader } from '../../src/cluster/milvus-data.js';
import { dataSummary } from '../../src/upgrade/data-snapshot.js';
import { UpgradeError } from '../../src/upgrade/errors.js';
import { startFakeMilvus, type FakeMilvus } from '../harness/fake-milvus.js';

describe('reading Milvus with the official SDK', () => {
  let milvus: FakeMilvus | null = null;
  afterEach(async () => {
    await milvus?.close();
    milvus = null;
  });

  it('a snapshot: version, health, every collection with its load state and row count', async () => {
    milvus = await startFakeMilvus({
      version: 'v2.4.23',
      collections: [
        { name: 'books', loadState: 'Loaded', rowCount: 1200 },
        { name: 'drafts', loadState: 'NotLoad', rowCount: 7 },
        { name: 'images', loadState: 'Loading', rowCount: 0, loadingProgress: 42 },
      ],
    });
    const s = await new SdkMilvusDataReader().snapshot({ address: milvus.address });
    expect(s).toEqual({
      serverVersion: 'v2.4.23',
      healthy: true,
      reasons: [],
      collections: [
        { name: 'books', loadState: 'loaded', rowCount: 1200, indexes: ['vector'] },
        { name: 'drafts', loadState: 'not-loaded', rowCount: 7, indexes: ['vector'] },
        // While it loads, how far (GetLoadingProgress): the data gate shows it in the thread.
        { name: 'images', loadState: 'loading', rowCount: 0, indexes: ['vector'], loadingProgress: 42 },
      ],
    });
    expect(dataSummary(s)).toBe('v2.4.23, healthy, 3 collection(s) (1 loaded, 1,207 rows)');
    expect(milvus.calls.map((c) => c.method)).toEqual(expect.arrayContaining(['GetVersion', 'CheckHealth', 'ShowCollections', 'GetLoadState', 'GetCollectionStatistics']));
  });

  it('call groups that follow each other share one SDK client (each client costs the SDK\'s set-up); a new one after a pause', async () => {
    milvus = await startFakeMilvus({ collections: [{ name: 'books', loadState: 'Loaded', rowCount: 10 }] });
    const reader = new SdkMilvusDataReader();
    const endpoint = { address: milvus.address };
    await reader.snapshot(endpoint);
    await reader.snapshot(endpoint);
    await Promise.all([reader.snapshot(endpoint), reader.snapshot(endpoint)]);
    expect(milvus.calls.filter((c) => c.method === 'Connect')).toHaveLength(1);
    // Other credentials are another client: never a session signed in as someone else.
    await reader.snapshot({ ...endpoint, credentials: { username: 'root', password: 'other' } });
    expect(milvus.calls.filter((c) => c.method === 'Connect')).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 1500));
    await reader.snapshot(endpoint);
    expect(milvus.calls.filter((c) => c.method === 'Connect')).toHaveLength(3);
  });

  it('an unhealthy Milvus says why; the snapshot carries it', async () => {
    milvus = await startFakeMilvus({ healthy: false, reasons: ['querynode 12 is not serving'] });
    const s = await new SdkMilvusDataReader().snapshot({ address: milvus.address });
    expect(s.healthy).toBe(false);
    expect(dataSummary(s)).toContain('unhealthy (querynode 12 is not serving)');
  });

  it('credentials reach Milvus as its authorization header, and never appear in an error', async () => {
    milvus = await startFakeMilvus();
    await new SdkMilvusDataReader().snapshot({ address: milvus.address, credentials: { username: 'root', password: 's3cret-pw' } });
    const auth = milvus.calls.find((c) => c.method === 'ShowCollections')?.authorization;
    expect(auth).toBe(Buffer.from('root:s3cret-pw').toString('base64'));
    const address = milvus.address;
    await milvus.close();
    milvus = null;
    const err = await new SdkMilvusDataReader().snapshot({ address, credentials: { username: 'root', password: 's3cret-pw' } }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(UpgradeError);
    expect((err as UpgradeError).message).toContain(`Milvus at ${address} cannot be read`);
    expect(JSON.stringify({ m: (err as UpgradeError).message, d: (err as UpgradeError).details })).not.toContain('s3cret');
  }, 60_000);
});
