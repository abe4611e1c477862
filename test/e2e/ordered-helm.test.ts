/**
 * The ordered helm path on the control plane with real helm: 2.5.16 (chart 4.2.58, mixcoord) to
 * 2.6.15 (chart 5.0.19). The order in which Deployments got their new ReplicaSet is read from a
 * watch, not from the bot's own log; plain helm (helm-parallel) is run beside it for contrast.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cluster, installRelease, newNamespace } from './helpers.js';
import { diffSnapshots, snapshotRelease } from './release-snapshot.js';
import { pausedDeployments, podsAliveAt, watchNewReplicaSets, watchPods } from './rollout-watch.js';

const FAST = ['--poll-ms', '200'];
const snap = (ns: string, release: string) => snapshotRelease(cluster().kubeconfig, ns, release);

describe('ordered helm upgrade into 2.6 on the control plane', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-ordered');
    await installRelease(ns.name, 'o', '4.2.58');
  });
  afterAll(async () => ns.cleanup());

  it('2.5.16 -> 2.6.15: new ReplicaSets in the order streamingnode, mixcoord, querynode, datanode, proxy; no old querynode pod once a 2.6 proxy pod runs; indexnode last; nothing paused', async () => {
    const before = await snap(ns.name, 'o');
    const plan = JSON.parse((await cli(['plan', 'o', '2.6.15', '-n', ns.name, '--json'])).stdout);
    expect(plan.steps.map((s: { kind: string }) => s.kind)).toEqual([
      'helm-repo-update', 'keep-deployments', 'pause-deployments', 'helm-upgrade', 'wait-statefulsets', ...Array(4).fill('resume-deployments'), 'remove-deployments', 'resume-deployments', 'wait-rollout', 'check-health',
    ]);
    // Chart 5.0.19 moves etcd to a new image: the run waits for it before any Milvus component resumes.
    expect(plan.steps[4].statefulSets).toContain('o-etcd');
    // A 2.6 streamingnode is healthy only with a 2.6 mixcoord (the fake kubelet plays it): one step.
    expect(plan.steps[5]).toMatchObject({ component: 'streamingnode', with: ['mixcoord'] });
    expect(plan.steps[9]).toMatchObject({ components: ['indexnode'] });
    expect(plan.rollback).toBeNull();

    const watch = await watchNewReplicaSets(ns.name, 'o');
    const pods = await watchPods(ns.name, 'o');
    let up;
    try {
      up = await cli(['upgrade', 'o', '2.6.15', '-n', ns.name, '--yes', ...FAST]);
    } finally {
      watch.stop();
      pods.stop();
    }
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(watch.seen.map((s) => s.component)).toEqual(['streamingnode', 'mixcoord', 'querynode', 'datanode', 'proxy']);
    expect(up.stdout).toMatch(/querynode \d\/\d on v2\.6\.15|querynode rolled out on v2\.6\.15/);
    // milvus-io/milvus#42492: once the first 2.6 proxy pod exists, no 2.5 querynode pod runs,
    // not even one in graceful stop (the Deployment's status stops counting those).
    const firstProxy = pods.events.findIndex((e) => e.type === 'ADDED' && e.component === 'proxy' && e.tag === 'v2.6.15');
    expect(firstProxy, JSON.stringify(pods.events)).toBeGreaterThan(0);
    const oldQuerynodes = [...podsAliveAt(pods.events, firstProxy).values()].filter((p) => p.component === 'querynode' && p.tag !== 'v2.6.15');
    expect(oldQuerynodes).toEqual([]);
    // The old querynode pods did stop gracefully (terminating first), so the check above saw real overlap risk.
    expect(pods.events.some((e) => e.component === 'querynode' && e.tag === 'v2.5.16' && e.type === 'MODIFIED' && e.terminating)).toBe(true);
    // indexnode served until every other component had rolled: its last pod went after the proxies.
    const lastIndexnode = pods.events.map((e, i) => (e.type === 'DELETED' && e.component === 'indexnode' ? i : -1)).reduce((a, b) => Math.max(a, b), -1);
    expect(lastIndexnode).toBeGreaterThan(firstProxy);
    expect(pods.events.findIndex((e) => e.component === 'indexnode' && e.terminating)).toBeGreaterThan(firstProxy);
    // etcd ran its new revision, every pod ready, before the first Milvus component resumed.
    const lines = up.stdout.split('\n');
    const etcdDone = lines.findIndex((l) => /\[5\/\d+\] +done: .*o-etcd.* rolled out/.test(l));
    const firstResume = lines.findIndex((l) => /\[6\/\d+\] resume /.test(l));
    expect(etcdDone, up.stdout).toBeGreaterThan(0);
    expect(firstResume).toBeGreaterThan(etcdDone);
    expect(await pausedDeployments(ns.name)).toEqual([]);

    const after = await snap(ns.name, 'o');
    const diff = diffSnapshots(before, after);
    const deployments = diff.filter((d) => d.kind === 'Deployment');
    expect(deployments.filter((d) => d.field === 'added').map((d) => d.name)).toEqual(['o-milvus-streamingnode']);
    expect(deployments.filter((d) => d.field === 'removed').map((d) => d.name)).toEqual(['o-milvus-indexnode']);
    for (const d of deployments.filter((x) => x.field === 'image')) expect(d.after, d.text).toBe('milvusdb/milvus:v2.6.15');
    // Everything else of the release (minio, the message queue, every PVC) is untouched, but for
    // the etcd image that chart 5.0.19 bumps, which the plan showed before approval.
    expect(diff.filter((d) => d.kind !== 'Deployment').map((d) => d.text)).toEqual([
      'StatefulSet o-etcd: image of etcd docker.io/milvusdb/etcd:3.5.18-r1 -> docker.io/milvusdb/etcd:3.5.25-r1',
    ]);
    const etcd = plan.changes.find((c: { kind: string; name: string }) => c.kind === 'StatefulSet' && c.name === 'o-etcd');
    expect(etcd?.detail).toContain('3.5.25-r1');
  });
});

describe('--strategy helm-parallel keeps plain helm', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-parallel');
    await installRelease(ns.name, 'p', '4.2.58');
  });
  afterAll(async () => ns.cleanup());

  it('one helm upgrade --wait, no pause: every ReplicaSet appears at once, in whatever order helm applies them', async () => {
    const plan = JSON.parse((await cli(['plan', 'p', '2.6.15', '-n', ns.name, '--strategy', 'helm-parallel', '--json'])).stdout);
    expect(plan.steps.map((s: { kind: string }) => s.kind)).toEqual(['helm-repo-update', 'helm-upgrade', 'wait-rollout', 'check-health']);
    expect(plan.steps[1].description).toContain('--wait');
    const watch = await watchNewReplicaSets(ns.name, 'p');
    let up;
    try {
      up = await cli(['upgrade', 'p', '2.6.15', '-n', ns.name, '--strategy', 'helm-parallel', '--yes', ...FAST]);
    } finally {
      watch.stop();
    }
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(watch.seen.map((s) => s.component).sort()).toEqual(['datanode', 'mixcoord', 'proxy', 'querynode', 'streamingnode']);
    expect(up.stdout).not.toMatch(/resume/);
  });
});
