/**
 * Waits woken by a watch, on the real API server: a rollout wait whose poll interval is a minute
 * still ends as soon as the pods are ready (only a watch event can wake it that early); one watch
 * per release, shared by its waits, closed when idle.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesReleaseWatch } from '../../src/cluster/release-watch.js';
import { loadKubeConfig } from '../../src/cluster/kube-api.js';
import { waitRollout, type StepContext } from '../../src/upgrade/runner/run-support.js';
import { testEngine } from './engine.js';
import { cluster, installRelease, newNamespace } from './helpers.js';

describe('waits woken by the release watch', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  const access = testEngine();
  beforeAll(async () => {
    ns = await newNamespace('e2e-watch');
    await installRelease(ns.name, 'watched', '4.1.24');
  }, 120_000);
  afterAll(async () => {
    access.close();
    await ns?.cleanup();
  });

  it('a rollout wait polling once a minute ends within seconds of the pods being ready', async () => {
    const { ports } = access.forName();
    const [proxy] = (await ports.cluster.components(ns.name, 'watched')).filter((c) => c.component === 'proxy');
    expect(proxy).toBeDefined();
    const progress: string[] = [];
    const ctx: StepContext = {
      ports,
      namespace: ns.name,
      release: 'watched',
      handoverMs: 0,
      stepStartedAt: () => Date.now(),
      pollIntervalMs: 60_000,
      progress: async (m) => void progress.push(m),
    };
    // The first look (before the patch) finds nothing to wait for; the wait starts after the patch.
    await ports.cluster.patchDeployment(ns.name, proxy!.deployment, { container: 'proxy', image: 'milvusdb/milvus:v2.4.5' });
    const started = Date.now();
    await waitRollout([proxy!.deployment], 50, ctx);
    const took = Date.now() - started;
    // A poll would read again only after 60 s; the watch's resync after 10 s. Seconds means an event woke it.
    expect(took).toBeLessThan(9_000);
    expect(progress.length).toBeGreaterThan(0);
    const after = await ports.cluster.component(ns.name, proxy!.deployment);
    expect(after!.image).toBe('milvusdb/milvus:v2.4.5');
    expect(after!.readyReplicas).toBe(after!.replicas);
  }, 60_000);

  it('one watch per release, whatever the number of waits; a change wakes every waiter; idle watches close', async () => {
    const kc = loadKubeConfig({ kubeconfig: cluster().kubeconfig });
    const events: string[] = [];
    const watch = new KubernetesReleaseWatch(kc, { idleMs: 1500, onEvent: (what, phase) => events.push(`${what} ${phase}`) });
    try {
      const m1 = watch.mark(ns.name, 'watched');
      const m2 = watch.mark(ns.name, 'watched');
      expect(watch.size).toBe(1);
      // The watch's first events (the objects as they are) arrive on their own.
      let seen = m1;
      const until = Date.now() + 20_000;
      while (!(events.some((e) => e.startsWith('deployments')) && events.some((e) => e.startsWith('pods'))) && Date.now() < until) {
        await watch.after(ns.name, 'watched', seen, 20_000);
        seen = watch.mark(ns.name, 'watched');
      }
      expect(events.some((e) => e.startsWith('deployments'))).toBe(true);
      expect(events.some((e) => e.startsWith('pods'))).toBe(true);
      // Settle, then a real change wakes two waiters at once.
      await new Promise((r) => setTimeout(r, 500));
      const mark = watch.mark(ns.name, 'watched');
      const { ports } = access.forName();
      const [datanode] = (await ports.cluster.components(ns.name, 'watched')).filter((c) => c.component === 'datanode');
      const woke = Promise.all([watch.after(ns.name, 'watched', mark, 30_000), watch.after(ns.name, 'watched', mark, 30_000)]);
      const started = Date.now();
      await ports.cluster.patchDeployment(ns.name, datanode!.deployment, { container: 'datanode', annotations: { 'e2e/poke': String(Date.now()) } });
      await woke;
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(m2).toBe(m1);
      // A mark from before a change resolves at once.
      const t0 = Date.now();
      await watch.after(ns.name, 'watched', mark, 30_000);
      expect(Date.now() - t0).toBeLessThan(100);
      // Nobody waiting: closed after idleMs (the sweep runs every idleMs at most).
      const deadline = Date.now() + 10_000;
      while (watch.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(watch.size).toBe(0);
    } finally {
      watch.close();
    }
  }, 60_000);

  it('an abort ends a wait at once', async () => {
    const kc = loadKubeConfig({ kubeconfig: cluster().kubeconfig });
    const watch = new KubernetesReleaseWatch(kc);
    try {
      const controller = new AbortController();
      const quiet = watch.mark(ns.name, 'no-such-release');
      // Nothing of this release exists: no event will come.
      await new Promise((r) => setTimeout(r, 1000));
      const mark = watch.mark(ns.name, 'no-such-release');
      const waiting = watch.after(ns.name, 'no-such-release', mark, 30_000, controller.signal);
      setTimeout(() => controller.abort(new Error('stop')), 200);
      await expect(waiting).rejects.toThrow('stop');
      expect(mark).toBeGreaterThanOrEqual(quiet);
    } finally {
      watch.close();
    }
  }, 30_000);
});
