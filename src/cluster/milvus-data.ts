/**
 * Milvus's view of its data, read with the official Node SDK over gRPC (issue 26). One client
 * per snapshot, closed after: the bot reads a release now and then, it does not hold sessions.
 * Credentials go to the SDK only; errors name the address and what failed, never a secret.
 */
import { MilvusClient } from '@zilliz/milvus2-sdk-node';
import { UpgradeError } from '../upgrade/errors.js';
import type { CollectionLoadState, DataSnapshot, MilvusEndpoint } from '../upgrade/data-snapshot.js';
import type { MilvusDataReader } from '../upgrade/ports.js';

/** A connect or a call that takes longer than this is an unreachable Milvus, not a wait. */
const CALL_TIMEOUT_MS = 10_000;

const LOAD_STATES: Readonly<Record<string, CollectionLoadState>> = {
  LoadStateLoaded: 'loaded',
  LoadStateLoading: 'loading',
  LoadStateNotLoad: 'not-loaded',
};

interface WithStatus {
  readonly status?: { readonly error_code?: string | number; readonly code?: number; readonly reason?: string };
}

/** Milvus answers most failures with a status, not a gRPC error: both are failures here. */
function checked<T extends object>(what: string, address: string, r: T): T {
  const s = (r as WithStatus).status;
  const failed = s && ((s.code !== undefined && s.code !== 0) || (s.error_code !== undefined && s.error_code !== 'Success' && s.error_code !== 0));
  if (failed) throw new UpgradeError('transient', `Milvus at ${address} refused ${what}: ${s.reason || String(s.error_code ?? s.code)}`);
  return r;
}

export class SdkMilvusDataReader implements MilvusDataReader {
  async snapshot(endpoint: MilvusEndpoint, signal?: AbortSignal): Promise<DataSnapshot> {
    const { address } = endpoint;
    const creds = endpoint.credentials ?? null;
    const client = new MilvusClient({
      address,
      ssl: endpoint.tls ?? false,
      timeout: CALL_TIMEOUT_MS,
      logLevel: 'error',
      ...(creds && 'token' in creds ? { token: creds.token } : {}),
      ...(creds && 'username' in creds ? { username: creds.username, password: creds.password } : {}),
    });
    const abort = () => void client.closeConnection().catch(() => undefined);
    signal?.addEventListener('abort', abort, { once: true });
    try {
      await client.connectPromise;
      const version = await client.getVersion();
      const health = checked('CheckHealth', address, await client.checkHealth());
      const shown = checked('ShowCollections', address, await client.showCollections());
      const collections = [];
      for (const c of shown.data) {
        const load = checked(`GetLoadState of ${c.name}`, address, await client.getLoadState({ collection_name: c.name }));
        const stats = checked(`GetCollectionStatistics of ${c.name}`, address, await client.getCollectionStatistics({ collection_name: c.name }));
        const rows = Number(stats.data?.row_count);
        collections.push({ name: c.name, loadState: LOAD_STATES[load.state] ?? 'not-loaded', rowCount: Number.isFinite(rows) ? rows : null });
      }
      return { serverVersion: version.version, healthy: health.isHealthy, reasons: [...health.reasons].map(String), collections };
    } catch (err) {
      if (err instanceof UpgradeError) throw err;
      throw new UpgradeError('transient', `Milvus at ${address} cannot be read: ${(err as Error).message ?? String(err)}`, [
        'check the address (the release\'s proxy Service, port 19530) and the credentials Secret',
      ]);
    } finally {
      signal?.removeEventListener('abort', abort);
      await client.closeConnection().catch(() => undefined);
    }
  }
}
