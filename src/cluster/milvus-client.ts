/**
 * One official-SDK client per call group (a snapshot, a canary pick, a probe), closed after: the
 * bot reads a release now and then, it holds no session. Credentials go to the SDK only; errors
 * name the address and what failed, never a secret.
 */
import { MilvusClient } from '@zilliz/milvus2-sdk-node';
import { UpgradeError } from '../upgrade/errors.js';
import type { MilvusEndpoint } from '../upgrade/data-snapshot.js';

interface WithStatus {
  readonly status?: { readonly error_code?: string | number; readonly code?: number | string; readonly reason?: string };
}

/** A Milvus status that says the call failed (Milvus answers most failures so, not as a gRPC error). */
export function failedStatus(r: object): { readonly code: string; readonly reason: string } | null {
  const s = (r as WithStatus).status;
  if (!s) return null;
  const code = Number(s.code ?? 0);
  const ok = code === 0 && (s.error_code === undefined || s.error_code === 'Success' || s.error_code === 0 || s.error_code === '0');
  return ok ? null : { code: String(s.error_code ?? s.code), reason: s.reason || `code ${String(s.code ?? s.error_code)}` };
}

/** Throws a transient UpgradeError when Milvus answered `what` with a failed status. */
export function checked<T extends object>(what: string, address: string, r: T): T {
  const failed = failedStatus(r);
  if (failed) throw new UpgradeError('transient', `Milvus at ${address} refused ${what}: ${failed.reason}`);
  return r;
}

/** The error's own words: grpc-js says `4 DEADLINE_EXCEEDED: Deadline exceeded after 1.0s`. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Opens a client on `endpoint`, runs `work` with it and closes it, whatever happens. `timeoutMs`
 * bounds each call (the SDK's per-call deadline); an abort closes the client, which fails the
 * call in flight. Failures that are not already an UpgradeError become a transient one saying
 * Milvus `cannot be read`.
 */
export async function withMilvus<T>(
  endpoint: MilvusEndpoint,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  work: (client: MilvusClient) => Promise<T>,
): Promise<T> {
  const { address } = endpoint;
  const client = newClient(endpoint, timeoutMs);
  const abort = () => void client.closeConnection().catch(() => undefined);
  signal?.addEventListener('abort', abort, { once: true });
  try {
    await client.connectPromise;
    return await work(client);
  } catch (err) {
    throw cannotRead(address, err);
  } finally {
    signal?.removeEventListener('abort', abort);
    await client.closeConnection().catch(() => undefined);
  }
}

/** A client held open by the caller (the availability loop), connected; the caller closes it. */
export async function openMilvus(endpoint: MilvusEndpoint, timeoutMs: number): Promise<MilvusClient> {
  const client = newClient(endpoint, timeoutMs);
  try {
    await client.connectPromise;
    return client;
  } catch (err) {
    await client.closeConnection().catch(() => undefined);
    throw cannotRead(endpoint.address, err);
  }
}

function cannotRead(address: string, err: unknown): UpgradeError {
  if (err instanceof UpgradeError) return err;
  return new UpgradeError('transient', `Milvus at ${address} cannot be read: ${errorText(err)}`, [
    'check the address (the release\'s proxy Service, port 19530) and the credentials Secret',
  ]);
}

function newClient(endpoint: MilvusEndpoint, timeoutMs: number): MilvusClient {
  const creds = endpoint.credentials ?? null;
  return new MilvusClient({
    address: endpoint.address,
    ssl: endpoint.tls ?? false,
    timeout: timeoutMs,
    logLevel: 'error',
    ...(creds && 'token' in creds ? { token: creds.token } : {}),
    ...(creds && 'username' in creds ? { username: creds.username, password: creds.password } : {}),
  });
}
