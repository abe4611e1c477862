import { describe, expect, it } from 'vitest';
import { COORDINATORS, isCoordinator } from '../../src/upgrade/milvus/components.js';
import { rolloutProgress, type ComponentState } from '../../src/upgrade/state.js';
import { component } from './helpers.js';

const base = component('querynode', { replicas: 3 });
const with_ = (o: Partial<ComponentState>): ComponentState => ({ ...base, ...o });

describe('rolloutProgress (like kubectl rollout status)', () => {
  it('done when every pod is new and available', () => {
    expect(rolloutProgress(base)).toEqual({ done: true, text: 'querynode: 3/3 pods ready' });
  });

  it('waits for the controller to observe the new generation first', () => {
    expect(rolloutProgress(with_({ generation: 4, observedGeneration: 3 }))).toEqual({
      done: false,
      text: 'querynode: waiting for the controller to see the change',
    });
  });

  it('counts updated pods', () => {
    expect(rolloutProgress(with_({ updatedReplicas: 1 }))).toEqual({ done: false, text: 'querynode: 1/3 pods updated' });
  });

  it('waits for old pods to terminate', () => {
    expect(rolloutProgress(with_({ currentReplicas: 5 }))).toEqual({ done: false, text: 'querynode: 2 old pod(s) still running' });
  });

  it('waits for pods in graceful stop, which the status no longer counts (SPEC §9)', () => {
    expect(rolloutProgress(with_({ terminatingPods: 1 }))).toEqual({ done: false, text: 'querynode: 1 pod(s) in graceful stop' });
    expect(rolloutProgress(with_({ terminatingPods: 0 })).done).toBe(true);
  });

  it('waits for new pods to become available', () => {
    expect(rolloutProgress(with_({ availableReplicas: 2 }))).toEqual({ done: false, text: 'querynode: 2/3 pods available' });
  });

  it('a Deployment scaled to 0 is rolled out', () => {
    expect(
      rolloutProgress(with_({ replicas: 0, updatedReplicas: 0, availableReplicas: 0, readyReplicas: 0, currentReplicas: 0 })).done,
    ).toBe(true);
  });
});

describe('isCoordinator', () => {
  it('the four old coordinators and mixcoord', () => {
    expect([...COORDINATORS].sort()).toEqual(['datacoord', 'indexcoord', 'mixcoord', 'querycoord', 'rootcoord']);
    for (const c of COORDINATORS) expect(isCoordinator(c)).toBe(true);
  });

  it.each(['proxy', 'querynode', 'datanode', 'indexnode', 'streamingnode', 'standalone', 'attu', 'coord'])('%s is not', (c) => {
    expect(isCoordinator(c)).toBe(false);
  });
});
