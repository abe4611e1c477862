/**
 * Edits a Milvus config file the chart wrote into a ConfigMap (user.yaml), keeping its comments
 * and layout. Read and checked as helm reads YAML, so a section the file gives twice is edited
 * where it counts (the last one wins).
 */
import { Document, isMap, isScalar, Pair, type YAMLMap } from 'yaml';
import { UnreadableError } from '../upgrade/errors.js';
import { HelmYamlError, parseHelmYaml, parseHelmYamlDocument, toHelmValue } from './helm-yaml.js';

export interface FlagEdit {
  readonly text: string;
  /** The sections whose flag was not yet true; none: `text` is the input unchanged. */
  readonly changed: readonly string[];
}

/** `<section>.<flag>: true` for each section, block style, everything else kept. */
export function withFlagOn(text: string, sections: readonly string[], flag: string): FlagEdit {
  const parsed = parseHelmYamlDocument(text);
  const current = toHelmValue(parsed);
  const missing = sections.filter((s) => flagOf(current, s, flag) !== true);
  if (missing.length === 0) return { text, changed: [] };
  const doc = isMap(parsed.contents) ? parsed : emptyKeepingComments(parsed);
  const top = doc.contents as YAMLMap;
  for (const section of missing) {
    const pair = lastPair(top, section);
    if (pair && isMap(pair.value)) setLast(pair.value, flag, doc);
    else if (pair) pair.value = doc.createNode({ [flag]: true });
    else top.add(doc.createPair(section, { [flag]: true }));
  }
  const after = String(doc);
  const check = parseHelmYaml(after);
  const notSet = missing.filter((s) => flagOf(check, s, flag) !== true);
  if (notSet.length > 0) throw new HelmYamlError(`could not set ${flag}: true for ${notSet.join(', ')} (the file's layout hides it)`, null);
  return { text: after, changed: missing };
}

function flagOf(value: unknown, section: string, flag: string): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  const s = (value as Record<string, unknown>)[section];
  return typeof s === 'object' && s !== null ? (s as Record<string, unknown>)[flag] : undefined;
}

/** An empty or comment-only file: a new map, its comments kept on top. */
function emptyKeepingComments(parsed: Document): Document {
  if (parsed.contents !== null && !(isScalar(parsed.contents) && parsed.contents.value === null)) {
    throw new HelmYamlError('the file is not a map of settings', null);
  }
  const fresh = new Document({});
  fresh.commentBefore = parsed.commentBefore ?? parsed.comment ?? null;
  return fresh;
}

function lastPair(map: YAMLMap, key: string): Pair | undefined {
  return [...map.items].reverse().find((p): p is Pair => isScalar(p.key) && p.key.value === key);
}

function setLast(map: YAMLMap, key: string, doc: Document): void {
  const pair = lastPair(map, key);
  if (pair) pair.value = doc.createNode(true);
  else map.add(doc.createPair(key, true));
}

/** withFlagOn, its failure named after the file (`what`) as a defect to report. */
export function editConfigFile(text: string, sections: readonly string[], flag: string, what: string): FlagEdit {
  try {
    return withFlagOn(text, sections, flag);
  } catch (err) {
    if (err instanceof HelmYamlError) throw new UnreadableError(what, `not valid YAML: ${err.message}`);
    throw err;
  }
}
