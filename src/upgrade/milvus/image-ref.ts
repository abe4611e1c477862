/**
 * Container image references, the one parser of the project. The grammar is the one of the
 * distribution/reference package that Docker and containerd use:
 *
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain "/" ] path-component { "/" path-component }
 *   domain    := the first component when it has a "." or a ":" (host:port) or is "localhost"
 *
 * So `harbor.local:5000/ai/milvus:v2.4.23` has registry `harbor.local:5000`, path `ai/milvus`,
 * tag `v2.4.23`; the last ":" is not always the tag's (a port, or a digest's algorithm).
 */

export interface ImageRef {
  /** The registry as written (`harbor.local:5000`), null for Docker Hub's implicit one. */
  readonly registry: string | null;
  /** The path inside the registry as written: `milvusdb/milvus`, `ai/milvus`, `busybox`. */
  readonly path: string;
  /** `registry/path` as written, without tag or digest: what the charts call the repository. */
  readonly repository: string;
  readonly tag: string | null;
  /** `sha256:<hex>`. */
  readonly digest: string | null;
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
// Real digests have 32+ hex digits; shorter ones are accepted so a truncated one still parses.
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]+$/;

/** Parses an image reference; null when it is not one (empty, upper-case path, bad tag...). */
export function parseImageRef(input: string): ImageRef | null {
  const text = input.trim();
  if (text === '' || text.length > 1024) return null;
  let rest = text;
  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return null;
  }
  // The tag follows the last ":" after the last "/": a ":" before it belongs to host:port.
  let tag: string | null = null;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return null;
  }
  const parts = rest.split('/');
  let registry: string | null = null;
  const first = parts[0]!;
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    if (!DOMAIN.test(first)) return null;
    registry = first;
    parts.shift();
  }
  if (parts.length === 0 || !parts.every((p) => PATH_COMPONENT.test(p))) return null;
  const path = parts.join('/');
  return { registry, path, repository: registry ? `${registry}/${path}` : path, tag, digest };
}

/** The repository of an image (`milvusdb/milvus` of `milvusdb/milvus:v2.4.23`); the text itself when unparsable. */
export function repositoryOf(image: string): string {
  return parseImageRef(image)?.repository ?? image;
}

/** The tag of an image, null when it has none (or is not an image reference). */
export function tagOf(image: string): string | null {
  return parseImageRef(image)?.tag ?? null;
}

/**
 * Docker Hub's implicit names made explicit, so `milvusdb/milvus`, `docker.io/milvusdb/milvus`
 * and `index.docker.io/milvusdb/milvus` compare equal (and `busybox` = `library/busybox`).
 */
export function canonicalRepository(image: string): string {
  const ref = parseImageRef(image);
  if (!ref) return image;
  const hub = ref.registry === null || ref.registry === 'docker.io' || ref.registry === 'index.docker.io' || ref.registry === 'registry-1.docker.io';
  if (!hub) return ref.repository;
  return `docker.io/${ref.path.includes('/') ? ref.path : `library/${ref.path}`}`;
}

/** True when both images come from the same repository (tags and digests aside). */
export function sameRepository(a: string, b: string): boolean {
  return canonicalRepository(a) === canonicalRepository(b);
}
