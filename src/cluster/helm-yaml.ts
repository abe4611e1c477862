/**
 * YAML read the way helm and Kubernetes read it. helm loads values, index.yaml and
 * repositories.yaml, and the API server decodes the manifests helm sends, through
 * sigs.k8s.io/yaml, that is go-yaml v2 followed by a conversion to JSON. Its reading differs from
 * the YAML 1.2 spec the `yaml` package follows by default, and real charts depend on it: the
 * Pulsar v2 proxy ConfigMap of the zilliztech chart renders `httpNumThreads` twice, which a strict
 * parser refuses. Every YAML that helm or Kubernetes wrote is parsed here, with these rules
 * (each checked against `helm template` in test/unit/helm-yaml.test.ts):
 *   - a key given twice: the last one wins;
 *   - YAML 1.1 scalars: yes/no/on/off/y/n are booleans, 0644 and 0o644 are octal, underscores in
 *     numbers are dropped; but timestamps and base-60 numbers (12:30) stay strings;
 *   - merge keys (`<<`, a map or a list of maps) are applied where they stand, in order: a key
 *     written before a `<<` is overwritten by the merged map, one after it wins (go-yaml v2's
 *     order, not the spec's); of a list of maps the first wins;
 *   - map keys become strings as in JSON (`on:` is the key "true"); a null key is an error.
 */
import { Alias, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, parseDocument, Scalar, type Document, type DocumentOptions, type ParseOptions, type SchemaOptions, type Tags } from 'yaml';

/** go-yaml v2 reads `0o17` as octal too (Go's ParseInt with base 0); YAML 1.1 only knows `017`. */
const goOctal = {
  identify: (value: unknown) => Number.isInteger(value),
  default: true,
  tag: 'tag:yaml.org,2002:int',
  format: 'OCT',
  test: /^[-+]?0o[0-7_]+$/,
  resolve: (str: string) => {
    const negative = str.startsWith('-');
    const n = parseInt(str.replace(/^[-+]?0o/, '').replace(/_/g, ''), 8);
    return negative ? -n : n;
  },
};

/** go-yaml v2 leaves timestamps and sexagesimal numbers as strings when decoding into interface{}. */
function goYamlTags(tags: Tags): Tags {
  const kept = tags.filter((t) => typeof t === 'string' || (t.format !== 'TIME' && t.tag !== 'tag:yaml.org,2002:timestamp'));
  return [goOctal, ...kept];
}

/** The one set of parser options for YAML that helm or Kubernetes wrote. */
export const HELM_YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1',
  uniqueKeys: false,
  // Merge keys are applied by toHelmValue in go-yaml v2's order, not by the parser.
  merge: false,
  customTags: goYamlTags,
  prettyErrors: true,
};

/** YAML that helm or Kubernetes would not read either, or that this reader cannot. */
export class HelmYamlError extends Error {
  constructor(
    message: string,
    /** 1-based line of the first problem, when the parser knows it. */
    readonly line: number | null,
  ) {
    super(message);
    this.name = 'HelmYamlError';
  }
}

/** One document's text -> its value, as helm reads it (null for an empty document). */
export function parseHelmYaml(text: string): unknown {
  const doc = parseDocument(text, HELM_YAML_OPTIONS);
  throwIfErrors(doc);
  return toHelmValue(doc);
}

export interface HelmYamlDocument {
  /** 0-based position of the document in the stream. */
  readonly index: number;
  readonly value: unknown;
  /** Why this document could not be read; its value is then null. */
  readonly error: HelmYamlError | null;
  /** The document's `kind` and `metadata.name`, when they can be read even from a broken one. */
  readonly kind: string | null;
  readonly name: string | null;
}

/** A multi-document stream (a rendered manifest) -> each document, errors kept per document. */
export function parseHelmYamlStream(text: string): HelmYamlDocument[] {
  const lines = new LineCounter();
  return parseAllDocuments(text, { ...HELM_YAML_OPTIONS, lineCounter: lines }).map((doc, index) => {
    const head = { kind: scalarAt(doc, ['kind']), name: scalarAt(doc, ['metadata', 'name']) };
    try {
      throwIfErrors(doc, lines);
      return { index, value: toHelmValue(doc), error: null, ...head };
    } catch (err) {
      return { index, value: null, error: err instanceof HelmYamlError ? err : new HelmYamlError(String(err), null), ...head };
    }
  });
}

/** For editing a file in place (comments kept): the document, with the same options. */
export function parseHelmYamlDocument(text: string): Document {
  const doc = parseDocument(text, HELM_YAML_OPTIONS);
  throwIfErrors(doc);
  return doc;
}

/** A parsed document -> the plain value helm would see. */
export function toHelmValue(doc: Document): unknown {
  return convert(doc.contents, doc, 0);
}

const MAX_DEPTH = 1000;

function convert(node: unknown, doc: Document, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new HelmYamlError('YAML nested too deeply (or an alias refers to itself)', null);
  if (node === null || node === undefined) return null;
  if (isAlias(node)) return convert(resolveAlias(node, doc), doc, depth + 1);
  if (isScalar(node)) return node.value ?? null;
  if (isSeq(node)) return node.items.map((item) => convert(item, doc, depth + 1));
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      if (isMergeKey(pair.key)) {
        mergeInto(out, pair.value, doc, depth + 1);
        continue;
      }
      defineKey(out, keyString(convert(pair.key, doc, depth + 1)), convert(pair.value, doc, depth + 1));
    }
    return out;
  }
  return null;
}

/** `<<: *a` or `<<: [*a, *b]`: the maps' keys are set now, over what is there; of a list, the first wins. */
function mergeInto(out: Record<string, unknown>, value: unknown, doc: Document, depth: number): void {
  const target = isAlias(value) ? resolveAlias(value, doc) : value;
  const sources = isSeq(target) ? [...target.items].reverse() : [target];
  for (const source of sources) {
    const merged = convert(source, doc, depth + 1);
    if (typeof merged !== 'object' || merged === null || Array.isArray(merged)) {
      throw new HelmYamlError('a merge key (<<) must refer to a map or a list of maps', null);
    }
    for (const [k, v] of Object.entries(merged)) defineKey(out, k, v);
  }
}

function defineKey(out: Record<string, unknown>, key: string, value: unknown): void {
  // A key such as "__proto__" is data, never the object's prototype.
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A plain `<<` (the 1.1 schema resolves it to a symbol) or one tagged `!!merge`; a quoted '<<' is a key. */
function isMergeKey(key: unknown): boolean {
  if (!isScalar(key)) return false;
  if (typeof key.value === 'symbol') return key.value.description === '<<';
  return key.value === '<<' && key.type === Scalar.PLAIN;
}

function resolveAlias(alias: Alias, doc: Document): unknown {
  const target = alias.resolve(doc);
  if (target === undefined) throw new HelmYamlError(`unknown anchor '${alias.source}' referenced`, null);
  return target;
}

/** As sigs.k8s.io/yaml turns a go-yaml key into a JSON key. */
function keyString(key: unknown): string {
  if (key === null) throw new HelmYamlError('a map key is null (~), which helm cannot read', null);
  if (typeof key === 'object') throw new HelmYamlError('a map key is itself a map or a list, which helm cannot read', null);
  return String(key);
}

function throwIfErrors(doc: Document, lines?: LineCounter): void {
  const first = doc.errors[0];
  if (!first) return;
  const line = first.linePos?.[0]?.line ?? (lines && first.pos ? lines.linePos(first.pos[0]).line : null);
  throw new HelmYamlError(first.message.split('\n')[0]!, line ?? null);
}

/** A scalar at a path, read from the syntax tree (works on a document with errors). */
function scalarAt(doc: Document, path: readonly string[]): string | null {
  let node: unknown = doc.contents;
  for (const key of path) {
    if (!isMap(node)) return null;
    const pair = [...node.items].reverse().find((p) => isScalar(p.key) && p.key.value === key);
    node = pair?.value;
  }
  return isScalar(node) && typeof node.value === 'string' ? node.value : null;
}

/** Each file of a ConfigMap read as helm reads YAML; files that are not YAML are left out. */
export function parsedFiles(data: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const files: Record<string, unknown> = {};
  for (const [file, text] of Object.entries(data)) {
    if (typeof text !== 'string' || !text) continue;
    try {
      files[file] = parseHelmYaml(text);
    } catch {
      // Not YAML (a script, a certificate), or broken: nothing to read in it.
    }
  }
  return files;
}
