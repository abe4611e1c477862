import { describe, expect, it } from 'vitest';
import { milvusEndpoint } from '../../src/cli-milvus.js';
import { dataText } from '../../src/plan-text.js';
import { UpgradeError } from '../../src/upgrade/errors.js';

describe('--milvus-address and the credentials from the environment', () => {
  it('takes host:port (a DNS name or an IPv4 address) and nothing else', () => {
    expect(milvusEndpoint('my-release-milvus.milvus.svc:19530', {}).address).toBe('my-release-milvus.milvus.svc:19530');
    expect(milvusEndpoint('127.0.0.1:19530', {}).address).toBe('127.0.0.1:19530');
    for (const bad of ['19530', 'host', 'host:0', 'host:65536', 'a b:19530', 'host:19530;rm', 'http://host:19530', '-x:1']) {
      expect(() => milvusEndpoint(bad, {}), bad).toThrow(UpgradeError);
    }
  });

  it('a token wins over a user; a user without a password gets an empty one; none: no credentials', () => {
    expect(milvusEndpoint('h:1', { MILVUS_TOKEN: 't', MILVUS_USER: 'u' }).credentials).toEqual({ token: 't' });
    expect(milvusEndpoint('h:1', { MILVUS_USER: 'u' }).credentials).toEqual({ username: 'u', password: '' });
    expect(milvusEndpoint('h:1', {}).credentials).toBeNull();
    expect(milvusEndpoint('h:1', { MILVUS_TLS: 'true' }).tls).toBe(true);
  });

  it('status text: every collection, or why Milvus was not read', () => {
    const text = dataText({ serverVersion: 'v2.4.23', healthy: true, reasons: [], collections: [{ name: 'books', loadState: 'loaded', rowCount: 1200 }, { name: 'x', loadState: 'loading', rowCount: null }] });
    expect(text.split('\n')).toEqual([
      '  milvus: v2.4.23, healthy, 2 collection(s) (1 loaded, 1,200 rows)',
      '    books                    loaded      1,200 rows',
      '    x                        loading     rows unknown',
    ]);
    expect(dataText({ notRead: 'Milvus at h:1 cannot be read: refused' })).toBe('  milvus: data not checked: Milvus at h:1 cannot be read: refused');
  });
});
