import { describe, expect, it } from 'vitest';
import { backupServerItem } from '../../src/upgrade/milvus/backup-server.js';
import type { KubeObject } from '../../src/upgrade/objects.js';

const state = { release: 'prod', namespace: 'milvus', configMapName: 'prod-milvus', configUserKey: 'user.yaml' };
const cm = (files: Record<string, unknown>): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'prod-milvus', namespace: 'milvus' }, parsedData: files }) as unknown as KubeObject;

describe("the bot chart's backupServers item, read from the release's Milvus config", () => {
  it('as the Milvus chart renders it: its MinIO and bucket, its etcd pods, Milvus\'s etcd root when none is written', () => {
    const rendered = cm({
      'default.yaml': { etcd: { endpoints: ['prod-etcd-0.prod-etcd-headless.milvus.svc.cluster.local:2379'] }, minio: { address: 'prod-minio', port: 9000, useSSL: false, bucketName: 'milvus-bucket', rootPath: 'file' } },
      'user.yaml': null,
    });
    expect(backupServerItem(state, [rendered])).toEqual({
      release: 'prod',
      namespace: 'milvus',
      etcd: { endpoints: 'prod-etcd-0.prod-etcd-headless.milvus.svc.cluster.local:2379', rootPath: 'by-dev' },
      minio: { address: 'prod-minio', port: 9000, useSSL: false, bucketName: 'milvus-bucket', rootPath: 'file' },
    });
  });

  it('user.yaml over the chart\'s file: an external S3 with TLS, another bucket, a custom etcd root', () => {
    const rendered = cm({
      'default.yaml': { etcd: { endpoints: ['a:2379', 'b:2379'] }, minio: { address: 'prod-minio', port: 9000, bucketName: 'milvus-bucket', rootPath: 'file' } },
      'user.yaml': { etcd: { rootPath: 'team-a' }, minio: { address: 's3.eu-west-1.amazonaws.com', port: 443, useSSL: true, bucketName: 'team-a-vectors', rootPath: 'prod' } },
    });
    expect(backupServerItem(state, [rendered])).toMatchObject({
      etcd: { endpoints: 'a:2379,b:2379', rootPath: 'team-a' },
      minio: { address: 's3.eu-west-1.amazonaws.com', port: 443, useSSL: true, bucketName: 'team-a-vectors', rootPath: 'prod' },
    });
  });

  it('says why when it cannot tell: no ConfigMap of its own (customConfigMap), or no MinIO address', () => {
    expect(backupServerItem(state, [])).toEqual({ problem: 'the Milvus config of prod (ConfigMap prod-milvus) could not be read' });
    expect(backupServerItem(state, [cm({ 'default.yaml': { etcd: { rootPath: 'x' } } })])).toEqual({ problem: 'the Milvus config of prod names no minio.address: where its data is cannot be told' });
  });
});
