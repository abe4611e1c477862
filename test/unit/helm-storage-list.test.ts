/** Listing the releases of a namespace (or all) from helm's Secrets: one list call, the newest revision of each. */
import { gzipSync } from 'node:zlib';
import type { CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { HelmSecretStorage } from '../../src/cluster/helm-storage.js';

const field = (record: object) => Buffer.from(gzipSync(Buffer.from(JSON.stringify(record))).toString('base64')).toString('base64');

function secret(namespace: string, name: string, version: number, status: string, chart = 'milvus') {
  const record = { name, namespace, version, info: { status }, chart: { metadata: { name: chart, version: '4.1.24', appVersion: '2.3.11' } } };
  return { type: 'helm.sh/release.v1', metadata: { namespace, name: `sh.helm.release.v1.${name}.v${version}`, labels: { owner: 'helm', name, version: String(version), status } }, data: { release: field(record) } };
}

function core(items: object[]) {
  const calls: Array<{ fn: string; args: unknown }> = [];
  const api = {
    listNamespacedSecret: async (args: { namespace: string }) => {
      calls.push({ fn: 'namespaced', args });
      return { items: items.filter((s) => (s as { metadata: { namespace: string } }).metadata.namespace === args.namespace) };
    },
    listSecretForAllNamespaces: async (args: unknown) => {
      calls.push({ fn: 'all', args });
      return { items };
    },
  };
  return { calls, api: api as unknown as CoreV1Api };
}

const ITEMS = [
  secret('a', 'my-release', 1, 'superseded'),
  secret('a', 'my-release', 3, 'deployed'),
  secret('a', 'my-release', 2, 'superseded'),
  secret('a', 'redis', 1, 'deployed', 'redis'),
  secret('b', 'my-release', 1, 'failed'),
  { type: 'Opaque', metadata: { namespace: 'a', name: 'minio', labels: { owner: 'helm', name: 'x', version: '9' } }, data: { release: 'not helm' } },
];

describe('HelmSecretStorage.releases', () => {
  it('a namespace: each release once, at its newest revision', async () => {
    const { api, calls } = core(ITEMS);
    const got = await new HelmSecretStorage(api).releases('a');
    expect(got.map((r) => [r.namespace, r.name, r.revision, r.status, r.chart])).toEqual([
      ['a', 'my-release', 3, 'deployed', 'milvus-4.1.24'],
      ['a', 'redis', 1, 'deployed', 'redis-4.1.24'],
    ]);
    expect(calls).toEqual([{ fn: 'namespaced', args: { namespace: 'a', labelSelector: 'owner=helm' } }]);
  });

  it('every namespace: one call across them, the same name in two namespaces kept apart', async () => {
    const { api, calls } = core(ITEMS);
    const got = await new HelmSecretStorage(api).releases();
    expect(got.filter((r) => r.name === 'my-release').map((r) => [r.namespace, r.revision])).toEqual([
      ['a', 3],
      ['b', 1],
    ]);
    expect(calls.map((c) => c.fn)).toEqual(['all']);
  });

  it('a refused list is an error that says what was being read', async () => {
    const api = { listSecretForAllNamespaces: async () => Promise.reject(new Error('connect ECONNREFUSED')) } as unknown as CoreV1Api;
    await expect(new HelmSecretStorage(api).releases()).rejects.toThrow(/listing helm's releases \(their Secrets\) in every namespace/);
  });
});
