/**
 * Issue 26, first part, from a terminal: `status --milvus-address` reads Milvus itself with the
 * official SDK (here the fake Milvus, the SDK's own protocol over real gRPC) beside what helm and
 * Kubernetes say; credentials come from the environment and are never printed; an unreachable
 * Milvus is said, not skipped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeMilvus, type FakeMilvus } from '../harness/fake-milvus.js';
import { cli, installRelease, newNamespace } from './helpers.js';

describe('status --milvus-address', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  let milvus: FakeMilvus;
  beforeAll(async () => {
    ns = await newNamespace('e2e-mstatus');
    await installRelease(ns.name, 'seen', '4.1.24');
    milvus = await startFakeMilvus({ version: 'v2.3.11', collections: [{ name: 'books', loadState: 'Loaded', rowCount: 1200 }, { name: 'drafts', loadState: 'NotLoad', rowCount: 7 }] });
  });
  afterAll(async () => {
    await milvus?.close();
    await ns?.cleanup();
  });

  it('shows every collection with its load state and rows, in text and in a JSON milvus block; the password stays out of the output', async () => {
    const env = { MILVUS_USER: 'root', MILVUS_PASSWORD: 'pw-not-to-print' };
    const text = await cli(['status', 'seen', '-n', ns.name, '--milvus-address', milvus.address], env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/milvus: v2\.3\.11, healthy, 2 collection\(s\) \(1 loaded, 1,207 rows\)/);
    expect(text.stdout).toMatch(/books +loaded +1,200 rows/);
    const json = await cli(['status', 'seen', '-n', ns.name, '--milvus-address', milvus.address, '--json'], env);
    expect(JSON.parse(json.stdout).milvus).toMatchObject({ serverVersion: 'v2.3.11', healthy: true, collections: [{ name: 'books', loadState: 'loaded', rowCount: 1200 }, { name: 'drafts', loadState: 'not-loaded', rowCount: 7 }] });
    expect(milvus.calls.some((c) => c.authorization === Buffer.from('root:pw-not-to-print').toString('base64'))).toBe(true);
    for (const out of [text, json]) expect(out.stdout + out.stderr).not.toContain('pw-not-to-print');
  });

  it('an unreachable Milvus is said ("data not checked"), and a bad address is refused with exit 2', async () => {
    const gone = await startFakeMilvus();
    const address = gone.address;
    await gone.close();
    const down = await cli(['status', 'seen', '-n', ns.name, '--milvus-address', address]);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toContain(`milvus: data not checked: Milvus at ${address} cannot be read`);
    const bad = await cli(['status', 'seen', '-n', ns.name, '--milvus-address', 'no port; rm -rf /']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--milvus-address .* is not host:port/);
  });
});
