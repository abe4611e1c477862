/**
 * The settings of Milvus's config that say where its data is and who may read it. An upgrade that
 * changes one of them (a chart that stops writing a value, a default that moved) points Milvus at
 * another etcd tree, bucket or topic set, or opens it: the release comes up looking empty, or
 * garbage collection acts on data it no longer knows, or anyone may connect (issue 24).
 *
 * Addresses are not compared: charts change how they write the in-release Services (5.0 lists the
 * etcd pods by their headless names) while the data stays where it is.
 */
import type { KubeObject } from '../objects.js';

export interface DataSetting {
  /** The dotted path in Milvus's config. */
  readonly key: string;
  /**
   * Milvus's own default, when the config does not write it (milvus.yaml of the 2.x line); null
   * when Milvus picks one by itself (the queue): then a side that names none is not compared.
   */
  readonly milvusDefault: string | null;
  /** What it decides, for the refusal. */
  readonly decides: string;
  /** Older keys Milvus reads for the same setting when `key` is unset (or says `default`). */
  readonly alsoAt?: readonly string[];
}

export const DATA_SETTINGS: readonly DataSetting[] = [
  { key: 'etcd.rootPath', milvusDefault: 'by-dev', decides: 'where in etcd the metadata is' },
  { key: 'metastore.type', milvusDefault: 'etcd', decides: 'which store holds the metadata' },
  { key: 'minio.bucketName', milvusDefault: 'a-bucket', decides: 'which bucket holds the data' },
  { key: 'minio.rootPath', milvusDefault: 'files', decides: 'where in the bucket the data is' },
  { key: 'msgChannel.chanNamePrefix.cluster', milvusDefault: 'by-dev', decides: 'the names of the message-queue topics' },
  { key: 'common.security.authorizationEnabled', milvusDefault: 'false', decides: 'whether clients must authenticate' },
  { key: 'common.security.tlsMode', milvusDefault: '0', decides: 'whether clients must use TLS' },
  // The queue cannot change once data exists (milvus-io/milvus#50217); RocksMQ, NATS and embedded
  // Woodpecker run no workload of their own, so only the config tells them apart (chart 5.x's
  // standalone default moved from rocksmq to woodpecker). "default" lets Milvus choose.
  { key: 'mq.type', milvusDefault: null, decides: 'which message queue holds the messages not yet persisted', alsoAt: ['messageQueue'] },
  // Embedded (minio, local) or a Woodpecker service: switching during 2.6 -> 3.0 panics
  // (zilliztech/woodpecker#216). Charts before 5.0 do not write it: a side without it is not compared.
  { key: 'woodpecker.storage.type', milvusDefault: null, decides: 'where Woodpecker keeps the message log (embedded in the streaming nodes, or a Woodpecker service)' },
];

/** Values of a setting Milvus chooses itself that say "Milvus chooses": the same as not writing it. */
const UNSET = new Set(['', 'default']);

/** Each data setting's value as Milvus would read it; null when the release has no such ConfigMap. */
export type DataSettings = Readonly<Record<string, string>>;

/**
 * From the ConfigMap the pods mount (the chart's files, then user.yaml over them, as Milvus reads
 * its config): null when it is not among `objects` (a customConfigMap, or a file we could not read).
 */
export function dataSettingsOf(objects: readonly KubeObject[], configMapName: string, userKey = 'user.yaml'): DataSettings | null {
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === configMapName);
  if (!cm?.parsedData) return null;
  const out: Record<string, string> = {};
  for (const s of DATA_SETTINGS) {
    const written = (v: unknown) => v !== null && v !== undefined && typeof v !== 'object' && !(s.milvusDefault === null && UNSET.has(String(v)));
    let value: unknown;
    for (const key of [s.key, ...(s.alsoAt ?? [])]) {
      value = configValueIn(cm.parsedData, userKey, key, written);
      if (value !== undefined) break;
    }
    out[s.key] = value === undefined ? (s.milvusDefault ?? '') : String(value);
  }
  return out;
}

/**
 * A setting of Milvus's config as the pods read it from the files of its ConfigMap (each read
 * as YAML): the first file, user settings first (the key mounted as user.yaml, then user.yaml,
 * then the chart's default.yaml or milvus.yaml), whose value at the dotted `key` is `accepted`.
 */
export function configValueIn(files: Readonly<Record<string, unknown>>, userKey: string, key: string, accepted: (value: unknown) => boolean): unknown {
  for (const file of new Set([userKey, 'user.yaml', 'default.yaml', 'milvus.yaml'])) {
    const value = valueAtPath(files[file], key.split('.'));
    if (accepted(value)) return value;
  }
  return undefined;
}

/** The data settings that differ, as `key: before -> after (what it decides)`; one Milvus chooses itself on either side is not compared. */
export function dataSettingChanges(before: DataSettings | null, after: DataSettings | null): Array<{ readonly key: string; readonly text: string }> {
  if (!before || !after) return [];
  const compared = (s: DataSetting) => s.milvusDefault !== null || (before[s.key] !== '' && after[s.key] !== '');
  return DATA_SETTINGS.filter((s) => compared(s) && before[s.key] !== after[s.key]).map((s) => ({
    key: s.key,
    text: `${s.key}: ${before[s.key]} -> ${after[s.key]} (${s.decides})`,
  }));
}

/** The value at `path` in nested objects (helm values, a parsed config file); undefined when any step is missing or not an object. */
export function valueAtPath(value: unknown, path: readonly string[]): unknown {
  let v = value;
  for (const p of path) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}
