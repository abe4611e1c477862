/**
 * The 3.0 line (SPEC §10; Milvus docs "Upgrade Milvus Cluster with Helm Chart", 2.6.x -> 3.0):
 * validated from Milvus 2.6.20 on chart 5.0.22; no 3.0 chart exists, so the installed chart is
 * kept and only `image.all.tag` changes; the release must run MixCoord and StreamingNode and no
 * IndexNode; Woodpecker stays embedded; no image rollback. The facts, once, as data.
 */
import { compareChartVersions } from './charts.js';
import { compareVersions, parseVersion, tryParseVersion, type MilvusVersion } from './version.js';

export const FIRST_30 = parseVersion('3.0.0-0');

/** Where the docs validated the image-only upgrade from. */
export const BASELINE_30 = Object.freeze({ milvus: parseVersion('2.6.20'), chart: '5.0.22' });

export const GUIDE_30 = 'the 2.6-to-3.0 guide of the Milvus docs ("Upgrade Milvus Cluster with Helm Chart")';

/** True when `from` is before 3.0 and `to` in it or later (a version that cannot be read: false). */
export function crossesInto30(from: MilvusVersion | string, to: MilvusVersion | string): boolean {
  const f = typeof from === 'string' ? tryParseVersion(from) : from;
  const t = typeof to === 'string' ? tryParseVersion(to) : to;
  return f !== null && t !== null && compareVersions(f, FIRST_30) < 0 && compareVersions(t, FIRST_30) >= 0;
}

/**
 * A target the guide covers: 3.0.x (`image.all.tag=v3.0.x`). No chart carries 3.x, so a later
 * line (or a version that does not exist) is not planned as an image-only hop: it is an unknown
 * version, refused like any other.
 */
export function isLine30(v: MilvusVersion): boolean {
  return v.major === 3 && v.minor === 0;
}

/** The installed chart is new enough to carry 3.0 images (the docs' baseline or later). */
export function chartCarries30(chartVersion: string): boolean {
  return compareChartVersions(chartVersion, BASELINE_30.chart) >= 0;
}

/** The release's 2.6 version is the baseline or later. */
export function versionCarries30(v: MilvusVersion): boolean {
  return v.major === 2 && v.minor === 6 && compareVersions(v, BASELINE_30.milvus) >= 0;
}

/**
 * The guide's topology gate: why a cluster may not take the image-only upgrade, one line each;
 * empty when it may. A standalone release runs every role in one pod: nothing to check.
 */
export function topologyProblems(mode: 'cluster' | 'standalone', components: readonly string[]): string[] {
  if (mode !== 'cluster') return [];
  const out: string[] = [];
  if (!components.includes('mixcoord')) out.push('it runs no MixCoord');
  if (!components.includes('streamingnode')) out.push('it runs no StreamingNode');
  if (components.includes('indexnode')) out.push('it runs an IndexNode');
  return out;
}

/** How Woodpecker runs, from the release's computed values (`helm get values --all`). */
export type WoodpeckerMode = 'embedded' | 'service' | 'unknown';

export function woodpeckerMode(values: Readonly<Record<string, unknown>>): WoodpeckerMode {
  const streaming = asRecord(values.streaming);
  const embedded = asRecord(streaming?.woodpecker)?.embedded;
  const enabled = asRecord(values.woodpecker)?.enabled;
  // The chart's rule (milvus.woodpecker.external.enabled): a service only when both say so.
  if (embedded === false && enabled === true) return 'service';
  if (embedded === undefined && enabled === undefined) return 'unknown';
  return 'embedded';
}

function asRecord(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

export const NO_ROLLBACK_FROM_30 =
  'from 3.0 there is no image rollback: after 3.0 writes data, an image-only rollback can fail to read the updated state (Milvus docs; the project\'s own QA left collections unserviceable, milvus-io/milvus#51788)';

/** What the guide says to do after the upgrade, before any 3.0 feature. */
export const AFTER_30 =
  'after 3.0: verify every workload is ready on the new image and the collections answer queries and searches before enabling any 3.0 feature; Storage V3, once written, cannot be downgraded (the bot enables none)';
