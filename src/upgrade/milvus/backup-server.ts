/**
 * A milvus-backup server must look where the release keeps its data (issue 27): the same MinIO
 * or S3 (address, port, TLS, bucket, root path) and the same etcd root. Read from the Milvus
 * config the release's pods mount, as Milvus reads it (user.yaml over the chart's file), this is
 * the bot chart's `backupServers` item for the release. Pure.
 */
import type { KubeObject } from '../objects.js';
import type { ReleaseState } from '../state.js';
import { configValueIn } from './data-settings.js';

export interface BackupServerItem {
  readonly release: string;
  readonly namespace: string;
  readonly etcd: { readonly endpoints: string; readonly rootPath: string };
  readonly minio: { readonly address: string; readonly port: number; readonly useSSL: boolean; readonly bucketName: string; readonly rootPath: string };
}

/** Milvus's own defaults (milvus.yaml of the 2.x line) where the config writes nothing. */
const DEFAULTS = { etcdRootPath: 'by-dev', minioPort: 9000, bucketName: 'a-bucket', minioRootPath: 'files' } as const;

/**
 * The item for the release, or why it cannot be told (no ConfigMap of its own among `objects`: a
 * customConfigMap, or one the bot could not read; no MinIO address in it).
 */
export function backupServerItem(state: Pick<ReleaseState, 'release' | 'namespace' | 'configMapName' | 'configUserKey'>, objects: readonly KubeObject[]): BackupServerItem | { readonly problem: string } {
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === state.configMapName);
  if (!cm?.parsedData) return { problem: `the Milvus config of ${state.release} (ConfigMap ${state.configMapName}) could not be read` };
  const files = cm.parsedData;
  const value = (key: string): unknown => configValueIn(files, state.configUserKey ?? 'user.yaml', key, (v) => v !== undefined && v !== null && v !== '');
  const text = (key: string, fallback: string) => {
    const v = value(key);
    return typeof v === 'string' || typeof v === 'number' ? String(v) : fallback;
  };
  const address = text('minio.address', '');
  if (!address) return { problem: `the Milvus config of ${state.release} names no minio.address: where its data is cannot be told` };
  const endpoints = value('etcd.endpoints');
  return {
    release: state.release,
    namespace: state.namespace,
    etcd: {
      endpoints: Array.isArray(endpoints) ? endpoints.map(String).join(',') : typeof endpoints === 'string' ? endpoints : '',
      rootPath: text('etcd.rootPath', DEFAULTS.etcdRootPath),
    },
    minio: {
      address,
      port: Number(text('minio.port', String(DEFAULTS.minioPort))) || DEFAULTS.minioPort,
      useSSL: String(value('minio.useSSL') ?? 'false') === 'true',
      bucketName: text('minio.bucketName', DEFAULTS.bucketName),
      rootPath: text('minio.rootPath', DEFAULTS.minioRootPath),
    },
  };
}
