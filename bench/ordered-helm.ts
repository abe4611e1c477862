/**
 * Benchmark 4: the ordered helm path against plain helm (helm-parallel), on the test control
 * plane, the same release shape for both: chart 4.2.58 (2.5.16, mixcoord, querynode 2 replicas)
 * upgraded to 2.6.15 (chart 5.0.19). Each on a fresh install; the bot's engine in this process
 * (makeUpgradePlan + runSteps from src, poll every 100 ms, health settle 0 so the figures are
 * the orchestration, not a chosen wait).
 *
 * Measured: plan and run wall time; the floor (the fastest the pods can start: ordered, one
 * component after the other, each one pod at a time, = pods started x delay; parallel, every
 * Deployment at once, = the largest Deployment's pods x delay); and the seconds during which
 * pods of two Milvus versions were Ready at once (both serving), sampled from the API every 50 ms.
 */
import { randomBytes } from 'node:crypto';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { createEngineAccess } from '../src/engine-access.js';
import { DEFAULT_PLAN_SETTINGS, type PlanSettings } from '../src/upgrade/plan.js';
import { runSteps } from '../src/upgrade/runner/run.js';
import { makeUpgradePlan } from '../src/upgrade/planner/service.js';
import { kubectl, type ClusterInfo } from '../test/harness/control-plane.js';
import { install, kubeletDelay, requireCluster } from './rolling-overhead.js';
import { isMain, runAsScript, log, machineLine, seconds, stamp, table, writeSection } from './run.js';

const FROM_CHART = '4.2.58';
const TARGET = '2.6.15';
const POLL_MS = 100;
const SAMPLE_MS = 50;

interface Sampled {
  /** ms during which Ready pods ran two Milvus versions. */
  bothServing: number;
  /** ms during which a Ready new proxy met a Ready old querynode (the case of milvus-io/milvus#42492). */
  newProxyOldQuerynode: number;
  /** Deployments' first new-version pod, in order. */
  order: string[];
  stop(): Promise<void>;
}

/** Samples the release's pods: which versions Ready pods run, and which component moved first. */
function sample(info: ClusterInfo, namespace: string, release: string): Sampled {
  const kc = new KubeConfig();
  kc.loadFromFile(info.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const out: Sampled = { bothServing: 0, newProxyOldQuerynode: 0, order: [], stop: async () => {} };
  let running = true;
  let last = performance.now();
  const loop = (async () => {
    while (running) {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/instance=${release},app.kubernetes.io/name=milvus` }).catch(() => null);
      const now = performance.now();
      if (pods) {
        const versions = new Set<string>();
        let newProxy = false;
        let oldQuerynode = false;
        for (const p of pods.items) {
          if (p.metadata?.deletionTimestamp) continue;
          const ready = (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
          const tag = p.spec?.containers?.[0]?.image?.split(':').pop() ?? '';
          if (!ready) continue;
          versions.add(tag);
          const component = p.metadata?.labels?.component ?? '?';
          if (tag === `v${TARGET}` && !out.order.includes(component)) out.order.push(component);
          if (component === 'proxy' && tag === `v${TARGET}`) newProxy = true;
          if (component === 'querynode' && tag !== `v${TARGET}`) oldQuerynode = true;
        }
        if (versions.size > 1) out.bothServing += now - last;
        if (newProxy && oldQuerynode) out.newProxyOldQuerynode += now - last;
      }
      last = now;
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
  })();
  out.stop = async () => {
    running = false;
    await loop;
  };
  return out;
}

async function replicasByComponent(info: ClusterInfo, namespace: string): Promise<Map<string, number>> {
  const kc = new KubeConfig();
  kc.loadFromFile(info.kubeconfig);
  const list = await kc.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace });
  return new Map(list.items.map((d) => [d.metadata?.labels?.component ?? d.metadata?.name ?? '?', d.spec?.replicas ?? 1]));
}

async function one(info: ClusterInfo, namespace: string, release: string, strategy: 'helm' | 'helm-parallel', delayMs: number) {
  const settings: PlanSettings = { ...DEFAULT_PLAN_SETTINGS, repoUrl: info.chartRepoUrl, healthSettleSeconds: 0, rolloutTimeoutSeconds: 300 };
  const conn = createEngineAccess({ kubeconfig: info.kubeconfig, helmEnv: info.helmEnv, settings }).default();
  const t0 = performance.now();
  const plan = await makeUpgradePlan(conn, { release, namespace, version: TARGET, strategy });
  const planMs = performance.now() - t0;
  const s = sample(info, namespace, release);
  const t1 = performance.now();
  await runSteps(plan, plan.steps, { ports: conn.ports, pollIntervalMs: POLL_MS });
  const runMs = performance.now() - t1;
  await s.stop();
  const replicas = await replicasByComponent(info, namespace);
  const pods = [...replicas.values()].reduce((a, b) => a + b, 0);
  const floor = strategy === 'helm' ? pods * delayMs : Math.max(...replicas.values()) * delayMs;
  return { strategy, planMs, runMs, floor, pods, bothServing: s.bothServing, newProxyOldQuerynode: s.newProxyOldQuerynode, order: s.order };
}

export async function main(): Promise<void> {
  const info = await requireCluster();
  const when = stamp();
  const machineText = machineLine();
  const delay = kubeletDelay(info);
  const id = randomBytes(3).toString('hex');
  const jobs = (['helm', 'helm-parallel'] as const).map((strategy) => ({ strategy, namespace: `bench-ord-${id}-${strategy}`, release: 'ord' }));
  try {
    log(`installing ${jobs.length} releases at chart ${FROM_CHART} (not measured)`);
    await Promise.all(jobs.map((j) => install(info, j.namespace, j.release, FROM_CHART, { 'queryNode.replicas': '2' })));
    const results = [];
    for (const j of jobs) {
      log(`${j.strategy}: ${j.release} -> ${TARGET}`);
      const r = await one(info, j.namespace, j.release, j.strategy, delay.ms);
      log(`  plan ${seconds(r.planMs)}, run ${seconds(r.runMs)}, floor ${seconds(r.floor)}, two versions serving ${seconds(r.bothServing)}, new proxy + old querynode ${seconds(r.newProxyOldQuerynode)}, order ${r.order.join(', ')}`);
      results.push(r);
    }
    const rows = results.map((r) => [
      r.strategy === 'helm' ? 'ordered (default)' : 'helm-parallel (plain helm)',
      seconds(r.planMs),
      seconds(r.runMs),
      seconds(r.planMs + r.runMs),
      `${seconds(r.floor)} (${r.strategy === 'helm' ? `${r.pods} pods one after the other` : 'the largest Deployment'})`,
      seconds(r.runMs - r.floor),
      seconds(r.bothServing),
      seconds(r.newProxyOldQuerynode),
      r.order.join(', '),
    ]);
    writeSection(
      'ordered-helm',
      [
        '## 4. Ordered helm upgrade against plain helm (2.5.16 -> 2.6.15)',
        '',
        `_Measured ${when} on ${machineText}; test control plane (kube-apiserver/controller-manager 1.20.2, etcd, fake kubelet); pod start delay ${delay.ms} ms, read from ${delay.source}._`,
        '',
        `The same release for both, each on a fresh install: chart ${FROM_CHART} (Milvus 2.5.16: mixcoord, datanode, indexnode, querynode ×2, proxy), upgraded to ${TARGET} (chart 5.0.19: streamingnode added, indexnode removed). The bot's engine in this process (\`makeUpgradePlan\` + \`runSteps\`, poll every ${POLL_MS} ms, health settle 0 s so the figures are the orchestration). **Two versions serving** = time during which Ready pods of the release ran both 2.5.16 and 2.6.15 (sampled every ${SAMPLE_MS} ms from the API): the window in which a 2.6 proxy can meet 2.5 querynodes (milvus-io/milvus#42492). **Order** = components in the order their first 2.6.15 pod became Ready.`,
        '',
        table(['strategy', 'plan', 'run', 'total', 'floor', 'run above the floor', 'two versions serving', '2.6 proxy with 2.5 querynodes', 'order'], rows),
        '',
        'The ordered path is slower by design (one component at a time) and two versions serve side by side for longer; what it removes is the harmful overlap: a 2.6 proxy serving while 2.5 querynodes still do (the proxy is resumed only after every querynode is on 2.6). Plain helm starts every Deployment at once, in no order (here the proxy first).',
      ].join('\n'),
    );
  } finally {
    for (const j of jobs) await kubectl(info, ['delete', 'namespace', j.namespace, '--wait=false']).catch(() => '');
  }
}

if (isMain(import.meta.url)) runAsScript(main);
