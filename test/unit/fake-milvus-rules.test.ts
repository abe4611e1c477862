/**
 * The fake Milvus's rules when it follows a release (test/harness/fake-milvus/release-rules.ts):
 * what the pods say -> how Milvus behaves. The e2e tests rely on them; here each rule alone.
 */
import { describe, expect, it } from 'vitest';
import { tryParseVersion } from '../../src/upgrade/milvus/version.js';
import { behaviourOf, isStreamingEra, knobsFrom, type PodView } from '../harness/fake-milvus/release-rules.js';

const pod = (component: string, tag: string, more: Partial<PodView> = {}): PodView => ({
  name: `r-milvus-${component}-${tag}`,
  component,
  image: `milvusdb/milvus:${tag}`,
  ready: true,
  terminating: false,
  ...more,
});

describe('what the release\'s pods say Milvus does', () => {
  it('the version is the Ready proxy\'s tag, v-prefixed, without the GPU flavour; standalone counts as a proxy', () => {
    expect(behaviourOf([pod('proxy', 'v2.4.23'), pod('querynode', 'v2.4.23')])).toMatchObject({ serverVersion: 'v2.4.23', unavailable: false, dataCallsTimeOut: false, loadsStuck: false });
    expect(behaviourOf([pod('standalone', 'v2.4.17-gpu')]).serverVersion).toBe('v2.4.17');
    expect(behaviourOf([pod('proxy', 'v2.4.23', { ready: false }), pod('proxy', 'v2.3.11')]).serverVersion).toBe('v2.3.11');
    // Mid-rollout, the newest Ready proxy speaks (a client reaching it sees that version).
    expect(behaviourOf([pod('proxy', 'v2.3.11'), pod('proxy', 'v2.4.23')]).serverVersion).toBe('v2.4.23');
    // Only Milvus images: a Pulsar proxy is no Milvus proxy; a mirror of Milvus's image is.
    expect(behaviourOf([pod('proxy', 'v2.4.23'), { ...pod('proxy', ''), image: 'apachepulsar/pulsar:3.0.7' }]).serverVersion).toBe('v2.4.23');
    expect(behaviourOf([{ ...pod('proxy', ''), image: 'apachepulsar/pulsar:3.0.7' }]).unavailable).toBe(true);
    expect(behaviourOf([{ ...pod('proxy', ''), image: 'registry.example:5000/mirror/milvusdb/milvus:v2.4.23' }]).serverVersion).toBe('v2.4.23');
  });

  it('no Ready proxy (none, not ready, or terminating): unavailable, no version', () => {
    for (const pods of [[], [pod('querynode', 'v2.4.23')], [pod('proxy', 'v2.4.23', { ready: false })], [pod('proxy', 'v2.4.23', { terminating: true })]]) {
      expect(behaviourOf(pods)).toMatchObject({ serverVersion: null, unavailable: true });
    }
  });

  it('a 2.6 proxy with a querynode still older, terminating included, hangs queries (#42492); all on 2.6 does not', () => {
    const streaming = pod('streamingnode', 'v2.6.15');
    const hung = behaviourOf([pod('proxy', 'v2.6.15'), pod('querynode', 'v2.5.16', { terminating: true, ready: false }), pod('querynode', 'v2.6.15'), streaming]);
    expect(hung).toMatchObject({ serverVersion: 'v2.6.15', dataCallsTimeOut: true, loadsStuck: false });
    expect(hung.why.join('\n')).toContain('42492');
    expect(behaviourOf([pod('proxy', 'v2.6.15'), pod('querynode', 'v2.6.15-gpu'), streaming]).dataCallsTimeOut).toBe(false);
    // The old proxy with a new querynode is the supported order: no hang.
    expect(behaviourOf([pod('proxy', 'v2.5.16'), pod('querynode', 'v2.6.15')]).dataCallsTimeOut).toBe(false);
  });

  it('a 2.6 cluster without a Ready 2.6 streamingnode keeps loads hanging; a 2.6 standalone needs none', () => {
    expect(behaviourOf([pod('proxy', 'v2.6.15'), pod('querynode', 'v2.6.15')]).loadsStuck).toBe(true);
    expect(behaviourOf([pod('proxy', 'v2.6.15'), pod('querynode', 'v2.6.15'), pod('streamingnode', 'v2.6.15', { ready: false })]).loadsStuck).toBe(true);
    expect(behaviourOf([pod('proxy', 'v2.6.15'), pod('querynode', 'v2.6.15'), pod('streamingnode', 'v2.5.16')]).loadsStuck).toBe(true);
    expect(behaviourOf([pod('proxy', 'v2.6.15'), pod('querynode', 'v2.6.15'), pod('streamingnode', 'v2.6.15')]).loadsStuck).toBe(false);
    expect(behaviourOf([pod('standalone', 'v2.6.15')]).loadsStuck).toBe(false);
  });

  it('3.x is on the streaming architecture like 2.6: its version, the #42492 hang and the streamingnode rule hold for it', () => {
    const v = (text: string) => tryParseVersion(text);
    expect([v('2.5.16'), v('2.6.0-rc1'), v('2.6.20'), v('3.0.3'), v('3.1.0-beta'), null].map(isStreamingEra)).toEqual([false, true, true, true, true, false]);
    const all3 = ['proxy', 'mixcoord', 'querynode', 'datanode', 'streamingnode'].map((c) => pod(c, 'v3.0.3'));
    expect(behaviourOf(all3)).toMatchObject({ serverVersion: 'v3.0.3', unavailable: false, dataCallsTimeOut: false, loadsStuck: false, queriesFail: false, why: [] });
    expect(behaviourOf([pod('proxy', 'v2.6.20'), pod('proxy', 'v3.0.3'), pod('streamingnode', 'v3.0.3')]).serverVersion).toBe('v3.0.3');
    expect(behaviourOf([pod('standalone', 'v3.0.3-gpu')])).toMatchObject({ serverVersion: 'v3.0.3', loadsStuck: false });
    // A querynode from before 2.6 beside a 3.0 proxy hangs queries as beside a 2.6 one.
    expect(behaviourOf([pod('proxy', 'v3.0.3'), pod('querynode', 'v2.5.16'), pod('streamingnode', 'v3.0.3')]).dataCallsTimeOut).toBe(true);
    // A 3.0 cluster needs a Ready streamingnode too.
    expect(behaviourOf([pod('proxy', 'v3.0.3'), pod('querynode', 'v3.0.3')]).loadsStuck).toBe(true);
    expect(behaviourOf([pod('proxy', 'v3.0.3'), pod('querynode', 'v3.0.3'), pod('streamingnode', 'v3.0.3', { ready: false })]).loadsStuck).toBe(true);
  });

  it('2.6 and 3.x mixed (helm rolls every Deployment at once): no rule, Milvus serves', () => {
    // The newest Ready proxy speaks; a 2.6 streamingnode or querynode beside it is 2.6 or later.
    for (const pods of [
      [pod('proxy', 'v3.0.3'), pod('querynode', 'v2.6.20'), pod('streamingnode', 'v2.6.20')],
      [pod('proxy', 'v2.6.20'), pod('querynode', 'v3.0.3'), pod('streamingnode', 'v2.6.20')],
      [pod('proxy', 'v3.0.3'), pod('querynode', 'v3.0.3'), pod('streamingnode', 'v2.6.20'), pod('streamingnode', 'v3.0.3', { ready: false })],
    ]) {
      expect(behaviourOf(pods)).toMatchObject({ unavailable: false, dataCallsTimeOut: false, loadsStuck: false, why: [] });
    }
    // A Woodpecker pod (its own image, component woodpecker) is no Milvus pod: it neither serves nor blocks.
    const woodpecker = { ...pod('woodpecker', ''), image: 'milvusdb/woodpecker:latest' };
    expect(behaviourOf([woodpecker]).unavailable).toBe(true);
    expect(behaviourOf([pod('proxy', 'v3.0.3'), pod('streamingnode', 'v3.0.3'), woodpecker])).toMatchObject({ serverVersion: 'v3.0.3', loadsStuck: false, why: [] });
  });

  it('knobs from the ConfigMap\'s annotations act from their version on; a knob that is no version is ignored, and said', () => {
    const knobs = knobsFrom({
      'fake-milvus.test/stuck-loading-from': '2.4.5',
      'fake-milvus.test/queries-fail-from': 'v2.4.23',
      'fake-milvus.test/rows-drop-from': 'soon',
      'unrelated/annotation': 'x',
    });
    expect(knobs).toEqual({ stuckLoadingFrom: '2.4.5', queriesFailFrom: 'v2.4.23', rowsDropFrom: 'soon' });
    expect(behaviourOf([pod('proxy', 'v2.4.4')], knobs)).toMatchObject({ loadsStuck: false, queriesFail: false, rowsDropped: false });
    const on = behaviourOf([pod('proxy', 'v2.4.23')], knobs);
    expect(on).toMatchObject({ loadsStuck: true, queriesFail: true, rowsDropped: false });
    expect(on.why).toContain('knob fake-milvus.test/rows-drop-from: "soon" is no version, ignored');
    expect(behaviourOf([pod('proxy', 'v2.4.23')], knobsFrom({ 'fake-milvus.test/rows-drop-from': '2.4.23' })).rowsDropped).toBe(true);
    expect(knobsFrom(undefined)).toEqual({});
  });
});
