/**
 * The config guard (issue 24): a setting of Milvus's config that says where the data is or who
 * may read it, changed by the upgrade's rendering, is a data risk like a deleted StatefulSet.
 */
import { describe, expect, it } from 'vitest';
import { dataSettingsOf, dataSettingChanges } from '../../src/upgrade/milvus/data-settings.js';
import { dataRisks } from '../../src/upgrade/planner/data-guard.js';
import type { KubeObject } from '../../src/upgrade/objects.js';

const cm = (files: Record<string, unknown>, name = 'prod-milvus'): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: {}, parsedData: files });
// Chart 3.x writes the shortcut values; 4.x writes none of them.
const chart3 = (root: string) => cm({ 'default.yaml': { etcd: { rootPath: root, endpoints: ['prod-etcd:2379'] }, msgChannel: { chanNamePrefix: { cluster: 'by-dev' } }, common: { security: { authorizationEnabled: true } } } });
const chart4 = (user: unknown = undefined) => cm({ 'default.yaml': { etcd: { endpoints: ['prod-etcd-0.prod-etcd-headless.ns.svc.cluster.local:2379'] } }, ...(user ? { 'user.yaml': user } : {}) });

const risksOf = (before: KubeObject[], after: KubeObject[]) =>
  dataRisks({ before, after, live: [], changes: [], queue: null, config: { name: 'prod-milvus', userKey: 'user.yaml' } });

describe('the config guard', () => {
  it('reads each setting as Milvus does: the chart\'s file, user.yaml over it, Milvus\'s default when neither writes it', () => {
    expect(dataSettingsOf([chart3('team-a')], 'prod-milvus')).toMatchObject({ 'etcd.rootPath': 'team-a', 'common.security.authorizationEnabled': 'true', 'minio.bucketName': 'a-bucket' });
    expect(dataSettingsOf([chart4({ etcd: { rootPath: 'team-a' } })], 'prod-milvus')).toMatchObject({ 'etcd.rootPath': 'team-a', 'common.security.authorizationEnabled': 'false' });
    expect(dataSettingsOf([chart4()], 'other')).toBeNull();
  });

  it('a 3.x release with a custom etcd root and authorization, upgraded to a 4.x chart: both are risks, each saying what it decides', () => {
    const risks = risksOf([chart3('team-a')], [chart4()]);
    expect(risks.map((r) => `${r.subject}: ${r.reason}`)).toEqual([
      'Milvus config: etcd.rootPath: team-a -> by-dev (where in etcd the metadata is): Milvus would look for its data elsewhere, or open it',
      'Milvus config: common.security.authorizationEnabled: true -> false (whether clients must authenticate): Milvus would look for its data elsewhere, or open it',
    ]);
  });

  it('nothing to say when the values are carried in user.yaml, when defaults stay defaults, or when only addresses change', () => {
    const carried = chart4({ etcd: { rootPath: 'team-a' }, common: { security: { authorizationEnabled: true } } });
    expect(risksOf([chart3('team-a')], [carried])).toEqual([]);
    const plain = cm({ 'default.yaml': { etcd: { rootPath: 'by-dev', endpoints: ['prod-etcd:2379'] }, msgChannel: { chanNamePrefix: { cluster: 'by-dev' } }, common: { security: { authorizationEnabled: false } } } });
    expect(risksOf([plain], [chart4()])).toEqual([]);
  });

  it('no ConfigMap on one side (a customConfigMap): nothing compared', () => {
    expect(dataSettingChanges(dataSettingsOf([], 'prod-milvus'), dataSettingsOf([chart4()], 'prod-milvus'))).toEqual([]);
    expect(risksOf([], [chart4()])).toEqual([]);
  });

  it('the queue type (mq.type, else messageQueue): a rocksmq standalone rendered with woodpecker (chart 5.x default without its lookup) is a risk; the same queue, or a side that names none, is not', () => {
    const queue = (files: Record<string, unknown>) => cm({ 'default.yaml': { etcd: { rootPath: 'by-dev' }, ...files } });
    expect(risksOf([queue({ mq: { type: 'rocksmq' }, messageQueue: 'rocksmq' })], [queue({ mq: { type: 'woodpecker' }, messageQueue: 'woodpecker' })]).map((r) => r.reason)).toEqual([
      'mq.type: rocksmq -> woodpecker (which message queue holds the messages not yet persisted): Milvus would look for its data elsewhere, or open it',
    ]);
    // Older charts write only messageQueue; "default" lets Milvus choose, like writing nothing.
    expect(risksOf([queue({ messageQueue: 'rocksmq' })], [queue({ mq: { type: 'woodpecker' } })])).toHaveLength(1);
    expect(risksOf([queue({ messageQueue: 'rocksmq' })], [queue({ mq: { type: 'rocksmq' }, messageQueue: 'rocksmq' })])).toEqual([]);
    expect(risksOf([queue({})], [queue({ mq: { type: 'pulsar' } })])).toEqual([]);
    expect(risksOf([queue({ mq: { type: 'default' } })], [queue({ mq: { type: 'kafka' } })])).toEqual([]);
  });

  it('Woodpecker switched from embedded to a service (zilliztech/woodpecker#216) is a risk; a chart that did not write it is not compared', () => {
    const wp = (files: Record<string, unknown>) => cm({ 'default.yaml': { etcd: { rootPath: 'by-dev' }, mq: { type: 'woodpecker' }, ...files } });
    expect(risksOf([wp({ woodpecker: { storage: { type: 'minio' } } })], [wp({ woodpecker: { storage: { type: 'service' } } })]).map((r) => r.reason)).toEqual([
      'woodpecker.storage.type: minio -> service (where Woodpecker keeps the message log (embedded in the streaming nodes, or a Woodpecker service)): Milvus would look for its data elsewhere, or open it',
    ]);
    expect(risksOf([wp({})], [wp({ woodpecker: { storage: { type: 'minio' } } })])).toEqual([]);
    expect(risksOf([wp({ woodpecker: { storage: { type: 'minio' } } })], [wp({ woodpecker: { storage: { type: 'minio' } } })])).toEqual([]);
  });
});
