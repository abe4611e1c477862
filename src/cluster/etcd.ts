import type { SessionProbe } from '../upgrade/ports.js';

/**
 * Lists keys through etcd's v3 JSON gateway (POST /v3/kv/range, keys only), which etcd serves
 * on its client port: no gRPC client library needed for this one read. Names, not a count, so
 * the domain can leave out the permanent `session/id` key.
 */
export class EtcdHttpSessionProbe implements SessionProbe {
  constructor(private readonly timeoutMs = 5000) {}

  async keys(endpoint: string, prefix: string, signal?: AbortSignal): Promise<string[] | null> {
    const base = /^https?:\/\//.test(endpoint) ? endpoint : `http://${endpoint}`;
    const key = Buffer.from(prefix);
    // A bounded read: Milvus has one session key per process; more than this is not waited for key by key.
    const body = { key: key.toString('base64'), range_end: prefixEnd(key).toString('base64'), keys_only: true, limit: 10_000 };
    try {
      const timeout = AbortSignal.timeout(this.timeoutMs);
      const res = await fetch(`${base.replace(/\/+$/, '')}/v3/kv/range`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      if (!res.ok) return null;
      const json = (await res.json()) as { kvs?: Array<{ key?: unknown }> };
      return (json.kvs ?? []).flatMap((kv) => (typeof kv.key === 'string' ? [Buffer.from(kv.key, 'base64').toString('utf8')] : []));
    } catch {
      if (signal?.aborted) throw new Error('aborted');
      return null;
    }
  }
}

/** The smallest key greater than every key with this prefix (etcd's range_end for a prefix). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
