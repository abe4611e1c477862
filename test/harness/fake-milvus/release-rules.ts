/**
 * What a release's pods say about how its Milvus behaves, as a real Milvus would: the rules the
 * fake Milvus follows when it follows a release (follow.ts reads the pods; this decides). Pure:
 * no I/O, unit-tested in test/unit/fake-milvus-rules.test.ts.
 *
 * - The server's version is the image tag of a Ready proxy (or standalone) pod, without its
 *   flavour (`v2.6.15-gpu` -> v2.6.15); only Milvus images count (a repository named `milvus`:
 *   another chart's `component: proxy`, Pulsar's, is not Milvus's); several Ready proxies on different versions (a rollout):
 *   the newest, as a client that reaches the new proxy sees it.
 * - No Ready proxy or standalone pod, or only terminating ones (a Service no longer sends to
 *   them): Milvus cannot be reached, every call fails UNAVAILABLE.
 * - "2.6" below means the streaming architecture: 2.6 and every later line (3.x) alike. Milvus
 *   3.0 keeps 2.6's topology (mixcoord, streamingnode, no indexnode; the docs' 2.6 -> 3.0 upgrade
 *   is image-only), so the rules about it hold for 3.x as written. Between 2.6 and 3.x the fake
 *   knows no rule: a 3.0 proxy with 2.6 querynodes or a 2.6 streamingnode (helm rolls every
 *   Deployment at once, so a 2.6 -> 3.0 upgrade runs mixed for a moment) serves normally; the
 *   docs name no such hazard, and a made-up one would only shape what the tests prove.
 * - A 2.6 proxy while any querynode pod is older than 2.6, terminating ones included (they serve
 *   through etcd sessions until gone): queries and searches hang until the client's deadline
 *   (milvus-io/milvus#42492).
 * - A cluster (a proxy, not a standalone) on 2.6 without a Ready 2.6 streamingnode: loaded
 *   collections report Loading (loads hang: 2.6 reads its channels through streamingnodes).
 * - Knobs, annotations on the ConfigMap `<release>-fake-milvus` (KNOB_ANNOTATIONS), each a
 *   version from which (the serving version at least that) Milvus misbehaves: collections stuck
 *   loading, queries and searches failing with a Milvus status, every other row gone.
 */
import { repositoryOf } from '../../../src/upgrade/milvus/image-ref.js';
import { compareVersions, tryParseVersion, versionOfImage, type MilvusVersion } from '../../../src/upgrade/milvus/version.js';

export interface PodView {
  readonly name: string;
  /** The pod's `component` label (proxy, standalone, querynode, streamingnode, ...). */
  readonly component: string;
  /** The image of its Milvus container. */
  readonly image: string;
  /** Its Ready condition. */
  readonly ready: boolean;
  /** It has a deletionTimestamp (graceful stop under way). */
  readonly terminating: boolean;
}

export const KNOB_ANNOTATIONS = {
  stuckLoadingFrom: 'fake-milvus.test/stuck-loading-from',
  queriesFailFrom: 'fake-milvus.test/queries-fail-from',
  rowsDropFrom: 'fake-milvus.test/rows-drop-from',
} as const;

export type ReleaseKnobs = { readonly [K in keyof typeof KNOB_ANNOTATIONS]?: string };

export interface ReleaseBehaviour {
  /** `v2.4.23`; null when no proxy serves. */
  readonly serverVersion: string | null;
  readonly unavailable: boolean;
  readonly dataCallsTimeOut: boolean;
  readonly loadsStuck: boolean;
  readonly queriesFail: boolean;
  readonly rowsDropped: boolean;
  /** One line per rule that applies (shown in a failing test's output). */
  readonly why: readonly string[];
}

const FIRST_26 = tryParseVersion('2.6.0-0') as MilvusVersion;

/** The knobs a ConfigMap's annotations set (others ignored). */
export function knobsFrom(annotations: Readonly<Record<string, string>> | undefined): ReleaseKnobs {
  const knobs: Record<string, string> = {};
  for (const [knob, annotation] of Object.entries(KNOB_ANNOTATIONS)) {
    const value = annotations?.[annotation];
    if (value !== undefined) knobs[knob] = value;
  }
  return knobs;
}

/** On the streaming architecture: 2.6 or any later line (v3.0.3 too). */
export const isStreamingEra = (v: MilvusVersion | null) => v !== null && compareVersions(v, FIRST_26) >= 0;

const isMilvusImage = (image: string) => /(^|\/)milvus$/.test(repositoryOf(image));

export function behaviourOf(allPods: readonly PodView[], knobs: ReleaseKnobs = {}): ReleaseBehaviour {
  const why: string[] = [];
  const pods = allPods.filter((p) => isMilvusImage(p.image));
  const serving = pods
    .filter((p) => (p.component === 'proxy' || p.component === 'standalone') && p.ready && !p.terminating)
    .map((p) => ({ pod: p, version: versionOfImage(p.image) }))
    .filter((s): s is { pod: PodView; version: MilvusVersion } => s.version !== null)
    .sort((a, b) => compareVersions(b.version, a.version));
  const top = serving[0];
  if (!top) {
    return { serverVersion: null, unavailable: true, dataCallsTimeOut: false, loadsStuck: false, queriesFail: false, rowsDropped: false, why: ['no Ready proxy or standalone pod'] };
  }
  const version = top.version;
  let dataCallsTimeOut = false;
  let loadsStuck = false;
  if (isStreamingEra(version)) {
    const oldQuerynodes = pods.filter((p) => p.component === 'querynode' && !isStreamingEra(versionOfImage(p.image)));
    if (oldQuerynodes.length > 0) {
      dataCallsTimeOut = true;
      why.push(`proxy ${top.pod.name} on ${version.text} while querynode ${oldQuerynodes.map((p) => p.name).join(', ')} runs an older version (milvus-io/milvus#42492)`);
    }
    const streaming = pods.some((p) => p.component === 'streamingnode' && p.ready && !p.terminating && isStreamingEra(versionOfImage(p.image)));
    if (top.pod.component === 'proxy' && !streaming) {
      loadsStuck = true;
      why.push(`proxy on ${version.text} and no Ready streamingnode on 2.6 or later: loads hang`);
    }
  }
  const from = (knob: keyof ReleaseKnobs): boolean => {
    const text = knobs[knob];
    if (text === undefined) return false;
    const at = tryParseVersion(text);
    if (!at) {
      why.push(`knob ${KNOB_ANNOTATIONS[knob]}: "${text}" is no version, ignored`);
      return false;
    }
    const on = compareVersions(version, at) >= 0;
    if (on) why.push(`${KNOB_ANNOTATIONS[knob]}: ${text}, serving ${version.text}`);
    return on;
  };
  const stuck = from('stuckLoadingFrom');
  const queriesFail = from('queriesFailFrom');
  const rowsDropped = from('rowsDropFrom');
  return {
    serverVersion: `v${version.text}`,
    unavailable: false,
    dataCallsTimeOut,
    loadsStuck: loadsStuck || stuck,
    queriesFail,
    rowsDropped,
    why,
  };
}
