/** The whole-release comparison of the e2e suites sees an object deleted and created again under its name. */
import { describe, expect, it } from 'vitest';
import { diffConfigs, diffSnapshots, type ReleaseSnapshot, type WorkloadSnapshot } from '../e2e/release-snapshot.js';

const set = (uid: string): WorkloadSnapshot => ({ kind: 'StatefulSet', name: 'r-etcd', replicas: 1, images: { etcd: 'milvusdb/etcd:3.5.5' }, initImages: {}, volumeClaimTemplates: ['data'], labels: {}, uid });
const snapshot = (uid: string): ReleaseSnapshot => ({ namespace: 'ns', release: 'r', workloads: [set(uid)], pvcs: [] });

describe('diffSnapshots', () => {
  it('a StatefulSet with the same name, images and claims but a new uid is a difference', () => {
    expect(diffSnapshots(snapshot('a'), snapshot('a'))).toEqual([]);
    expect(diffSnapshots(snapshot('a'), snapshot('b')).map((d) => d.text)).toEqual(['StatefulSet r-etcd: uid a -> b (deleted and created again)']);
  });
});

describe('diffConfigs', () => {
  const withConfig = (files: Record<string, string>): ReleaseSnapshot => ({ ...snapshot('a'), configs: [{ kind: 'ConfigMap', name: 'r-milvus', files, uid: 'c' }] });
  it('names each setting of the rendered Milvus config that changed, by file and dotted key', () => {
    const before = withConfig({ 'default.yaml': 'mq:\n  type: rocksmq\netcd:\n  endpoints: [r-etcd:2379]\n', 'user.yaml': '' });
    const after = withConfig({ 'default.yaml': 'mq:\n  type: woodpecker\netcd:\n  endpoints: [r-etcd:2379]\n', 'user.yaml': 'etcd:\n  rootPath: team-a\n' });
    expect(diffConfigs(before, before)).toEqual([]);
    expect(diffConfigs(before, after).map((d) => d.text)).toEqual([
      'ConfigMap r-milvus: default.yaml mq.type rocksmq -> woodpecker',
      'ConfigMap r-milvus: user.yaml etcd.rootPath (none) -> team-a',
    ]);
    expect(diffConfigs(before, { ...before, configs: [] }).map((d) => d.text)).toEqual(['ConfigMap r-milvus: removed']);
  });
});
