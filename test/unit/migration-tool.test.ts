/**
 * Item 6 of issue 9: the permanent `<root>/meta/session/id` key is no session, and releases
 * with the chart's `customConfigMap` are read and changed through the ConfigMap pods mount.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { componentOf } from '../../src/cluster/kube-workloads.js';
import { messageQueueOf } from '../../src/cluster/milvus.js';
import { planUpgrade } from '../../src/upgrade/planner/upgrade.js';
import { runSteps } from '../../src/upgrade/runner/run.js';
import { liveSessionKeys } from '../../src/upgrade/runner/run-migration.js';
import type { Step } from '../../src/upgrade/steps.js';
import { parseVersion } from '../../src/upgrade/milvus/version.js';
import { FakeSessions, fakePorts } from './fakes.js';
import { milvusIndex, planSettings, releaseState, tooling } from './helpers.js';

const target = { namespace: 'milvus', release: 'prod' };

describe('session keys', () => {
  const prefix = 'by-dev/meta/session/';

  it('the server-id counter is not a session; everything else under the prefix is', () => {
    expect(liveSessionKeys([`${prefix}id`], prefix)).toEqual([]);
    expect(liveSessionKeys([`${prefix}id`, `${prefix}querynode-3`, `${prefix}rootcoord`, `${prefix}idx`, `${prefix}id/1`], prefix)).toEqual([
      `${prefix}querynode-3`,
      `${prefix}rootcoord`,
      `${prefix}idx`,
      `${prefix}id/1`,
    ]);
    expect(liveSessionKeys(['other/meta/session/id', 'by-dev/meta/session'], prefix)).toEqual([]);
  });

  const wait: Step = { kind: 'wait-sessions-expired', etcdEndpoint: '127.0.0.1:2379', rootPath: 'by-dev', fallbackSeconds: 75, timeoutSeconds: 60, description: 'wait' };

  it('with only the id key left the wait is over at once', async () => {
    const ports = fakePorts({ sessions: new FakeSessions([0], true) });
    const details: string[] = [];
    await runSteps(target, [wait], { ports, onEvent: (e) => void (e.type === 'step-finished' && details.push(e.detail)) });
    expect(details).toEqual(['no Milvus session left in etcd']);
    expect(ports.clock.sleeps).toEqual([]);
  });

  it('live sessions are waited for while the id key stays', async () => {
    const ports = fakePorts({ sessions: new FakeSessions([2, 1, 0], true) });
    const progress: string[] = [];
    await runSteps(target, [wait], { ports, pollIntervalMs: 1000, onEvent: (e) => void (e.type === 'step-progress' && progress.push(e.message)) });
    expect(progress).toEqual(['1 Milvus session key(s) still in etcd']);
  });
});

function deployment(o: { customConfigMap?: string } = {}): V1Deployment {
  const custom = o.customConfigMap;
  return {
    metadata: { name: 'prod-milvus-proxy', labels: { component: 'proxy' } },
    spec: {
      selector: {},
      template: {
        metadata: { labels: { component: 'proxy' } },
        spec: {
          containers: [
            {
              name: 'proxy',
              image: 'milvusdb/milvus:v2.4.5',
              volumeMounts: custom
                ? [{ name: 'milvus-config', mountPath: '/milvus/configs/user.yaml', subPath: 'milvus.yaml', readOnly: true }, { name: 'tools', mountPath: '/milvus/tools' }]
                : [
                    { name: 'milvus-config', mountPath: '/milvus/configs/default.yaml', subPath: 'default.yaml', readOnly: true },
                    { name: 'milvus-config', mountPath: '/milvus/configs/user.yaml', subPath: 'user.yaml', readOnly: true },
                  ],
            },
          ],
          volumes: [{ name: 'milvus-config', configMap: { name: custom ?? 'prod-milvus' } }, { name: 'tools', emptyDir: {} }],
        },
      },
    },
  };
}

describe('customConfigMap: the config the pods mount', () => {
  it('the chart default: <fullname>, user.yaml', () => {
    expect(componentOf(deployment()).config).toEqual({ configMap: 'prod-milvus', key: 'user.yaml' });
  });

  it('customConfigMap: the named ConfigMap, its milvus.yaml (mounted as user.yaml)', () => {
    expect(componentOf(deployment({ customConfigMap: 'my-milvus-config' })).config).toEqual({ configMap: 'my-milvus-config', key: 'milvus.yaml' });
  });

  it('no config volume: null', () => {
    const d = deployment();
    d.spec!.template.spec!.volumes = [];
    expect(componentOf(d).config).toBeNull();
  });

  it('the message queue is read from the mounted key first', () => {
    const data = { 'milvus.yaml': 'messageQueue: kafka\n', 'user.yaml': 'messageQueue: pulsar\n' };
    expect(messageQueueOf(data, 'milvus.yaml')).toBe('kafka');
    expect(messageQueueOf(data)).toBe('pulsar');
  });

  it('the rolling plan turns on active-standby in the mounted ConfigMap and key', async () => {
    const s = { ...releaseState({ version: '2.4.5' }), configMapName: 'my-milvus-config', configUserKey: 'milvus.yaml' };
    const p = planUpgrade({
      request: { cluster: 'test', namespace: 'milvus', release: 'prod', target: parseVersion('2.4.23'), strategy: 'rolling' },
      state: s,
      tooling: tooling(),
      charts: milvusIndex(),
      settings: planSettings(),
    });
    expect(p.steps[0]).toMatchObject({ kind: 'enable-active-standby', configMap: 'my-milvus-config', key: 'milvus.yaml' });
    const ports = fakePorts({ components: s.components });
    ports.cluster.configMaps.set('my-milvus-config', { data: { 'milvus.yaml': 'messageQueue: kafka\n' }, annotations: {} });
    await runSteps(target, [p.steps[0]!], { ports });
    const text = ports.cluster.configMaps.get('my-milvus-config')!.data['milvus.yaml']!;
    expect(text).toMatch(/^messageQueue: kafka\n/);
    for (const section of ['rootCoord', 'queryCoord', 'dataCoord', 'indexCoord']) expect(text).toContain(`${section}:\n  enableActiveStandby: true`);
    expect(ports.cluster.configMaps.get('my-milvus-config')!.data['user.yaml']).toBeUndefined();
  });
});
