import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/upgrade/errors.js';
import {
  atLeast,
  compareVersions,
  imageTag,
  isNewer,
  parseVersion,
  sameLine,
  sameVersion,
  tryParseVersion,
  versionOfImage,
} from '../../src/upgrade/milvus/version.js';
import { thrown } from './helpers.js';

const v = parseVersion;

describe('parseVersion', () => {
  it.each([
    ['2.4.23', { major: 2, minor: 4, patch: 23, suffix: '', text: '2.4.23' }],
    ['v2.4.23', { major: 2, minor: 4, patch: 23, suffix: '', text: '2.4.23' }],
    ['2.5.0-beta', { major: 2, minor: 5, patch: 0, suffix: 'beta', text: '2.5.0-beta' }],
    ['2.4.13-hotfix', { major: 2, minor: 4, patch: 13, suffix: 'hotfix', text: '2.4.13-hotfix' }],
    ['v2.0.0-rc.5-hotfix1', { major: 2, minor: 0, patch: 0, suffix: 'rc.5-hotfix1', text: '2.0.0-rc.5-hotfix1' }],
  ])('parses %s', (input, expected) => {
    expect(parseVersion(input)).toEqual(expected);
  });

  it('accepts surrounding whitespace (a pasted Slack argument)', () => {
    expect(parseVersion('  v2.4.23 ').text).toBe('2.4.23');
  });

  it.each([
    'latest',
    '2.4',
    'v2.4.x',
    '2.4.23;rm -rf /',
    '2.4.23 && echo hi',
    '$(reboot)',
    '2.4.23`id`',
    '2.4.23|cat',
    '2.4.23\nmalicious: true',
    'V2.4.23',
    'vv2.4.23',
    '2.4.23-',
    '2.4.23-beta!',
    '-2.4.23',
    '',
    '2.4.23-' + 'a'.repeat(60),
    '2.4.' + '9'.repeat(400),
    '2.4.99999999999999999999',
    '9'.repeat(100_000),
  ])('rejects %j with InputError', (input) => {
    const err = thrown(() => parseVersion(input));
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).code).toBe('bad-input');
    expect(tryParseVersion(input)).toBeNull();
  });

  it('keeps the error message short for a huge input', () => {
    const err = thrown(() => parseVersion('x'.repeat(10_000))) as InputError;
    expect(err.message.length).toBeLessThan(100);
    expect(err.details.join(' ')).toContain('2.4.23');
  });
});

describe('compareVersions', () => {
  const ordered = [
    '2.0.0-rc.8',
    '2.1.4',
    '2.2.0',
    '2.2.3',
    '2.3.0-beta',
    '2.3.0',
    '2.4.13-beta',
    '2.4.13-rc.1',
    '2.4.13-rc.2',
    '2.4.13',
    '2.4.13-hotfix',
    '2.4.14',
    '2.4.23',
    '2.5.0-beta',
    '2.5.0',
    '2.10.0',
    '3.0.0',
  ];

  it('orders beta < release < hotfix < next patch, and minors numerically', () => {
    const shuffled = [...ordered].reverse().map(v);
    shuffled.sort(compareVersions);
    expect(shuffled.map((x) => x.text)).toEqual(ordered);
  });

  it('is antisymmetric for every pair', () => {
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        const c = compareVersions(v(ordered[i]!), v(ordered[j]!));
        expect(Math.sign(c), `${ordered[i]} vs ${ordered[j]}`).toBe(Math.sign(i - j));
      }
    }
  });

  it('treats v-prefixed and plain text as the same version', () => {
    expect(sameVersion(v('v2.4.23'), v('2.4.23'))).toBe(true);
    expect(compareVersions(v('v2.4.23'), v('2.4.23'))).toBe(0);
    expect(sameVersion(v('2.4.13'), v('2.4.13-hotfix'))).toBe(false);
  });

  it('isNewer', () => {
    expect(isNewer(v('2.4.13-hotfix'), v('2.4.13'))).toBe(true);
    expect(isNewer(v('2.4.13'), v('2.4.13-hotfix'))).toBe(false);
    expect(isNewer(v('2.5.0'), v('2.5.0-beta'))).toBe(true);
    expect(isNewer(v('2.4.14'), v('2.4.13-hotfix'))).toBe(true);
  });

  it('sameLine compares major.minor only', () => {
    expect(sameLine(v('2.4.0'), v('2.4.23'))).toBe(true);
    expect(sameLine(v('2.5.0-beta'), v('2.5.16'))).toBe(true);
    expect(sameLine(v('2.4.23'), v('2.5.0'))).toBe(false);
    expect(sameLine(v('3.4.0'), v('2.4.0'))).toBe(false);
  });

  it('atLeast: pre-releases are below the release', () => {
    expect(atLeast(v('2.2.3'), '2.2.3')).toBe(true);
    expect(atLeast(v('2.2.4'), '2.2.3')).toBe(true);
    expect(atLeast(v('2.2.3-beta'), '2.2.3')).toBe(false);
    expect(atLeast(v('2.2.2'), '2.2.3')).toBe(false);
    expect(atLeast(v('2.2.2-hotfix'), '2.2.3')).toBe(false);
  });
});

describe('imageTag and versionOfImage', () => {
  it('imageTag puts the v back', () => {
    expect(imageTag(v('2.4.23'))).toBe('v2.4.23');
    expect(imageTag(v('v2.5.0-beta'))).toBe('v2.5.0-beta');
  });

  it.each([
    ['milvusdb/milvus:v2.1.4', '2.1.4'],
    ['milvusdb/milvus:2.4.23', '2.4.23'],
    ['harbor.example.com:5000/ai/milvus:v2.4.13-hotfix', '2.4.13-hotfix'],
    ['milvusdb/milvus:v2.4.23@sha256:0123456789abcdef', '2.4.23'],
  ])('reads the version of %s', (image, text) => {
    expect(versionOfImage(image)?.text).toBe(text);
  });

  it.each([
    'milvusdb/milvus',
    'milvusdb/milvus:latest',
    'localhost:5000/milvusdb/milvus',
    'milvusdb/milvus@sha256:0123456789abcdef',
    'milvusdb/milvus:master-20240101-abcdef',
  ])('finds no version in %s', (image) => {
    expect(versionOfImage(image)).toBeNull();
  });
});
