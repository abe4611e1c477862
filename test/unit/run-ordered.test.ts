import { describe, expect, it } from 'vitest';
import { statusComponentLines } from '../../src/bot/handlers.js';
import { statusText } from '../../src/plan-text.js';
import { Cancelled, StepFailed } from '../../src/upgrade/errors.js';
import { planUpgrade } from '../../src/upgrade/planner/upgrade.js';
import type { Plan } from '../../src/upgrade/plan.js';
import type { RunEvent } from '../../src/upgrade/steps.js';
import { resumeLeftPaused, runSteps } from '../../src/upgrade/runner/run.js';
import type { HelmUpgradeArgs } from '../../src/upgrade/ports.js';
import type { Step } from '../../src/upgrade/steps.js';
import { parseVersion } from '../../src/upgrade/milvus/version.js';
import { FakeHelm, fakePorts, type FakePorts } from './fakes.js';
import { component, milvusIndex, planSettings, releaseState, tooling } from './helpers.js';

/** helm applies the new template to every Deployment: a paused one records it and does not roll. */
class TemplateHelm extends FakeHelm {
  constructor(private readonly ports: () => FakePorts, private readonly tag: string) {
    super({ name: 'prod', namespace: 'milvus', revision: 3, status: 'deployed', chart: 'milvus-4.2.58', chartVersion: '4.2.58', appVersion: '2.5.16' });
  }
  override async upgrade(args: HelmUpgradeArgs): Promise<void> {
    await super.upgrade(args);
    const cluster = this.ports().cluster;
    // Dropped from the chart: helm deletes it, unless it carries helm.sh/resource-policy=keep.
    const indexnode = 'prod-milvus-indexnode';
    if (cluster.annotations.get(indexnode)?.['helm.sh/resource-policy'] !== 'keep') cluster.deployments.delete(indexnode);
    for (const d of cluster.deployments.values()) {
      if (d.component === 'indexnode') continue;
      d.image = `milvusdb/milvus:${this.tag}`;
      d.generation += 1;
      d.currentReplicas = d.replicas + d.updatedReplicas;
      d.updatedReplicas = 0;
      d.availableReplicas = 0;
    }
    // Created by helm: not paused, it starts at once.
    cluster.deployments.set('prod-milvus-streamingnode', { ...component('streamingnode', { version: '2.6.15', replicas: 2, rolledOut: false }), generation: 1, observedGeneration: 1 });
    // helm takes its time: the new Deployment's first pod starts before helm returns.
    cluster.advance();
  }
}

const SOURCE = ['mixcoord', 'proxy', 'querynode', 'datanode', 'indexnode'];

function into26(): { plan: Plan; ports: FakePorts; helm: TemplateHelm; rolledBy: string[] } {
  const state = releaseState({ version: '2.5.16', chartVersion: '4.2.58', revision: 3, components: SOURCE.map((c) => component(c, { version: '2.5.16', replicas: c === 'querynode' ? 3 : 1 })) });
  const plan = planUpgrade({
    request: { cluster: 'test', namespace: 'milvus', release: 'prod', target: parseVersion('2.6.15') },
    state,
    tooling: tooling(),
    charts: milvusIndex(),
    settings: planSettings(),
  });
  const holder: { ports?: FakePorts } = {};
  const helm = new TemplateHelm(() => holder.ports!, 'v2.6.15');
  const ports = fakePorts({ components: state.components, helm });
  holder.ports = ports;
  // The order in which Deployments started rolling: a controller pass that moves a pod to the new template.
  const rolledBy: string[] = [];
  const advance = ports.cluster.advance.bind(ports.cluster);
  ports.cluster.advance = () => {
    const before = new Map([...ports.cluster.deployments.values()].map((d) => [d.deployment, d.updatedReplicas]));
    advance();
    for (const d of ports.cluster.deployments.values()) {
      const name = d.component;
      if (d.updatedReplicas > (before.get(d.deployment) ?? 0) && !rolledBy.includes(name)) rolledBy.push(name);
    }
  };
  return { plan, ports, helm, rolledBy };
}

async function run(ports: FakePorts, plan: Plan, o: { signal?: AbortSignal; startAt?: number } = {}) {
  const events: RunEvent[] = [];
  const error = await runSteps(plan, plan.steps, { ports, pollIntervalMs: 1000, signal: o.signal, startAt: o.startAt, onEvent: (e) => void events.push(e) }).then(
    () => null,
    (err: unknown) => err,
  );
  return { events, error };
}

const progress = (events: RunEvent[]) => events.flatMap((e) => (e.type === 'step-progress' ? [e.message] : []));

describe('the ordered helm path, run', () => {
  it('2.5.16 -> 2.6.15: every Deployment paused before helm, then rolled one component at a time in the 2.6 order', async () => {
    const { plan, ports, helm, rolledBy } = into26();
    const { events, error } = await run(ports, plan);
    expect(error).toBeNull();
    expect(helm.upgrades[0]).toMatchObject({ wait: false });
    expect(rolledBy).toEqual(['streamingnode', 'mixcoord', 'querynode', 'datanode', 'proxy']);
    const log = ports.cluster.pauseLog;
    expect(log.slice(0, 5).sort()).toEqual(SOURCE.map((c) => `pause prod-milvus-${c}`).sort());
    // indexnode, kept through helm, goes after proxy (the 2.6 guide removes it last).
    expect(log.slice(5)).toEqual(['resume prod-milvus-mixcoord', 'resume prod-milvus-querynode', 'resume prod-milvus-datanode', 'resume prod-milvus-proxy', 'delete prod-milvus-indexnode']);
    expect(ports.cluster.deployments.has('prod-milvus-indexnode')).toBe(false);
    expect([...ports.cluster.deployments.values()].filter((d) => d.paused)).toEqual([]);
    // Per component progress, not one opaque helm step.
    expect(progress(events)).toContain('querynode 2/3 on v2.6.15');
  });

  it('the next component resumes only once no pod of the previous one is left in graceful stop', async () => {
    const { plan, ports } = into26();
    const stoppingAtResume: string[] = [];
    const setPaused = ports.cluster.setPaused.bind(ports.cluster);
    ports.cluster.setPaused = async (ns, deployment, paused, mark) => {
      if (!paused) for (const d of ports.cluster.deployments.values()) if ((d.terminatingPods ?? 0) > 0) stoppingAtResume.push(`${deployment}: ${d.component} stopping`);
      return setPaused(ns, deployment, paused, mark);
    };
    const { error } = await run(ports, plan);
    expect(error).toBeNull();
    expect(stoppingAtResume).toEqual([]);
  });

  it('a Deployment that never rolls out stops the route, and the rest are still resumed: nothing stays paused', async () => {
    const { plan, ports } = into26();
    ports.cluster.stuck.add('prod-milvus-querynode');
    const { events, error } = await run(ports, plan);
    expect(error).toBeInstanceOf(StepFailed);
    expect((error as StepFailed).message).toMatch(/querynode did not roll out/);
    expect([...ports.cluster.deployments.values()].filter((d) => d.paused)).toEqual([]);
    // indexnode, kept through helm, is resumed too (its template is the old one: nothing rolls) and stays.
    expect(ports.cluster.pauseLog.slice(-3)).toEqual(['resume prod-milvus-datanode', 'resume prod-milvus-proxy', 'resume prod-milvus-indexnode']);
    expect(ports.cluster.deployments.has('prod-milvus-indexnode')).toBe(true);
    expect(progress(events).join('\n')).toMatch(/the run stopped: resuming datanode so nothing stays paused/);
  });

  it('a cancel after helm resumes the rest in order and ends cancelled', async () => {
    const { plan, ports } = into26();
    const cancel = new AbortController();
    const helmAt = plan.steps.findIndex((s) => s.kind === 'helm-upgrade');
    const events: RunEvent[] = [];
    const error = await runSteps(plan, plan.steps, {
      ports,
      pollIntervalMs: 1000,
      signal: cancel.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'step-finished' && e.index === helmAt) cancel.abort();
      },
    }).then(() => null, (err: unknown) => err);
    expect(error).toBeInstanceOf(Cancelled);
    expect(ports.cluster.pauseLog.filter((l) => l.startsWith('resume'))).toEqual([
      'resume prod-milvus-mixcoord', 'resume prod-milvus-querynode', 'resume prod-milvus-datanode', 'resume prod-milvus-proxy', 'resume prod-milvus-indexnode',
    ]);
    expect([...ports.cluster.deployments.values()].filter((d) => d.paused)).toEqual([]);
    expect(events.some((e) => e.type === 'step-started' && e.index > helmAt)).toBe(false);
  });

  it('a run resumed after a worker died between resumes goes on in order, resuming nothing twice', async () => {
    const { plan, ports, rolledBy } = into26();
    const firstResume = plan.steps.findIndex((s) => s.kind === 'resume-deployments');
    // The dead worker finished helm and the streamingnode + mixcoord and querynode steps.
    await run(ports, { ...plan, steps: plan.steps.slice(0, firstResume + 2) });
    const before = ports.cluster.pauseLog.length;
    const { error } = await run(ports, plan, { startAt: firstResume + 2 });
    expect(error).toBeNull();
    expect(ports.cluster.pauseLog.slice(before)).toEqual(['resume prod-milvus-datanode', 'resume prod-milvus-proxy', 'delete prod-milvus-indexnode']);
    expect(rolledBy).toEqual(['streamingnode', 'mixcoord', 'querynode', 'datanode', 'proxy']);
  });

  it('a Deployment someone else paused is not resumed by the bot: the step says so', async () => {
    const { plan, ports } = into26();
    const steps = plan.steps.filter((s) => s.kind === 'resume-deployments' && s.component === 'proxy');
    ports.cluster.deployments.get('prod-milvus-proxy')!.paused = true;
    const { error } = await run(ports, { ...plan, steps });
    expect((error as StepFailed).message).toMatch(/prod-milvus-proxy is paused, and not by the bot/);
    expect(ports.cluster.pauseLog).toEqual([]);
  });
});

describe('status shows paused Deployments loudly', () => {
  const s = releaseState({
    components: [
      { ...component('proxy'), paused: true, pausedBy: 'ordered-helm' },
      { ...component('querynode'), paused: true, pausedBy: null },
      component('datanode'),
    ],
  });

  it('in the CLI text: on the component line and in a closing warning', () => {
    const text = statusText(s, '2.4.5');
    expect(text).toMatch(/proxy .*PAUSED \(by the bot, for an ordered helm step\)/);
    expect(text).toMatch(/querynode .*PAUSED \(not by the bot\)/);
    expect(text).not.toMatch(/datanode .*PAUSED/);
    expect(text).toContain('WARNING: 2 Deployments paused (prod-milvus-proxy, prod-milvus-querynode)');
  });

  it('in Slack: a warning on the line of each paused one, with how to resume one paused by someone else', () => {
    const lines = statusComponentLines(s);
    expect(lines[0]).toMatch(/proxy.*:warning: \*PAUSED\* \(by the bot/);
    expect(lines[1]).toContain('kubectl rollout resume deployment/prod-milvus-querynode');
    expect(lines[2]).not.toContain('PAUSED');
  });
});

describe('the health gate', () => {
  const gate = (settleSeconds = 30): Step => ({ kind: 'check-health', settleSeconds, timeoutSeconds: 60, sinceStep: 0, description: 'health' });
  const pod = (name: string, o: Partial<{ ready: boolean; restarts: number; lastAt: number | null; waiting: string | null }> = {}) => ({
    name,
    component: name.split('-')[2] ?? name,
    ready: o.ready ?? true,
    phase: 'Running',
    containers: [{ name: 'c', ready: o.ready ?? true, restartCount: o.restarts ?? 0, waitingReason: o.waiting ?? null, lastTerminatedAt: o.lastAt ?? null }],
  });
  async function gateRun(report: (now: number, began: number) => ReturnType<typeof pod>[], settle = 30) {
    const ports = fakePorts({ components: [component('proxy')] });
    const began = ports.clock.now();
    ports.cluster.podsReport = (now) => report(now, began);
    const plan = { namespace: 'milvus', release: 'prod' };
    const events: RunEvent[] = [];
    const error = await runSteps(plan, [gate(settle)], { ports, pollIntervalMs: 1000, onEvent: (e) => void events.push(e) }).then(() => null, (e: unknown) => e);
    return { error, ports, events };
  }

  it('passes when every pod is ready and stays ready through the settle window', async () => {
    const { error, ports, events } = await gateRun(() => [pod('prod-milvus-proxy-a'), pod('prod-milvus-querynode-b')]);
    expect(error).toBeNull();
    expect(ports.clock.sleeps.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(30_000);
    expect(events.at(-1)).toMatchObject({ type: 'step-finished', detail: '2 pods ready and still ready after 30s, no restarts' });
  });

  it('a pod in CrashLoopBackOff fails at once, naming the pod and showing its last log lines', async () => {
    const { error, ports } = await gateRun(() => [pod('prod-milvus-proxy-a'), pod('prod-milvus-querynode-b', { ready: false, waiting: 'CrashLoopBackOff', restarts: 4, lastAt: 2_000_000 })]);
    expect(error).toBeInstanceOf(StepFailed);
    const text = (error as StepFailed).explain();
    expect(text).toMatch(/querynode is not healthy: pod prod-milvus-querynode-b: container c is in CrashLoopBackOff \(4 restarts\)/);
    expect(text).toMatch(/last 20 log lines of prod-milvus-querynode-b/);
    expect(ports.clock.sleeps).toEqual([]);
  });

  it('a restart since the hop began fails even with the pod ready again; an older one does not count', async () => {
    const recent = await gateRun((_now, began) => [pod('prod-milvus-proxy-a', { restarts: 1, lastAt: began + 1 })]);
    expect((recent.error as StepFailed).explain()).toMatch(/pod prod-milvus-proxy-a: container c restarted \(1 restarts, the last since this hop began\)/);
    const old = await gateRun((_now, began) => [pod('prod-milvus-proxy-a', { restarts: 3, lastAt: began - 60_000 })]);
    expect(old.error).toBeNull();
  });

  it('a pod that goes not-ready during the settle window fails the gate (a rollout check would have passed)', async () => {
    const { error } = await gateRun((now, began) => [pod('prod-milvus-proxy-a', { ready: now - began < 10_000 })]);
    expect((error as StepFailed).explain()).toMatch(/proxy is not healthy during the settle window: pod prod-milvus-proxy-a: not ready/);
  });

  it('a pod that never becomes ready fails at the timeout, naming it', async () => {
    const { error } = await gateRun(() => [pod('prod-milvus-proxy-a'), pod('prod-milvus-datanode-b', { ready: false })]);
    expect((error as StepFailed).explain()).toMatch(/datanode is not healthy within 60s: pod prod-milvus-datanode-b: not ready/);
  });
});

describe('resumeLeftPaused (a request ended from outside its run)', () => {
  it('resumes, in the plan\'s order, what the dead run left paused in its hop, and nothing of a later hop', async () => {
    const { plan, ports } = into26();
    const firstResume = plan.steps.findIndex((s) => s.kind === 'resume-deployments');
    // The dead run finished helm; mixcoord, querynode, datanode, proxy and the kept indexnode are paused.
    await run(ports, { ...plan, steps: plan.steps.slice(0, firstResume) });
    const before = ports.cluster.pauseLog.length;
    const later: Plan['steps'] = [{ kind: 'pause-deployments', description: 'a later hop' }, { kind: 'resume-deployments', component: 'proxy', timeoutSeconds: 60, description: 'later' }];
    const said: string[] = [];
    await resumeLeftPaused({ ...plan, steps: [...plan.steps, ...later] }, firstResume, ports, (m) => said.push(m));
    expect(ports.cluster.pauseLog.slice(before)).toEqual(['resume prod-milvus-mixcoord', 'resume prod-milvus-querynode', 'resume prod-milvus-datanode', 'resume prod-milvus-proxy', 'resume prod-milvus-indexnode']);
    expect([...ports.cluster.deployments.values()].filter((d) => d.paused)).toEqual([]);
    expect(said.some((m) => /resuming streamingnode so nothing stays paused/.test(m))).toBe(true);
  });

  it('a plan without the ordered path: nothing to do', async () => {
    const ports = fakePorts({ components: [component('proxy')] });
    await resumeLeftPaused({ namespace: 'milvus', release: 'prod', steps: [{ kind: 'helm-repo-update', repoName: 'z', repoUrl: 'u', description: 'x' }] }, 0, ports);
    expect(ports.cluster.pauseLog).toEqual([]);
  });
});

describe('waiting for the StatefulSets helm changed', () => {
  it('ends once each runs its update revision with every pod ready; a missing one counts as done', async () => {
    const ports = fakePorts({ components: [component('proxy', { version: '2.4.23' })] });
    ports.cluster.statefulSets.set('prod-etcd', { name: 'prod-etcd', replicas: 3, readyReplicas: 3, updatedReplicas: 0, currentRevision: 'a', updateRevision: 'b', generation: 2, observedGeneration: 1 });
    const plan = { namespace: 'milvus', release: 'prod' } as Plan;
    const steps: Step[] = [{ kind: 'wait-statefulsets', statefulSets: ['prod-etcd', 'prod-gone'], timeoutSeconds: 60, description: 'wait' }];
    const events: RunEvent[] = [];
    await runSteps(plan, steps, { ports, pollIntervalMs: 10, onEvent: (e) => void events.push(e) });
    expect(events.at(-1)).toMatchObject({ type: 'step-finished', detail: 'prod-etcd, prod-gone rolled out' });
    expect(events.some((e) => e.type === 'step-progress' && /prod-etcd: [0-2]\/3 updated/.test(e.message))).toBe(true);
    expect(ports.cluster.statefulSets.get('prod-etcd')).toMatchObject({ currentRevision: 'b', updatedReplicas: 3, readyReplicas: 3 });
  });

  it('one that never settles times out, naming it, with the Milvus components still paused', async () => {
    const ports = fakePorts({ components: [component('proxy', { version: '2.4.23' })] });
    ports.cluster.statefulSets.set('prod-etcd', { name: 'prod-etcd', replicas: 3, readyReplicas: 3, updatedReplicas: 3, currentRevision: 'a', updateRevision: 'b', generation: 2, observedGeneration: 1 });
    // A controller that never observes the new generation.
    const read = ports.cluster.statefulSet.bind(ports.cluster);
    ports.cluster.statefulSet = async (ns, name) => {
      const s = await read(ns, name);
      return s ? { ...s, observedGeneration: 1 } : null;
    };
    const plan = { namespace: 'milvus', release: 'prod' } as Plan;
    const { error } = await run(ports, { ...plan, steps: [{ kind: 'wait-statefulsets', statefulSets: ['prod-etcd'], timeoutSeconds: 5, description: 'wait' }] } as Plan);
    expect(String((error as Error).message)).toMatch(/the StatefulSets helm changed did not roll out within 5s \(prod-etcd: 3\/3 updated, 3\/3 ready\)/);
  });
});
