/**
 * Availability into 2.6, measured (issue 26): the same release shape (2.5.16, chart 4.2.58) taken
 * to 2.6.15 by the ordered path and by helm-parallel, each with a fake Milvus following its pods
 * over real gRPC. The worker's canary loop (a query and a search a second) records the longest
 * gap and the failures of both; the ordered path, which never runs a 2.6 proxy beside a 2.5
 * querynode, must not see the mixed-version failures (milvus-io/milvus#42492) that plain helm can.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeMilvus, type FakeMilvus } from '../harness/fake-milvus.js';
import { followRelease, type Following } from '../harness/fake-milvus/follow.js';
import type { Availability } from '../../src/upgrade/data-snapshot.js';
import { cli, cluster, installRelease, newNamespace } from './helpers.js';
import { diffSnapshots, snapshotRelease } from './release-snapshot.js';

interface Finished {
  readonly result: string;
  readonly availability: Availability | { notMeasured: string } | null;
}

/** The CLI's last JSON document (after the events, one per line). */
function finished(stdout: string): Finished {
  const at = stdout.lastIndexOf('{\n  "result"');
  expect(at, stdout.slice(-2000)).toBeGreaterThanOrEqual(0);
  return JSON.parse(stdout.slice(at)) as Finished;
}

describe('availability into 2.6: ordered path and helm-parallel', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  const fakes: FakeMilvus[] = [];
  const follows: Following[] = [];
  beforeAll(async () => {
    ns = await newNamespace('e2e-avail26');
    await Promise.all([installRelease(ns.name, 'ord', '4.2.58'), installRelease(ns.name, 'par', '4.2.58')]);
  });
  afterAll(async () => {
    for (const f of follows) f.stop();
    await Promise.all(fakes.map((f) => f.close()));
    await ns?.cleanup();
  });

  async function upgrade(release: string, strategy: string[]): Promise<{ availability: Availability; stdout: string }> {
    const milvus = await startFakeMilvus({ collections: [{ name: 'books', loadState: 'Loaded', rowCount: 800 }] });
    fakes.push(milvus);
    const following = await followRelease(milvus, { kubeconfig: cluster().kubeconfig, namespace: ns.name, release });
    follows.push(following);
    await expect.poll(async () => (await following.refresh()).serverVersion, { timeout: 30_000 }).toBe('v2.5.16');
    const r = await cli(['upgrade', release, '2.6.15', '-n', ns.name, '--yes', '--json', '--poll-ms', '200', '--milvus-address', milvus.address, '--data-timeout', '60', ...strategy], { MILVUS_DATA_CHECKS: 'required' });
    expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
    const done = finished(r.stdout);
    expect(done.result).toBe('succeeded');
    expect(done.availability && 'query' in done.availability, JSON.stringify(done.availability)).toBe(true);
    return { availability: done.availability as Availability, stdout: r.stdout };
  }

  it('the ordered path: the data gate passes and no query or search fails; helm-parallel: the mixed-version failures recorded', async () => {
    const before = await snapshotRelease(cluster().kubeconfig, ns.name, 'ord');
    const ordered = await upgrade('ord', []);
    // The whole release: StatefulSets and PVCs are the same objects (their images may move with the chart).
    const after = await snapshotRelease(cluster().kubeconfig, ns.name, 'ord');
    expect(diffSnapshots(before, after).filter((d) => d.kind !== 'Deployment' && d.field !== 'image').map((d) => d.text)).toEqual([]);
    expect(ordered.stdout).toMatch(/"detail": "Milvus v2\.6\.15 healthy, 1 loaded collection\(s\) loaded again, no row count lower, 1 canary answered"|Milvus v2\.6\.15 healthy, 1 loaded collection\(s\) loaded again/);
    expect(ordered.availability.collection).toBe('books');
    expect(ordered.availability.query.samples).toBeGreaterThan(5);
    expect(ordered.availability.query.failed, JSON.stringify(ordered.availability)).toBe(0);
    expect(ordered.availability.search?.failed, JSON.stringify(ordered.availability)).toBe(0);

    const parallel = await upgrade('par', ['--strategy', 'helm-parallel']);
    expect(parallel.availability.query.samples).toBeGreaterThan(0);
    // Both figures are there to compare; the ordered path's longest gap is one sample's interval or so.
    expect(parallel.availability.query.longestGapMs).toBeGreaterThan(0);
    // Plain helm starts the 2.6 proxy while 2.5 querynodes still run: the canary sees it.
    expect(parallel.availability.query.failed + (parallel.availability.search?.failed ?? 0), JSON.stringify(parallel.availability)).toBeGreaterThan(0);
    expect(ordered.availability.query.longestGapMs).toBeLessThan(5_000);
  });
});
