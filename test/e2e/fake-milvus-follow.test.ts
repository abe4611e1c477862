/**
 * The fake Milvus following a release on the control plane (issue 26): what the product's reader
 * (the official SDK) sees of Milvus changes with the release's pods, as a real Milvus's would.
 * The release is the fixture chart at 2.5.16 (mixcoord) with a streamingnode; the hops are made
 * with kubectl, Milvus's 2.6 order (mixcoord, streamingnode) but the proxy BEFORE the querynode:
 * the mistake of milvus-io/milvus#42492, which the canary must catch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SdkMilvusDataReader } from '../../src/cluster/milvus-data.js';
import type { CanaryRows } from '../../src/upgrade/data-snapshot.js';
import { kubectl } from '../harness/control-plane.js';
import { startFakeMilvus, type FakeMilvus } from '../harness/fake-milvus.js';
import { followRelease, knobConfigMapName, type Following } from '../harness/fake-milvus/follow.js';
import { KNOB_ANNOTATIONS } from '../harness/fake-milvus/release-rules.js';
import { cluster, installRelease, newNamespace, waitSettled } from './helpers.js';

const RELEASE = 'follow';
const reader = new SdkMilvusDataReader({ callTimeoutMs: 5_000, canaryTimeoutMs: 1_500 });

describe('the fake Milvus follows the release\'s pods', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  let milvus: FakeMilvus;
  let following: Following;
  beforeAll(async () => {
    ns = await newNamespace('e2e-mfollow');
    await installRelease(ns.name, RELEASE, '4.2.58', { 'streaming.enabled': 'true' });
    milvus = await startFakeMilvus({ version: 'v0.0.0-not-followed', collections: [{ name: 'books', loadState: 'Loaded', rowCount: 500 }] });
    following = await followRelease(milvus, { kubeconfig: cluster().kubeconfig, namespace: ns.name, release: RELEASE });
  });
  afterAll(async () => {
    following?.stop();
    await milvus?.close();
    await ns?.cleanup();
  });

  const k = (args: string[]) => kubectl(cluster(), [...args, '-n', ns.name]);
  const setImage = (component: string, tag: string) => k(['set', 'image', `deployment/${RELEASE}-milvus-${component}`, `${component}=milvusdb/milvus:${tag}`]);
  const rolledOut = (component: string) => k(['rollout', 'status', `deployment/${RELEASE}-milvus-${component}`, '--timeout', '90s']);
  const endpoint = () => ({ address: milvus.address });
  const snapshot = () => reader.snapshot(endpoint());
  const poll = <T>(fn: () => Promise<T> | T, timeout = 30_000) => expect.poll(fn, { timeout, interval: 200 });
  let canary: CanaryRows;

  it('says the version of the Ready proxy, and serves the canary', async () => {
    await poll(async () => (await snapshot()).serverVersion).toBe('v2.5.16');
    canary = (await reader.pickCanary(endpoint(), 'books', 3))!;
    expect(canary).toMatchObject({ ids: ['1', '2', '3'], vectorField: 'vector' });
    expect(await reader.probe(endpoint(), canary)).toEqual({ found: 3, searchHits: 3 });
  });

  it('the knob ConfigMap makes loaded collections stick in Loading from its version on; gone, they load again', async () => {
    await k(['create', 'configmap', knobConfigMapName(RELEASE)]);
    await k(['annotate', 'configmap', knobConfigMapName(RELEASE), `${KNOB_ANNOTATIONS.stuckLoadingFrom}=2.6.0`]);
    // From 2.6.0: the 2.5.16 release is not concerned (a read after the annotation).
    expect(await following.refresh()).toMatchObject({ serverVersion: 'v2.5.16', loadsStuck: false });
    expect((await snapshot()).collections[0]?.loadState).toBe('loaded');
    await k(['annotate', 'configmap', knobConfigMapName(RELEASE), '--overwrite', `${KNOB_ANNOTATIONS.stuckLoadingFrom}=2.5.16`]);
    await poll(async () => (await snapshot()).collections[0]?.loadState).toBe('loading');
    await expect(reader.probe(endpoint(), canary)).rejects.toThrow(`Milvus at ${milvus.address}: Query of collection books failed: collection not loaded[collection=books]`);
    await k(['delete', 'configmap', knobConfigMapName(RELEASE)]);
    await poll(async () => (await snapshot()).collections[0]?.loadState).toBe('loaded');
  });

  it('knobs for rows that went missing and for queries that fail: the canary sees both', async () => {
    await k(['create', 'configmap', knobConfigMapName(RELEASE)]);
    await k(['annotate', 'configmap', knobConfigMapName(RELEASE), `${KNOB_ANNOTATIONS.rowsDropFrom}=2.5.0`]);
    await poll(async () => (await snapshot()).collections[0]?.rowCount).toBe(250);
    // Every other row is gone: of keys 1, 2, 3 only 2 is left.
    expect(await reader.probe(endpoint(), canary)).toEqual({ found: 1, searchHits: 3 });
    await k(['annotate', 'configmap', knobConfigMapName(RELEASE), `${KNOB_ANNOTATIONS.queriesFailFrom}=2.5.16`]);
    await poll(() => reader.probe(endpoint(), canary).then(() => 'answered', (e: Error) => e.message)).toMatch(/Query of collection books failed: fail to query on all shard leaders/);
    await k(['delete', 'configmap', knobConfigMapName(RELEASE)]);
    await poll(() => reader.probe(endpoint(), canary)).toEqual({ found: 3, searchHits: 3 });
  });

  it('a 2.6 proxy with the querynode still on 2.5: the version follows, and the canary\'s query times out (#42492) until the querynode is 2.6 too', async () => {
    // 2.6 streamingnodes become Ready only with a 2.6 mixcoord (the fake kubelet's rule).
    await setImage('mixcoord', 'v2.6.15');
    await setImage('streamingnode', 'v2.6.15');
    await rolledOut('mixcoord');
    await rolledOut('streamingnode');
    await setImage('proxy', 'v2.6.15');
    await rolledOut('proxy');
    await poll(async () => (await snapshot()).serverVersion).toBe('v2.6.15');
    // Loads do not hang: a Ready 2.6 streamingnode serves; only the old querynode is in the way.
    await poll(() => following.behaviour.loadsStuck).toBe(false);
    expect((await snapshot()).collections[0]?.loadState).toBe('loaded');
    const began = Date.now();
    const err = await reader.probe(endpoint(), canary).then(() => null, (e: unknown) => e as Error);
    expect(err?.message).toMatch(new RegExp(`^Milvus at ${milvus.address}: Query of collection books failed: .*DEADLINE_EXCEEDED`));
    expect(Date.now() - began).toBeLessThan(10_000);
    expect(following.behaviour.why.join('\n')).toMatch(/querynode .* older version \(milvus-io\/milvus#42492\)/);

    await setImage('querynode', 'v2.6.15');
    await rolledOut('querynode');
    // Old querynodes in graceful stop still serve the new proxy (etcd sessions): wait them out.
    await waitSettled(ns.name, RELEASE);
    await poll(() => reader.probe(endpoint(), canary)).toEqual({ found: 3, searchHits: 3 });
  });

  it('no Ready proxy: Milvus cannot be reached', async () => {
    await k(['scale', `deployment/${RELEASE}-milvus-proxy`, '--replicas=0']);
    await poll(() => following.behaviour.unavailable).toBe(true);
    await expect(snapshot()).rejects.toThrow(`Milvus at ${milvus.address} cannot be read`);
  });
});
