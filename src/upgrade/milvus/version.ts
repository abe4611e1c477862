import semver from 'semver';
import { InputError, showInput } from '../errors.js';
import { tagOf } from './image-ref.js';

/**
 * A Milvus version as people and image tags write it: `2.4.23`, `v2.4.23`, `2.5.0-beta`,
 * `2.4.13-hotfix`. Ordered like semver, except that `-hotfix…` suffixes are builds AFTER the
 * plain release (Milvus publishes them as fixes), while `-beta`, `-rc…` are before it.
 */
export interface MilvusVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** The suffix after `-`, or '' (e.g. `beta`, `hotfix`, `rc.1`). */
  readonly suffix: string;
  /** Normalised text without the leading `v`: `2.4.23`, `2.5.0-beta`. */
  readonly text: string;
}

// An image flavour's suffix (ImageFlavour).
const FLAVOUR_SUFFIX = /-(gpu)$/;
const VERSION_RE = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z][0-9A-Za-z.-]{0,40}))?$/;

export function tryParseVersion(input: string): MilvusVersion | null {
  const m = VERSION_RE.exec(input.trim());
  if (!m) return null;
  const [, major, minor, patch, suffix = ''] = m;
  const text = `${Number(major)}.${Number(minor)}.${Number(patch)}${suffix ? `-${suffix}` : ''}`;
  if (!semver.valid(text)) return null;
  return { major: Number(major), minor: Number(minor), patch: Number(patch), suffix, text };
}

export function parseVersion(input: string): MilvusVersion {
  const flavoured = FLAVOUR_SUFFIX.exec(input.trim());
  if (flavoured && tryParseVersion(input.trim().slice(0, -flavoured[0].length))) {
    throw new InputError(`"${showInput(input)}" names an image flavour, not a Milvus version`, [
      `ask for ${input.trim().slice(0, -flavoured[0].length).replace(/^v/, '')}: a release on ${flavoured[1]} images stays on ${flavoured[1]} images`,
    ]);
  }
  const v = tryParseVersion(input);
  if (!v) {
    throw new InputError(
      `"${showInput(input)}" is not a Milvus version`,
      ['write it like 2.4.23, v2.4.23, 2.5.0-beta or 2.4.13-hotfix'],
    );
  }
  return v;
}

function isPostRelease(v: MilvusVersion): boolean {
  return /^hotfix/i.test(v.suffix);
}

export function compareVersions(a: MilvusVersion, b: MilvusVersion): number {
  const base = semver.compare(baseText(a), baseText(b));
  if (base !== 0) return base;
  const rank = (v: MilvusVersion) => (v.suffix === '' ? 1 : isPostRelease(v) ? 2 : 0);
  const r = rank(a) - rank(b);
  if (r !== 0) return Math.sign(r);
  if (a.suffix === b.suffix) return 0;
  if (rank(a) === 0) return semver.compare(a.text, b.text);
  return a.suffix < b.suffix ? -1 : 1;
}

/** The first version of the 2.6 line (pre-releases included): there is no way back below it. */
export const FIRST_26 = parseVersion('2.6.0-0');

export const isNewer = (a: MilvusVersion, b: MilvusVersion) => compareVersions(a, b) > 0;
export const sameVersion = (a: MilvusVersion, b: MilvusVersion) => compareVersions(a, b) === 0;
export const sameLine = (a: MilvusVersion, b: MilvusVersion) =>
  a.major === b.major && a.minor === b.minor;

/**
 * Builds of one Milvus version for other hardware, tagged `v<version>-<flavour>` (`v2.4.17-gpu`):
 * a flavour, not a pre-release. A release keeps its flavour through every path.
 */
export type ImageFlavour = 'gpu';

/** An image tag's version and flavour: `v2.4.17-gpu` -> 2.4.17, gpu; null when it is no version. */
export function parseImageTag(tag: string): { readonly version: MilvusVersion; readonly flavour: ImageFlavour | null } | null {
  const m = FLAVOUR_SUFFIX.exec(tag.trim());
  const version = tryParseVersion(m ? tag.trim().slice(0, -m[0].length) : tag);
  return version ? { version, flavour: m ? (m[1] as ImageFlavour) : null } : null;
}

/** `2.4.23` -> `v2.4.23` (`v2.4.23-gpu` for the GPU flavour): the tag Milvus images carry. */
export const imageTag = (v: MilvusVersion, flavour: ImageFlavour | null = null) => `v${v.text}${flavour ? `-${flavour}` : ''}`;

/** True when `v` is at least `major.minor.patch` (suffixes ignored except pre-releases). */
export function atLeast(v: MilvusVersion, text: string): boolean {
  return compareVersions(v, parseVersion(text)) >= 0;
}

function baseText(v: MilvusVersion): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}


/** The version carried by an image reference (`milvusdb/milvus:v2.1.4` -> 2.1.4, `...:v2.4.17-gpu` -> 2.4.17), if any. */
export function versionOfImage(image: string): MilvusVersion | null {
  const tag = tagOf(image);
  return tag === null ? null : (parseImageTag(tag)?.version ?? null);
}

/** The flavour of an image (`gpu` for `milvusdb/milvus:v2.4.17-gpu`), null for the plain build. */
export function flavourOfImage(image: string): ImageFlavour | null {
  const tag = tagOf(image);
  return tag === null ? null : (parseImageTag(tag)?.flavour ?? null);
}
