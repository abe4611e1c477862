/** The whole-release comparison of the e2e suites sees an object deleted and created again under its name. */
import { describe, expect, it } from 'vitest';
import { diffSnapshots, type ReleaseSnapshot, type WorkloadSnapshot } from '../e2e/release-snapshot.js';

const set = (uid: string): WorkloadSnapshot => ({ kind: 'StatefulSet', name: 'r-etcd', replicas: 1, images: { etcd: 'milvusdb/etcd:3.5.5' }, initImages: {}, volumeClaimTemplates: ['data'], labels: {}, uid });
const snapshot = (uid: string): ReleaseSnapshot => ({ namespace: 'ns', release: 'r', workloads: [set(uid)], pvcs: [] });

describe('diffSnapshots', () => {
  it('a StatefulSet with the same name, images and claims but a new uid is a difference', () => {
    expect(diffSnapshots(snapshot('a'), snapshot('a'))).toEqual([]);
    expect(diffSnapshots(snapshot('a'), snapshot('b')).map((d) => d.text)).toEqual(['StatefulSet r-etcd: uid a -> b (deleted and created again)']);
  });
});
