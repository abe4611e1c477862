import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/upgrade/errors.js';
import { milvusFullname, validateNamespace, validateReleaseName } from '../../src/upgrade/milvus/names.js';
import { thrown } from './helpers.js';

describe('validateReleaseName (DNS-1123 label, at most 53 characters)', () => {
  it.each(['my-release', 'milvus', 'a', 'm1', '1abc', 'milvus-prod-2', 'a'.repeat(53)])('accepts %s', (name) => {
    expect(validateReleaseName(name)).toBe(name);
  });

  it.each([
    ['uppercase', 'My-Release'],
    ['underscore', 'my_release'],
    ['54 characters', 'a'.repeat(54)],
    ['leading dash', '-release'],
    ['trailing dash', 'release-'],
    ['dot', 'my.release'],
    ['empty', ''],
    ['space', 'my release'],
    ['shell metacharacters', 'prod;rm -rf /'],
    ['newline', 'prod\nother'],
  ])('rejects %s', (_what, name) => {
    const err = thrown(() => validateReleaseName(name));
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).code).toBe('bad-input');
  });

  it('shows a huge or unprintable name shortened and printable', () => {
    const err = thrown(() => validateReleaseName(`bad\u0000name${'x'.repeat(500)}`)) as InputError;
    expect(err.message).not.toContain('\u0000');
    expect(err.message.length).toBeLessThan(120);
  });
});

describe('validateNamespace (DNS-1123 label, at most 63 characters)', () => {
  it('accepts 63 characters and rejects 64', () => {
    expect(validateNamespace('n'.repeat(63))).toBe('n'.repeat(63));
    expect(thrown(() => validateNamespace('n'.repeat(64)))).toBeInstanceOf(InputError);
  });

  it.each(['Default', 'kube_system', '-ns', ''])('rejects %j', (ns) => {
    expect(thrown(() => validateNamespace(ns))).toBeInstanceOf(InputError);
  });
});

describe('milvusFullname (SPEC §4)', () => {
  it('appends -milvus to a release name without "milvus"', () => {
    expect(milvusFullname('prod')).toBe('prod-milvus');
    expect(milvusFullname('my-release')).toBe('my-release-milvus');
  });

  it('keeps a release name that already contains "milvus"', () => {
    expect(milvusFullname('milvus')).toBe('milvus');
    expect(milvusFullname('milvus-prod')).toBe('milvus-prod');
    expect(milvusFullname('prod-milvus-2')).toBe('prod-milvus-2');
  });

  it('prefers fullnameOverride', () => {
    expect(milvusFullname('prod', 'vector-db')).toBe('vector-db');
    expect(milvusFullname('milvus-prod', 'vector-db')).toBe('vector-db');
    expect(milvusFullname('prod', null)).toBe('prod-milvus');
    expect(milvusFullname('prod', '')).toBe('prod-milvus');
  });
});
