/** How a pod as the API returns it becomes what the health gate judges (issue 25: untested before). */
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { podHealthOf } from '../../src/cluster/kube-workloads.js';

const pod = (status: V1Pod['status']): V1Pod => ({ metadata: { name: 'r-milvus-querynode-1', labels: { component: 'querynode' } }, status });

describe('podHealthOf', () => {
  it('Ready is the Ready condition, not the phase: a Running pod whose probe fails is not ready', () => {
    const running = pod({ phase: 'Running', conditions: [{ type: 'ContainersReady', status: 'True' }, { type: 'Ready', status: 'False' }] });
    expect(podHealthOf(running)).toMatchObject({ name: 'r-milvus-querynode-1', component: 'querynode', ready: false, phase: 'Running' });
    expect(podHealthOf(pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] })).ready).toBe(true);
    expect(podHealthOf(pod(undefined))).toMatchObject({ ready: false, phase: 'Unknown', containers: [] });
  });

  it('a container waiting names why; its last termination is the time of its last restart', () => {
    const health = podHealthOf(pod({
      phase: 'Running',
      containerStatuses: [
        { name: 'querynode', image: 'milvusdb/milvus:v2.4.23', imageID: '', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, finishedAt: new Date('2026-12-07T06:00:00Z') } } },
        { name: 'sidecar', image: 'x', imageID: '', ready: true, restartCount: 0, state: { running: {} } },
      ],
    }));
    expect(health.containers).toEqual([
      { name: 'querynode', ready: false, restartCount: 4, waitingReason: 'CrashLoopBackOff', lastTerminatedAt: Date.parse('2026-12-07T06:00:00Z') },
      { name: 'sidecar', ready: true, restartCount: 0, waitingReason: null, lastTerminatedAt: null },
    ]);
  });
});
