/**
 * Milvus's view of its data, read with the official Node SDK over gRPC (issue 26): a snapshot
 * (version, health, every collection with its load state, row count and index names) and the
 * data gate's canary (milvus-canary.ts). One client per call group, closed after
 * (milvus-client.ts). Credentials go to the SDK only; errors name the address and what failed,
 * never a secret.
 */
import type { MilvusClient } from '@zilliz/milvus2-sdk-node';
import { inBatches } from '../upgrade/in-batches.js';
import type { CanaryResult, CanaryRows, CollectionLoadState, CollectionSnapshot, DataSnapshot, MilvusEndpoint } from '../upgrade/data-snapshot.js';
import type { CanarySampler, MilvusDataReader } from '../upgrade/ports.js';
import { checked, failedStatus, openMilvus, withMilvus } from './milvus-client.js';
import { pickCanaryWith, probeWith, samplerWith } from './milvus-canary.js';

export interface SdkMilvusDataReaderOptions {
  /** Each call of a snapshot: longer than this is an unreachable Milvus, not a wait. */
  readonly callTimeoutMs?: number;
  /**
   * Each call of a canary pick or probe. Short: a query that hangs after a hop (a new proxy
   * waiting on an old querynode, milvus-io/milvus#42492) is the failure the canary is there to
   * see, and the gate should say so in seconds, not wait for it.
   */
  readonly canaryTimeoutMs?: number;
}

const LOAD_STATES: Readonly<Record<string, CollectionLoadState>> = {
  LoadStateLoaded: 'loaded',
  LoadStateLoading: 'loading',
  LoadStateNotLoad: 'not-loaded',
};

/**
 * Milvus says "no index" as a failed DescribeIndex: code 700 / IndexNotExist ("index not found",
 * 2.3 on), or "index doesn't exist" (2.2). That is a collection without index, not a failure.
 */
function noIndex(r: object): boolean {
  const failed = failedStatus(r);
  return failed !== null && (failed.code === '700' || failed.code === 'IndexNotExist' || /index not found|index doesn't exist/i.test(failed.reason));
}

async function indexNames(client: MilvusClient, address: string, collection: string): Promise<string[]> {
  const r = await client.describeIndex({ collection_name: collection });
  if (noIndex(r)) return [];
  return (checked(`DescribeIndex of ${collection}`, address, r).index_descriptions ?? []).map((d) => d.index_name);
}

/** Collections a snapshot reads at once, on its one client. */
const SNAPSHOT_CONCURRENCY = 8;

/** How far a load has come (the gate shows it while it waits); null when Milvus does not say. */
async function loadingProgress(client: MilvusClient, collection: string): Promise<number | null> {
  const r = await client.getLoadingProgress({ collection_name: collection });
  const progress = Number(r.progress);
  return failedStatus(r) === null && Number.isFinite(progress) ? progress : null;
}

export class SdkMilvusDataReader implements MilvusDataReader {
  private readonly callTimeoutMs: number;
  private readonly canaryTimeoutMs: number;

  constructor(options: SdkMilvusDataReaderOptions = {}) {
    this.callTimeoutMs = options.callTimeoutMs ?? 10_000;
    this.canaryTimeoutMs = options.canaryTimeoutMs ?? 5_000;
  }

  snapshot(endpoint: MilvusEndpoint, signal?: AbortSignal): Promise<DataSnapshot> {
    const { address } = endpoint;
    return withMilvus(endpoint, this.callTimeoutMs, signal, async (client) => {
      const version = await client.getVersion();
      const health = checked('CheckHealth', address, await client.checkHealth());
      const shown = checked('ShowCollections', address, await client.showCollections());
      // A few collections at a time: 1,000 collections one after the other are 3,000 round trips.
      const collections = await inBatches(shown.data, SNAPSHOT_CONCURRENCY, async (c): Promise<CollectionSnapshot> => {
        const load = checked(`GetLoadState of ${c.name}`, address, await client.getLoadState({ collection_name: c.name }));
        const stats = checked(`GetCollectionStatistics of ${c.name}`, address, await client.getCollectionStatistics({ collection_name: c.name }));
        const rows = Number(stats.data?.row_count);
        const loadState = LOAD_STATES[load.state] ?? 'not-loaded';
        const progress = loadState === 'loading' ? await loadingProgress(client, c.name) : null;
        return {
          name: c.name,
          loadState,
          rowCount: Number.isFinite(rows) ? rows : null,
          indexes: await indexNames(client, address, c.name),
          ...(progress !== null ? { loadingProgress: progress } : {}),
        };
      });
      return { serverVersion: version.version, healthy: health.isHealthy, reasons: [...health.reasons].map(String), collections };
    });
  }

  pickCanary(endpoint: MilvusEndpoint, collection: string, count: number, signal?: AbortSignal): Promise<CanaryRows | null> {
    return withMilvus(endpoint, this.canaryTimeoutMs, signal, (client) => pickCanaryWith(client, endpoint.address, collection, count));
  }

  probe(endpoint: MilvusEndpoint, canary: CanaryRows, signal?: AbortSignal): Promise<CanaryResult> {
    return withMilvus(endpoint, this.canaryTimeoutMs, signal, (client) => probeWith(client, endpoint.address, canary));
  }

  async openSampler(endpoint: MilvusEndpoint, canary: CanaryRows): Promise<CanarySampler> {
    const client = await openMilvus(endpoint, this.canaryTimeoutMs);
    try {
      return await samplerWith(client, endpoint.address, canary);
    } catch (err) {
      await client.closeConnection().catch(() => undefined);
      throw err;
    }
  }
}
