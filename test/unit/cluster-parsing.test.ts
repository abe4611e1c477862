/** The pure parsing helpers of the adapters: no helm, no Kubernetes API, no etcd is contacted. */
import { describe, expect, it } from 'vitest';
import { prefixEnd } from '../../src/cluster/etcd.js';
import { chartVersionOf, isTransientHelmError } from '../../src/cluster/helm.js';
import { messageQueueOf } from '../../src/cluster/milvus.js';
import { repositoryOf } from '../../src/upgrade/milvus/image-ref.js';

describe('chartVersionOf (helm list "chart" column)', () => {
  it.each([
    ['milvus-4.1.24', '4.1.24'],
    ['milvus-4.2.25', '4.2.25'],
    ['milvus-5.0.19', '5.0.19'],
    ['milvus-4.2.26-beta.1', '4.2.26-beta.1'],
    ['milvus-3.0.0+build.7', '3.0.0+build.7'],
    ['my-milvus-fork-1.2.3', '1.2.3'],
  ])('%s -> %s', (chart, version) => {
    expect(chartVersionOf(chart)).toBe(version);
  });

  it('takes the first tail that is SemVer, so a dashed name or pre-release stays whole', () => {
    expect(chartVersionOf('milvus-1-2.0.0')).toBe('2.0.0');
    expect(chartVersionOf('milvus-5.0.0-rc.1-x')).toBe('5.0.0-rc.1-x');
  });

  it.each(['milvus', '', 'milvus-4.2', 'milvus-latest', '4.1.24', 'milvus-04.1.2'])('%j -> empty', (chart) => {
    expect(chartVersionOf(chart)).toBe('');
  });
});

describe('prefixEnd (etcd range_end of a prefix)', () => {
  it('increments the last byte', () => {
    expect(prefixEnd(Buffer.from('by-dev/meta/session/')).toString()).toBe('by-dev/meta/session0');
    expect(prefixEnd(Buffer.from('abc')).toString()).toBe('abd');
  });

  it('drops trailing 0xff bytes and increments the one before', () => {
    expect([...prefixEnd(Buffer.from([0x61, 0xff]))]).toEqual([0x62]);
    expect([...prefixEnd(Buffer.from([0x01, 0x02, 0xff, 0xff]))]).toEqual([0x01, 0x03]);
  });

  it('all 0xff (or empty) -> \\0, meaning "to the end of the keyspace"', () => {
    expect([...prefixEnd(Buffer.from([0xff, 0xff]))]).toEqual([0x00]);
    expect([...prefixEnd(Buffer.alloc(0))]).toEqual([0x00]);
  });

  it('does not modify its input', () => {
    const input = Buffer.from('key');
    prefixEnd(input);
    expect(input.toString()).toBe('key');
  });

  it('every key with the prefix sorts below the end, the end itself does not have the prefix', () => {
    const prefix = Buffer.from('by-dev/meta/session/');
    const end = prefixEnd(prefix);
    for (const key of ['by-dev/meta/session/', 'by-dev/meta/session/rootcoord', 'by-dev/meta/session/\u00ff\u00ff']) {
      expect(Buffer.compare(Buffer.from(key), end)).toBe(-1);
    }
    expect(end.subarray(0, prefix.length).equals(prefix)).toBe(false);
  });
});

describe('messageQueueOf (the release ConfigMap)', () => {
  it('user.yaml wins over default.yaml', () => {
    expect(messageQueueOf({ 'default.yaml': 'messageQueue: rocksmq\n', 'user.yaml': 'messageQueue: kafka\n' })).toBe('kafka');
  });

  it('falls back to default.yaml when user.yaml does not say', () => {
    expect(messageQueueOf({ 'default.yaml': 'messageQueue: pulsar\n', 'user.yaml': 'proxy:\n  maxTaskNum: 10\n' })).toBe('pulsar');
    expect(messageQueueOf({ 'default.yaml': 'messageQueue: rocksmq\n', 'user.yaml': '' })).toBe('rocksmq');
  });

  it('skips a file that does not parse', () => {
    expect(messageQueueOf({ 'user.yaml': 'a: [unclosed\n', 'default.yaml': 'messageQueue: woodpecker\n' })).toBe('woodpecker');
  });

  it('null when nothing names it (or it is not a string)', () => {
    expect(messageQueueOf({})).toBeNull();
    expect(messageQueueOf({ 'default.yaml': 'etcd:\n  rootPath: by-dev\n' })).toBeNull();
    expect(messageQueueOf({ 'default.yaml': 'messageQueue:\n  type: pulsar\n' })).toBeNull();
  });
});

describe('repositoryOf (image reference without tag or digest)', () => {
  it.each([
    ['milvusdb/milvus:v2.4.23', 'milvusdb/milvus'],
    ['milvusdb/milvus', 'milvusdb/milvus'],
    ['localhost:5000/milvusdb/milvus:v2.4.23', 'localhost:5000/milvusdb/milvus'],
    ['localhost:5000/milvus', 'localhost:5000/milvus'],
    ['milvusdb/milvus@sha256:0123abcd', 'milvusdb/milvus'],
    ['harbor.example.com/ai/milvus:v2.4.23@sha256:0123abcd', 'harbor.example.com/ai/milvus'],
  ])('%s -> %s', (image, repo) => {
    expect(repositoryOf(image)).toBe(repo);
  });
});

describe('isTransientHelmError', () => {
  it('recognises the errors that go away when tried again', () => {
    expect(isTransientHelmError('Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress')).toBe(true);
    expect(isTransientHelmError('dial tcp 10.0.0.1:6443: connect: connection refused')).toBe(true);
    expect(isTransientHelmError('Error: UPGRADE FAILED: context deadline exceeded')).toBe(true);
  });

  it('a --wait that ran out of time is the upgrade failing, not a passing fault', () => {
    expect(isTransientHelmError('Error: UPGRADE FAILED: context deadline exceeded', true)).toBe(false);
    expect(isTransientHelmError('Error: timed out waiting for the condition', true)).toBe(false);
    expect(isTransientHelmError('Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress', true)).toBe(true);
  });

  it('not a chart or values error', () => {
    expect(isTransientHelmError('Error: chart "milvus" version "9.9.9" not found in zilliztech repository')).toBe(false);
    expect(isTransientHelmError('Error: UPGRADE FAILED: template: milvus/templates/x.yaml: nil pointer')).toBe(false);
  });
});
