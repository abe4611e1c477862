/**
 * Fleets (issue 28), the run: on the control plane with real helm and the fixture charts.
 * - Slack: six releases in two namespaces, one fleet card, one approval (not the requester's),
 *   waves 1,50%,100%; the worker (an OS process) is SIGKILLed mid-wave and a new one finishes
 *   the fleet. Then the CLI takes the same six a version further.
 * - In both, all upgraded, and the order of the waves
 *   seen from a watch on the ReplicaSets (the cluster's word, not the bot's log): no release of a
 *   wave gets a new ReplicaSet before every release of the wave before has its last one.
 * - A canary that crash-loops on the new version: the fleet halts after wave 1, nothing of
 *   wave 2 starts (no new ReplicaSet, no image changed), the others are ended "not run" with the
 *   reason, and the canary's rollback is offered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppsV1Api, KubeConfig, Watch, type V1ReplicaSet } from '@kubernetes/client-node';
import { cli, cluster, imagesByComponent, installRelease, newNamespace } from './helpers.js';
import { snapshotRelease, diffSnapshots } from './release-snapshot.js';
import { CHANNEL, USERS, startBotEnv } from './bot-env.js';
import { spawnWorker, until } from './engine.js';
import { RedisFleetStore } from '../../src/jobs/fleets.js';
import { deriveState } from '../../src/upgrade/requests.js';
import type { FleetRecord } from '../../src/upgrade/fleet/fleet-record.js';

const FAST = ['--poll-ms', '200', '--settle', '1'];

/** The first and last new ReplicaSet of each release (instance label) in the namespaces, by creation order. */
async function watchFleet(namespaces: readonly string[]): Promise<{ order: Array<{ release: string; tag: string; seq: number }>; stop: () => void }> {
  const kc = new KubeConfig();
  kc.loadFromFile(cluster().kubeconfig);
  const order: Array<{ release: string; tag: string; seq: number }> = [];
  const stops: Array<() => void> = [];
  let seq = 0;
  for (const namespace of namespaces) {
    const existing = await kc.makeApiClient(AppsV1Api).listNamespacedReplicaSet({ namespace });
    const known = new Set(existing.items.map((rs) => rs.metadata?.uid));
    const req = await new Watch(kc).watch(
      `/apis/apps/v1/namespaces/${namespace}/replicasets`,
      { resourceVersion: existing.metadata?.resourceVersion },
      (type: string, rs: V1ReplicaSet) => {
        if (type !== 'ADDED' || known.has(rs.metadata?.uid)) return;
        known.add(rs.metadata?.uid);
        const image = rs.spec?.template?.spec?.containers?.[0]?.image ?? '';
        order.push({ release: `${namespace}/${rs.metadata?.labels?.['app.kubernetes.io/instance'] ?? '?'}`, tag: image.split(':').pop() ?? '', seq: seq++ });
      },
      () => {},
    );
    stops.push(() => req.abort());
  }
  return { order, stop: () => stops.forEach((s) => s()) };
}

/**
 * What one upgrade of the chart changes: the Milvus Deployments, the rendered config and etcd's
 * image (the new chart's); every StatefulSet and PVC keeps its uid.
 */
const allowedByTheChart = (d: { kind: string; field?: string }) => d.kind === 'Deployment' || d.kind === 'ConfigMap' || (d.kind === 'StatefulSet' && d.field === 'image');

/** The cluster's order: every new ReplicaSet of a wave comes after the last one of the wave before. */
function expectWaveOrder(order: ReadonlyArray<{ release: string; seq: number }>, waves: readonly string[][]): void {
  const ofWave = (w: number) => order.filter((o) => waves[w]!.includes(o.release));
  for (let w = 1; w < waves.length; w++) {
    expect(ofWave(w).length, `wave ${w + 1} made ReplicaSets`).toBeGreaterThan(0);
    expect(Math.min(...ofWave(w).map((o) => o.seq)), `wave ${w + 1} began after wave ${w} ended`).toBeGreaterThan(Math.max(...ofWave(w - 1).map((o) => o.seq)));
  }
}

async function wavesOf(f: FleetRecord, store: { require(id: string): Promise<{ namespace: string; release: string }> }): Promise<string[][]> {
  return Promise.all(f.waves.map((w) => Promise.all(w.map(async (m) => { const r = await store.require(m); return `${r.namespace}/${r.release}`; }))));
}

describe('fleet upgrade', () => {
  let x: { name: string; cleanup: () => Promise<void> };
  let y: { name: string; cleanup: () => Promise<void> };
  const names: Array<[string, string]> = [];

  beforeAll(async () => {
    x = await newNamespace('e2e-fleetup-x');
    y = await newNamespace('e2e-fleetup-y');
    for (const [ns, release] of [
      [x.name, 'milvus-a'],
      [x.name, 'milvus-b'],
      [x.name, 'milvus-c'],
      [y.name, 'milvus-d'],
      [y.name, 'milvus-e'],
      [y.name, 'milvus-f'],
    ] as const) {
      names.push([ns, release]);
    }
    await Promise.all(names.map(([ns, release]) => installRelease(ns, release, '4.2.58')));
  });
  afterAll(async () => {
    await x?.cleanup();
    await y?.cleanup();
  });

  it('Slack: one fleet card, one approval by another person; the worker SIGKILLed mid-wave, a new one finishes; waves in order (a watch), all on 2.6.15', async () => {
    const before = await Promise.all(names.map(([ns, r]) => snapshotRelease(cluster().kubeconfig, ns, r)));
    const bot = await startBotEnv({ roles: 'bot,planner' });
    let worker = spawnWorker(bot.prefix, { WORKER_CONCURRENCY: '3' });
    const watch = await watchFleet([x.name, y.name]);
    try {
      await bot.slash('fleet upgrade 2.6.15 --select e2e-fleetup-*/milvus-* --waves 1,50%,100% --max-in-flight 2', USERS.requester);
      const isCard = (m: { text: string }) => m.text.startsWith('Fleet upgrade fleet-');
      await bot.stub.waitFor(() => bot.stub.messages(CHANNEL).some(isCard), 180_000);
      const card = bot.stub.messages(CHANNEL).find(isCard)!;
      const id = /fleet-\d+/.exec(card.text)![0];
      expect(card.text).toMatch(/waiting for approval/);
      expect(JSON.stringify(card.blocks)).toMatch(/6 release\(s\) in 3 wave\(s\)/);
      const fleets = new RedisFleetStore(bot.store.redis, bot.prefix);
      // The requester's own vote does not count.
      await bot.click('fleet_approve', id, USERS.requester, card.ts);
      await bot.stub.waitFor(() => bot.stub.ephemerals(CHANNEL).some((e) => /you asked for this fleet upgrade/.test(e.text)), 20_000);
      expect((await fleets.require(id)).approvals).toEqual([]);
      await bot.click('fleet_approve', id, USERS.approver, card.ts);
      // Mid-wave: a member of wave 2 running. The worker dies like a crashed pod.
      const fleet = await fleets.require(id);
      await until('a member of wave 2 running', 300_000, async () => {
        for (const m of fleet.waves[1]!) if (deriveState(await bot.store.require(m), Date.now()) === 'running') return true;
        return false;
      }, 200);
      worker.child.kill('SIGKILL');
      worker = spawnWorker(bot.prefix, { WORKER_CONCURRENCY: '3' });
      const ended = await until('the fleet to end', 600_000, async () => {
        const f = await fleets.require(id);
        return f.ended ? f : null;
      }, 500);
      expect(ended.ended!.outcome, worker.output().slice(-3000)).toBe('succeeded');
      expect(ended.approvals.map((v) => v.by.id)).toEqual([USERS.approver]);
      // Every member ran once its wave came, approved by the one vote.
      for (const m of ended.waves.flat()) expect((await bot.store.require(m)).approvals.map((v) => v.by.id)).toEqual([USERS.approver]);
      await bot.stub.waitFor(() => /succeeded/.test(bot.stub.messages(CHANNEL).find((m) => m.ts === card.ts)!.text), 30_000);
      const waves = await wavesOf(ended, bot.store);
      expect(waves[0]).toEqual([`${x.name}/milvus-a`]);
      expectWaveOrder(watch.order, waves);
      for (const [ns, release] of names) expect(new Set(Object.values(await imagesByComponent(ns, release))), release).toEqual(new Set(['milvusdb/milvus:v2.6.15']));
      // The worker killed mid-wave patched nothing twice into another shape: as one upgrade of the chart.
      const after = await Promise.all(names.map(([ns, rel]) => snapshotRelease(cluster().kubeconfig, ns, rel)));
      before.forEach((b, i) => expect(diffSnapshots(b, after[i]!).filter((d) => !allowedByTheChart(d)).map((d) => d.text), names[i]!.join('/')).toEqual([]));
    } finally {
      watch.stop();
      worker.child.kill('SIGKILL');
      await bot.close();
    }
  });

  it('CLI: six releases in waves 1,50%,100%: all on 2.6.20, each wave after the whole wave before (seen from a watch), data objects untouched', async () => {
    const before = await Promise.all(names.map(([ns, r]) => snapshotRelease(cluster().kubeconfig, ns, r)));
    const watch = await watchFleet([x.name, y.name]);
    let r;
    try {
      r = await cli(['fleet', 'upgrade', '2.6.20', '--select', 'e2e-fleetup-*/milvus-*', '--waves', '1,50%,100%', '--max-in-flight', '2', '--yes', '--json', ...FAST]);
    } finally {
      watch.stop();
    }
    expect(r.code, r.stdout.slice(-3000) + r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const result = JSON.parse(lines.slice(lines.findIndex((l) => l === '{')).join('\n')) as { result: string; members: Array<{ wave: number; namespace: string; release: string; state: string }> };
    expect(result.result).toBe('succeeded');
    const waves = [1, 2, 3].map((w) => result.members.filter((m) => m.wave === w).map((m) => `${m.namespace}/${m.release}`));
    expect(waves.map((w) => w.length)).toEqual([1, 2, 3]);
    expect(waves[0]).toEqual([`${x.name}/milvus-a`]);
    expect(result.members.every((m) => m.state === 'succeeded')).toBe(true);
    const status = await cli(['fleet', 'status', (result as unknown as { fleet: string }).fleet, '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'succeeded', waves: '1,50%,100%', halted: null });
    expectWaveOrder(watch.order, waves);
    for (const [ns, release] of names) expect(new Set(Object.values(await imagesByComponent(ns, release))), release).toEqual(new Set(['milvusdb/milvus:v2.6.20']));
    // As one upgrade of the chart: the Milvus Deployments, the config and etcd's image (the new
    // chart's) change; every StatefulSet and PVC keeps its uid.
    const after = await Promise.all(names.map(([ns, rel]) => snapshotRelease(cluster().kubeconfig, ns, rel)));
    before.forEach((b, i) => expect(diffSnapshots(b, after[i]!).filter((d) => !allowedByTheChart(d)).map((d) => d.text), names[i]!.join('/')).toEqual([]));
  });
});

describe('fleet upgrade with a canary that crash-loops', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-fleetsick');
    await installRelease(ns.name, 'milvus-a', '4.2.58', { 'queryNode.annotations.fake-kubelet/crashloop-on': 'v2.6.15' });
    await Promise.all(['milvus-b', 'milvus-c'].map((r) => installRelease(ns.name, r, '4.2.58')));
  });
  afterAll(async () => ns?.cleanup());

  it('halts after wave 1: nothing of wave 2 starts, the rest is ended "not run" with the reason, the canary\'s rollback is offered', async () => {
    const before = await Promise.all(['milvus-b', 'milvus-c'].map((r) => snapshotRelease(cluster().kubeconfig, ns.name, r)));
    const watch = await watchFleet([ns.name]);
    let r;
    try {
      r = await cli(['fleet', 'upgrade', '2.6.15', '--select', `${ns.name}/milvus-*`, '--yes', '--rollout-timeout', '40', ...FAST]);
    } finally {
      watch.stop();
    }
    expect(r.code, r.stdout.slice(-3000) + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/fleet fleet-\d+ halted: the fleet halted in wave 1 \(the canary\): milvus-a failed/);
    expect(r.stdout).toMatch(/wave 2: e2e-fleetsick-\w+\/milvus-b \(req-\d+\) cancelled: not run: the fleet halted in wave 1 \(the canary\): milvus-a failed/);
    expect(r.stdout).toMatch(/to roll back milvus-a: milvus-upgrade rollback milvus-a -n e2e-fleetsick-\w+ --yes/);
    // fleet status says the same from Redis.
    const id = /fleet (fleet-\d+) halted/.exec(r.stderr)![1]!;
    const status = await cli(['fleet', 'status', id]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^Fleet ${id}: ${ns.name}/milvus-\\* to Milvus 2\\.6\\.15, halted \\(0 of 3 succeeded`));
    expect(status.stdout).toMatch(/milvus-a 2\.5\.16 -> 2\.6\.15: failed: /);
    expect(status.stdout).toMatch(/halted: the fleet halted in wave 1 \(the canary\): milvus-a failed/);
    expect((await cli(['fleet', 'status', 'req-1'])).code).toBe(2);
    // Nothing of wave 2 ever started.
    expect(watch.order.filter((o) => !o.release.endsWith('/milvus-a'))).toEqual([]);
    const after = await Promise.all(['milvus-b', 'milvus-c'].map((rel) => snapshotRelease(cluster().kubeconfig, ns.name, rel)));
    before.forEach((b, i) => expect(diffSnapshots(b, after[i]!).map((d) => d.text)).toEqual([]));
  });
});

describe('fleet upgrade with releases the data guard refuses', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-fleetguard');
    // A custom etcd root that chart 4.x would drop (the config guard): the route is refused.
    await Promise.all([
      ...['guarded-a', 'guarded-b'].map((r) => installRelease(ns.name, r, '3.3.6', { 'metadata.rootPath': 'team-a' })),
      ...['fine-a', 'fine-b'].map((r) => installRelease(ns.name, r, '4.2.58')),
    ]);
  });
  afterAll(async () => ns?.cleanup());

  it('leaves the refused out and lists them with the reason; the rest proceed; the refused are untouched', async () => {
    const before = await Promise.all(['guarded-a', 'guarded-b'].map((r) => snapshotRelease(cluster().kubeconfig, ns.name, r)));
    const r = await cli(['fleet', 'upgrade', '2.6.15', '--select', `${ns.name}/*`, '--yes', '--json', ...FAST]);
    expect(r.code, r.stdout.slice(-3000) + r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const result = JSON.parse(lines.slice(lines.findIndex((l) => l === '{')).join('\n')) as { result: string; members: Array<{ release: string; state: string }>; refused: Array<{ release: string; reason: string }> };
    expect(result.result).toBe('succeeded');
    expect(result.members.map((m) => `${m.release} ${m.state}`).sort()).toEqual(['fine-a succeeded', 'fine-b succeeded']);
    expect(result.refused.map((f) => f.release).sort()).toEqual(['guarded-a', 'guarded-b']);
    for (const f of result.refused) expect(f.reason).toContain('etcd.rootPath: team-a -> by-dev');
    const after = await Promise.all(['guarded-a', 'guarded-b'].map((rel) => snapshotRelease(cluster().kubeconfig, ns.name, rel)));
    before.forEach((b, i) => expect(diffSnapshots(b, after[i]!).map((d) => d.text)).toEqual([]));
  });
});

describe('fleet upgrade with one approval per wave (the policy file asks it)', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-fleetwave');
    await Promise.all(['milvus-a', 'milvus-b', 'milvus-c'].map((r) => installRelease(ns.name, r, '4.2.58')));
  });
  afterAll(async () => ns?.cleanup());

  it('the fleet\'s approval runs the canary only; wave 2 waits, even after the canary succeeded, for its own approval (never the requester\'s), then runs', async () => {
    const accessYaml = `rules:
  - namespaces: ["*"]
    releases: ["*"]
    requesters: ["${USERS.requester}"]
    approvers: ["${USERS.approver}", "${USERS.requester}"]
    channels: ["${CHANNEL}"]
fleets:
  approval: per-wave
`;
    const bot = await startBotEnv({ accessYaml });
    try {
      await bot.slash(`fleet upgrade 2.6.15 --select ${ns.name}/milvus-* --waves 1,100%`, USERS.requester);
      const isCard = (m: { text: string }) => m.text.startsWith('Fleet upgrade fleet-');
      await bot.stub.waitFor(() => bot.stub.messages(CHANNEL).some(isCard), 180_000);
      const card = bot.stub.messages(CHANNEL).find(isCard)!;
      const id = /fleet-\d+/.exec(card.text)![0];
      const fleets = new RedisFleetStore(bot.store.redis, bot.prefix);
      await bot.click('fleet_approve', id, USERS.approver, card.ts);
      const fleet = await fleets.require(id);
      await until('the canary to succeed', 300_000, async () => deriveState(await bot.store.require(fleet.waves[0]![0]!), Date.now()) === 'succeeded', 300);
      // Nothing of wave 2 starts on its own; the card offers its approval.
      await new Promise((r) => setTimeout(r, 2000));
      for (const m of fleet.waves[1]!) expect(deriveState(await bot.store.require(m), Date.now())).toBe('pending-approval');
      await bot.stub.waitFor(() => /fleet_approve_wave/.test(JSON.stringify(bot.stub.messages(CHANNEL).find((m) => m.ts === card.ts)!.blocks)), 30_000);
      await bot.click('fleet_approve_wave', `${id}:1`, USERS.requester, card.ts);
      await bot.stub.waitFor(() => bot.stub.ephemerals(CHANNEL).some((e) => /someone else must approve its waves/.test(e.text)), 20_000);
      await bot.click('fleet_approve_wave', `${id}:1`, USERS.approver, card.ts);
      const ended = await until('the fleet to end', 400_000, async () => (await fleets.require(id)).ended, 500);
      expect(ended.outcome).toBe('succeeded');
      const done = await fleets.require(id);
      expect(done.waveApprovals?.[1]?.map((v) => v.by.id)).toEqual([USERS.approver]);
      for (const m of done.waves[1]!) expect((await bot.store.require(m)).approvals.map((v) => v.by.id)).toEqual([USERS.approver]);
    } finally {
      await bot.close();
    }
  });
});
