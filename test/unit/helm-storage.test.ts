import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { coalesceValues, decodeRelease, imageTagOf, type StoredRelease } from '../../src/cluster/helm-storage.js';

/** What helm writes (base64 of gzipped JSON), as the API returns it (base64 again). */
const secretField = (record: object, gzip = true) => {
  const json = Buffer.from(JSON.stringify(record));
  const helm = (gzip ? gzipSync(json) : json).toString('base64');
  return Buffer.from(helm).toString('base64');
};

const record = { name: 'r', namespace: 'ns', version: 3, info: { status: 'deployed', description: 'Upgrade complete' }, chart: { metadata: { name: 'milvus', version: '4.2.58', appVersion: '2.5.16' }, values: { a: 1 } }, config: { b: 2 }, manifest: '---\nkind: X' };

describe("helm's release Secrets", () => {
  it('decodes the record, gzipped (helm 3) or not', () => {
    expect(decodeRelease(secretField(record))).toEqual(record);
    expect(decodeRelease(secretField(record, false))).toEqual(record);
  });

  it('refuses what is not a release record', () => {
    expect(() => decodeRelease(secretField({ hello: 'world' }))).toThrow(/does not hold a helm release record/);
  });

  it('coalesces as helm does: given values over defaults, maps merged, null removes the key', () => {
    const defaults = { image: { all: { repository: 'milvusdb/milvus', tag: 'v2.5.16' } }, pulsar: { enabled: false }, attu: { enabled: false }, list: [1, 2] };
    const given = { image: { all: { tag: 'v2.6.15' } }, pulsar: { enabled: true }, attu: null, list: [3] };
    expect(coalesceValues(defaults, given)).toEqual({ image: { all: { repository: 'milvusdb/milvus', tag: 'v2.6.15' } }, pulsar: { enabled: true }, list: [3] });
    // The inputs are left as they were.
    expect(defaults.image.all.tag).toBe('v2.5.16');
  });
});

describe('imageTagOf: what a revision ran', () => {
  const stored = (config: object | null, defaults: object | null): StoredRelease =>
    ({ ...record, config, chart: { ...record.chart, values: defaults } }) as unknown as StoredRelease;
  it("the person's image.all.tag over the chart's default; null when neither gives one", () => {
    expect(imageTagOf(stored({ image: { all: { tag: 'v2.4.23' } } }, { image: { all: { tag: 'v2.4.16' } } }))).toBe('v2.4.23');
    expect(imageTagOf(stored({ other: 1 }, { image: { all: { tag: 'v2.4.16' } } }))).toBe('v2.4.16');
    expect(imageTagOf(stored(null, null))).toBeNull();
    expect(imageTagOf(stored({ image: { all: { tag: '' } } }, null))).toBeNull();
  });
});
