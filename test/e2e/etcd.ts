import { cluster } from './helpers.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

async function post(path: string, body: unknown): Promise<any> {
  const res = await fetch(`${cluster().etcdUrl}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}


/**
 * A session key kept alive like a running Milvus process keeps its own: the lease is renewed
 * until `stop()`, after which the key expires within `ttlSeconds`.
 */
export async function holdSession(key: string, ttlSeconds: number): Promise<{ stop: () => void }> {
  const lease = await post('/v3/lease/grant', { TTL: ttlSeconds });
  await post('/v3/kv/put', { key: b64(key), value: b64('{"ServerID":1}'), lease: lease.ID });
  // Not helm: a missed keepalive is sent again 500 ms later, well inside the lease's TTL.
  const timer = setInterval(() => void post('/v3/lease/keepalive', { ID: lease.ID }).catch(() => {}), 500);
  return { stop: () => clearInterval(timer) };
}

export async function keyExists(key: string): Promise<boolean> {
  const r = await post('/v3/kv/range', { key: b64(key) });
  return Number(r.count ?? 0) > 0;
}

/** A key without a lease, like Milvus's server-id counter `<root>/meta/session/id`: it never expires. */
export async function putPermanentKey(key: string, value = '7'): Promise<void> {
  await post('/v3/kv/put', { key: b64(key), value: b64(value) });
}
