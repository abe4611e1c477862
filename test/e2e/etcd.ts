import { cluster } from './helpers.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

async function post(path: string, body: unknown): Promise<any> {
  const res = await fetch(`${cluster().etcdUrl}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Writes a key bound to a lease of `ttlSeconds`, as a live Milvus session would. */
export async function putSessionKey(key: string, ttlSeconds: number): Promise<void> {
  const lease = await post('/v3/lease/grant', { TTL: ttlSeconds });
  await post('/v3/kv/put', { key: b64(key), value: b64('{"ServerID":1}'), lease: lease.ID });
}

export async function keyExists(key: string): Promise<boolean> {
  const r = await post('/v3/kv/range', { key: b64(key) });
  return Number(r.count ?? 0) > 0;
}
