/**
 * The CLI's way to Milvus itself (issue 26): `--milvus-address host:port`, credentials from the
 * environment only (MILVUS_TOKEN, or MILVUS_USER and MILVUS_PASSWORD), never from a flag that
 * `ps` would show. The SDK is loaded only when asked: the CLI starts as fast without it.
 */
import { UpgradeError } from './upgrade/errors.js';
import { isMilvusAddress, type DataSnapshot, type MilvusEndpoint } from './upgrade/data-snapshot.js';

export function milvusEndpoint(address: string, env: NodeJS.ProcessEnv = process.env): MilvusEndpoint {
  if (!isMilvusAddress(address)) {
    throw new UpgradeError('bad-input', `--milvus-address ${JSON.stringify(address)} is not host:port (e.g. my-release-milvus.milvus.svc:19530)`);
  }
  const credentials = env.MILVUS_TOKEN
    ? { token: env.MILVUS_TOKEN }
    : env.MILVUS_USER
      ? { username: env.MILVUS_USER, password: env.MILVUS_PASSWORD ?? '' }
      : null;
  return { address, credentials, tls: env.MILVUS_TLS === 'true' };
}

/** The snapshot, or why it could not be read: an unreachable Milvus is said, never silent. */
export async function readMilvus(endpoint: MilvusEndpoint): Promise<DataSnapshot | { readonly notRead: string }> {
  const { SdkMilvusDataReader } = await import('./cluster/milvus-data.js');
  try {
    return await new SdkMilvusDataReader().snapshot(endpoint);
  } catch (err) {
    return { notRead: err instanceof UpgradeError ? err.message : String(err) };
  }
}
