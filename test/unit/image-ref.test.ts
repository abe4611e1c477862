/** The one image-reference parser: registries with ports, digests, Docker Hub's implicit names. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalRepository, parseImageRef, repositoryOf, sameRepository, tagOf } from '../../src/upgrade/milvus/image-ref.js';
import { versionOfImage } from '../../src/upgrade/milvus/version.js';

const DIGEST = `sha256:${'a1'.repeat(32)}`;

describe('parseImageRef', () => {
  it.each([
    ['milvusdb/milvus:v2.4.23', { registry: null, path: 'milvusdb/milvus', repository: 'milvusdb/milvus', tag: 'v2.4.23', digest: null }],
    ['milvusdb/milvus', { registry: null, path: 'milvusdb/milvus', repository: 'milvusdb/milvus', tag: null, digest: null }],
    ['busybox:1.36', { registry: null, path: 'busybox', repository: 'busybox', tag: '1.36', digest: null }],
    ['localhost:5000/milvus', { registry: 'localhost:5000', path: 'milvus', repository: 'localhost:5000/milvus', tag: null, digest: null }],
    ['localhost/milvus:v2.4.1', { registry: 'localhost', path: 'milvus', repository: 'localhost/milvus', tag: 'v2.4.1', digest: null }],
    ['harbor.local:5000/ai/milvus:v2.4.13-hotfix', { registry: 'harbor.local:5000', path: 'ai/milvus', repository: 'harbor.local:5000/ai/milvus', tag: 'v2.4.13-hotfix', digest: null }],
    [`zilliz/attu:v2.4.12@${DIGEST}`, { registry: null, path: 'zilliz/attu', repository: 'zilliz/attu', tag: 'v2.4.12', digest: DIGEST }],
    [`harbor.local:5000/ai/milvus@${DIGEST}`, { registry: 'harbor.local:5000', path: 'ai/milvus', repository: 'harbor.local:5000/ai/milvus', tag: null, digest: DIGEST }],
    ['[::1]:5000/milvus:v2.5.4', { registry: '[::1]:5000', path: 'milvus', repository: '[::1]:5000/milvus', tag: 'v2.5.4', digest: null }],
  ])('%s', (image, expected) => {
    expect(parseImageRef(image)).toEqual(expected);
  });

  it.each(['', ' ', 'Milvusdb/milvus:v1', 'milvusdb/milvus:', 'milvusdb/milvus:-x', 'milvusdb//milvus', 'milvusdb/milvus@sha256:', 'a/b@notadigest', `x:${'a'.repeat(129)}`])(
    '%j is not an image reference',
    (image) => {
      expect(parseImageRef(image)).toBeNull();
    },
  );

  const component = fc.stringMatching(/^[a-z0-9]{1,6}([._-][a-z0-9]{1,4})?$/);
  const registry = fc.option(
    fc.tuple(fc.stringMatching(/^[a-z][a-z0-9]{0,8}\.[a-z]{2,4}$/), fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined })).map(([h, p]) => (p ? `${h}:${p}` : h)),
    { nil: null },
  );
  const tag = fc.option(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/), { nil: null });
  const digest = fc.option(fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}`), { nil: null });

  it('reads back every part of any reference it is given (property)', () => {
    fc.assert(
      fc.property(registry, fc.array(component, { minLength: 1, maxLength: 3 }), tag, digest, (reg, parts, t, d) => {
        const path = parts.join('/');
        // A first component with a dot would be taken for a registry, as Docker does.
        fc.pre(reg !== null || parts.length === 1 || !parts[0]!.includes('.'));
        const text = `${reg ? `${reg}/` : ''}${path}${t ? `:${t}` : ''}${d ? `@${d}` : ''}`;
        const ref = parseImageRef(text);
        expect(ref).toEqual({ registry: reg, path, repository: reg ? `${reg}/${path}` : path, tag: t, digest: d });
        expect(repositoryOf(text)).toBe(ref!.repository);
        expect(tagOf(text)).toBe(t);
      }),
    );
  });

  it('never throws, whatever the text (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        const ref = parseImageRef(s);
        if (ref) expect(ref.repository.length).toBeGreaterThan(0);
      }),
    );
  });
});

describe('repositories', () => {
  it('a port is not a tag', () => {
    expect(repositoryOf('localhost:5000/milvusdb/milvus')).toBe('localhost:5000/milvusdb/milvus');
    expect(tagOf('localhost:5000/milvusdb/milvus')).toBeNull();
    expect(versionOfImage('localhost:5000/milvusdb/milvus')).toBeNull();
    expect(versionOfImage('localhost:5000/milvusdb/milvus:v2.4.23')?.text).toBe('2.4.23');
  });

  it("Docker Hub's implicit names compare equal; other registries and repositories do not", () => {
    expect(sameRepository('milvusdb/milvus:v2.4.23', 'docker.io/milvusdb/milvus:v2.3.11')).toBe(true);
    expect(sameRepository('busybox', 'docker.io/library/busybox:1.36')).toBe(true);
    expect(sameRepository('milvusdb/milvus:v2.4.23', 'zilliz/attu:v2.4.12')).toBe(false);
    expect(sameRepository('milvusdb/milvus', 'harbor.local:5000/milvusdb/milvus')).toBe(false);
    expect(canonicalRepository(`index.docker.io/milvusdb/milvus@${DIGEST}`)).toBe('docker.io/milvusdb/milvus');
  });
});
