/**
 * The official SDK's clients for call groups (a snapshot, a canary pick, a probe): shared while
 * groups follow each other on one endpoint, closed soon after (see the pool below). Credentials
 * go to the SDK only; errors name the address and what failed, never a secret.
 */
import { createHash } from 'node:crypto';
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
 * Clients kept for a moment between call groups, per endpoint and deadline. The SDK builds its
 * protocol definitions in every client it makes (about 0.18 s of CPU each, bench/RESULTS.md
 * "snapshot-cost"): a plan that picks a canary in each of 1,000 collections spent 164 s making
 * clients. One client serves every call group on its endpoint that comes while it is in use or
 * within IDLE_CLOSE_MS of its last one, then it is closed: the bot still holds no session.
 */
const IDLE_CLOSE_MS = 1000;

interface Pooled {
  readonly client: MilvusClient;
  readonly connected: Promise<void>;
  users: number;
  idle: NodeJS.Timeout | null;
}

const pool = new Map<string, Pooled>();

/** The credentials stay in memory as part of the key, hashed: never in a log or a message. */
function poolKey(endpoint: MilvusEndpoint, timeoutMs: number): string {
  return createHash('sha256').update(JSON.stringify([endpoint.address, endpoint.tls ?? false, endpoint.credentials ?? null, timeoutMs])).digest('hex');
}

async function acquire(endpoint: MilvusEndpoint, timeoutMs: number): Promise<{ pooled: Pooled; key: string }> {
  const key = poolKey(endpoint, timeoutMs);
  let pooled = pool.get(key);
  if (!pooled) {
    const client = newClient(endpoint, timeoutMs);
    pooled = { client, connected: client.connectPromise.then(() => undefined), users: 0, idle: null };
    pool.set(key, pooled);
  }
  if (pooled.idle) clearTimeout(pooled.idle);
  pooled.idle = null;
  pooled.users += 1;
  try {
    await pooled.connected;
  } catch (err) {
    // Never handed out again: the next call group connects anew.
    release(key, pooled, true);
    throw err;
  }
  return { pooled, key };
}

function release(key: string, pooled: Pooled, broken = false): void {
  pooled.users -= 1;
  if (broken && pool.get(key) === pooled) pool.delete(key);
  if (pooled.users > 0) return;
  const close = () => {
    if (pool.get(key) === pooled) pool.delete(key);
    void pooled.client.closeConnection().catch(() => undefined);
  };
  if (broken) return close();
  pooled.idle = setTimeout(close, IDLE_CLOSE_MS);
  pooled.idle.unref();
}

/**
 * Runs `work` with a client on `endpoint` (a pooled one, see above). `timeoutMs` bounds each call
 * (the SDK's per-call deadline); an abort gives up the wait at once and leaves the call in flight
 * to its deadline. Failures that are not already an UpgradeError become a transient one saying
 * Milvus `cannot be read`.
 */
export async function withMilvus<T>(
  endpoint: MilvusEndpoint,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  work: (client: MilvusClient) => Promise<T>,
): Promise<T> {
  const { address } = endpoint;
  if (signal?.aborted) throw cannotRead(address, new Error('aborted'));
  let lease: { pooled: Pooled; key: string } | null = null;
  try {
    lease = await acquire(endpoint, timeoutMs);
    const client = lease.pooled.client;
    return await untilAborted(work(client), signal);
  } catch (err) {
    throw cannotRead(address, err);
  } finally {
    if (lease) release(lease.key, lease.pooled);
  }
}

function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  work.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
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
