/**
 * Benchmark 8: availability during an upgrade into 2.6, as the bot measures it (issue 26): the
 * ordered helm path (the default) against helm-parallel (plain helm), the release shape of
 * bench/ordered-helm.ts (chart 4.2.58 at 2.5.16, mixcoord, querynode ×2, upgraded to 2.6.15 with
 * chart 5.0.19), each on a fresh install on the test control plane.
 *
 * No Milvus binary runs here: the fake Milvus (test/harness/fake-milvus.ts) follows the release's
 * pods (fake-milvus/follow.ts) and behaves as their rules say (fake-milvus/release-rules.ts): the
 * version of the Ready proxy, UNAVAILABLE without one, Query/Search hanging to the client's
 * deadline while a 2.6 proxy runs beside an older querynode (milvus-io/milvus#42492), loads hung
 * on 2.6 without a Ready 2.6 streamingnode. It holds one loaded collection with rows.
 *
 * The bot's engine in this process, with Milvus checks required and MILVUS_ADDRESS the fake's
 * fixed address: makeUpgradePlan (which reads Milvus and picks the canary), then runSteps with
 * the availability loop beside it exactly as the worker starts it (measureAvailability with the
 * plan's data and the connection's ports.milvus: one query and one search a second). The data
 * gate (the plan's last step, check-data) runs as in production.
 *
 * Also sampled every 50 ms, to say why the figures are what they are: how long the fake's rules
 * said "queries time out" (#42492), "unreachable" and "loads hang".
 */
import { randomBytes } from 'node:crypto';
import { createEngineAccess } from '../src/engine-access.js';
import type { Availability, OperationAvailability } from '../src/upgrade/data-snapshot.js';
import { explainError } from '../src/upgrade/errors.js';
import { DEFAULT_PLAN_SETTINGS, type PlanSettings } from '../src/upgrade/plan.js';
import { availabilityText, measureAvailability } from '../src/upgrade/runner/availability.js';
import { runSteps } from '../src/upgrade/runner/run.js';
import { makeUpgradePlan } from '../src/upgrade/planner/service.js';
import type { MilvusAccess } from '../src/upgrade/ports.js';
import type { RunEvent } from '../src/upgrade/steps.js';
import { kubectl, type ClusterInfo } from '../test/harness/control-plane.js';
import { startFakeMilvus, type FakeCollection, type FakeMilvus } from '../test/harness/fake-milvus.js';
import { followRelease, type Following } from '../test/harness/fake-milvus/follow.js';
import { install, kubeletDelay, requireCluster } from './rolling-overhead.js';
import { isMain, runAsScript, log, machineLine, seconds, stamp, table, writeSection } from './run.js';

const FROM_CHART = '4.2.58';
const FROM = 'v2.5.16';
const TARGET = '2.6.15';
const POLL_MS = 100;
const SAMPLE_MS = 50;
/** The gate's wait for loaded collections to load again: long enough for a slow machine, short enough to end. */
const DATA_TIMEOUT_S = 120;
const COLLECTION: FakeCollection = { name: 'books', loadState: 'Loaded', rowCount: 1000 };

/** Milvus settings of the bot as the e2e suites give them: checks required, one fixed address. */
export function milvusSettings(fake: FakeMilvus, checks: 'required' | 'off' = 'required') {
  return { checks, addressTemplate: fake.address, credentialsSecret: null, tls: false } as const;
}

/** Waits until the fake says what the release's pods say (`version`), or throws. */
export async function followUntil(fake: FakeMilvus, info: ClusterInfo, namespace: string, release: string, version: string): Promise<Following> {
  const following = await followRelease(fake, { kubeconfig: info.kubeconfig, namespace, release });
  const until = Date.now() + 60_000;
  for (;;) {
    const b = await following.refresh();
    if (b.serverVersion === version && !b.unavailable) return following;
    if (Date.now() > until) {
      following.stop();
      throw new Error(`the fake Milvus does not follow ${release} to ${version}: ${b.serverVersion ?? 'unavailable'} (${b.why.join('; ')})`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface RuleTime {
  /** ms the fake's rules said Query/Search hang (#42492). */
  timeOut: number;
  unavailable: number;
  loadsStuck: number;
  stop(): void;
}

/** How long each of the fake's rules held during the run, from what it follows (no API call). */
function watchRules(following: Following): RuleTime {
  const out: RuleTime = { timeOut: 0, unavailable: 0, loadsStuck: 0, stop: () => {} };
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const b = following.behaviour;
    if (b.dataCallsTimeOut) out.timeOut += now - last;
    if (b.unavailable) out.unavailable += now - last;
    if (b.loadsStuck) out.loadsStuck += now - last;
    last = now;
  }, SAMPLE_MS);
  out.stop = () => clearInterval(timer);
  return out;
}

/** A failure's kind, from its words: what the figures count. */
function kindOf(error: string): string {
  if (/DEADLINE_EXCEEDED/.test(error)) return 'DEADLINE_EXCEEDED';
  if (/UNAVAILABLE/.test(error)) return 'UNAVAILABLE';
  if (/collection not loaded/.test(error)) return 'collection not loaded';
  return error.slice(0, 80);
}

/**
 * The connection's Milvus access, its sampler's failures counted by kind on the way (the loop
 * keeps only the first error's words). Reads nothing more: every call is the product's own.
 */
function countingFailures(access: MilvusAccess, kinds: Map<string, number>): MilvusAccess {
  const count = async (op: () => Promise<void>) => {
    try {
      await op();
    } catch (err) {
      const k = `${kindOf(explainError(err))}`;
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
      throw err;
    }
  };
  return {
    checks: access.checks,
    address: (r) => access.address(r),
    endpoint: (...a) => access.endpoint(...a),
    reader: {
      snapshot: (...a) => access.reader.snapshot(...a),
      pickCanary: (...a) => access.reader.pickCanary(...a),
      probe: (...a) => access.reader.probe(...a),
      openSampler: async (...a) => {
        const s = await access.reader.openSampler(...a);
        const search = s.search;
        return { query: () => count(() => s.query()), search: search ? () => count(search) : null, close: () => s.close() };
      },
    },
  };
}

interface Result {
  readonly strategy: 'helm' | 'helm-parallel';
  readonly planMs: number;
  readonly runMs: number;
  readonly dataChecked: string;
  readonly availability: Availability | { readonly notMeasured: string };
  /** The check-data step: passed (its summary), failed (why), or not run. */
  readonly gate: { readonly passed: boolean; readonly text: string; readonly ms: number } | null;
  readonly runError: string | null;
  readonly rules: { timeOut: number; unavailable: number; loadsStuck: number };
  /** The sampler's failures (queries and searches) by kind. */
  readonly failureKinds: ReadonlyMap<string, number>;
}

async function one(info: ClusterInfo, namespace: string, release: string, strategy: Result['strategy']): Promise<Result> {
  const fake = await startFakeMilvus({ version: 'v0.0.0-not-followed', collections: [{ ...COLLECTION }] });
  let following: Following | null = null;
  const settings: PlanSettings = { ...DEFAULT_PLAN_SETTINGS, repoUrl: info.chartRepoUrl, healthSettleSeconds: 0, rolloutTimeoutSeconds: 300, dataTimeoutSeconds: DATA_TIMEOUT_S };
  const access = createEngineAccess({ kubeconfig: info.kubeconfig, helmEnv: info.helmEnv, settings, milvus: () => milvusSettings(fake) });
  try {
    following = await followUntil(fake, info, namespace, release, FROM);
    const conn = access.default();
    const t0 = performance.now();
    const plan = await makeUpgradePlan(conn, { release, namespace, version: TARGET, strategy });
    const planMs = performance.now() - t0;
    const data = plan.data;
    const dataChecked = !data ? 'no data in the plan' : data.notChecked ? `not checked: ${data.notChecked}` : `${data.snapshot?.collections.length ?? 0} collection(s), ${data.canaries.length} canary`;
    if (!data || data.notChecked) throw new Error(`the plan did not read the fake Milvus: ${dataChecked}`);
    const rules = watchRules(following);
    // As the worker does (jobs/execute.ts): started before the first step, stopped after the last.
    const t1 = performance.now();
    const kinds = new Map<string, number>();
    const loop = await measureAvailability(data, conn.ports.milvus && countingFailures(conn.ports.milvus, kinds), { namespace, release }, conn.ports.clock);
    let gate: Result['gate'] = null;
    let gateBegan = 0;
    let runError: string | null = null;
    const onEvent = (e: RunEvent) => {
      if (e.type === 'step-started' && e.step.kind === 'check-data') gateBegan = performance.now();
      if (e.type === 'step-finished' && plan.steps[e.index]?.kind === 'check-data') gate = { passed: true, text: e.detail, ms: performance.now() - gateBegan };
      if (e.type === 'step-failed' && plan.steps[e.index]?.kind === 'check-data') gate = { passed: false, text: e.error, ms: performance.now() - gateBegan };
    };
    try {
      await runSteps(plan, plan.steps, { ports: conn.ports, pollIntervalMs: POLL_MS, onEvent });
    } catch (err) {
      runError = explainError(err);
    }
    const runMs = performance.now() - t1;
    const availability = 'stop' in loop ? await loop.stop() : loop;
    rules.stop();
    return { strategy, planMs, runMs, dataChecked, availability, gate, runError, rules: { timeOut: rules.timeOut, unavailable: rules.unavailable, loadsStuck: rules.loadsStuck }, failureKinds: kinds };
  } finally {
    following?.stop();
    access.close();
    await fake.close();
  }
}

/** A plan with a static fake: the first plan of a process also loads the SDK and may refresh the chart index. */
async function warmUp(info: ClusterInfo, namespace: string, release: string): Promise<void> {
  const fake = await startFakeMilvus({ version: FROM, collections: [{ ...COLLECTION }] });
  const settings: PlanSettings = { ...DEFAULT_PLAN_SETTINGS, repoUrl: info.chartRepoUrl };
  const access = createEngineAccess({ kubeconfig: info.kubeconfig, helmEnv: info.helmEnv, settings, milvus: () => milvusSettings(fake) });
  try {
    await makeUpgradePlan(access.default(), { release, namespace, version: TARGET });
  } finally {
    access.close();
    await fake.close();
  }
}

const op = (o: OperationAvailability | null | undefined, f: (o: OperationAvailability) => string) => (o ? f(o) : 'n/a');
const gap = (o: OperationAvailability | null | undefined) => op(o, (x) => seconds(x.longestGapMs, 1));
const failed = (o: OperationAvailability | null | undefined) => op(o, (x) => `${x.failed} of ${x.samples}`);
const kindsText = (kinds: ReadonlyMap<string, number>) => (kinds.size ? [...kinds].map(([k, n]) => `${k} ×${n}`).join(', ') : 'none');
const measured = (a: Result['availability']) => ('notMeasured' in a ? null : a);

export async function main(): Promise<void> {
  const info = await requireCluster();
  const when = stamp();
  const machineText = machineLine();
  const delay = kubeletDelay(info);
  const id = randomBytes(3).toString('hex');
  const jobs = (['helm', 'helm-parallel'] as const).map((strategy) => ({ strategy, namespace: `bench-avl-${id}-${strategy}`, release: 'avl' }));
  try {
    log(`installing ${jobs.length} releases at chart ${FROM_CHART} (not measured)`);
    await Promise.all(jobs.map((j) => install(info, j.namespace, j.release, FROM_CHART, { 'queryNode.replicas': '2' })));
    log('warming up (not measured): one plan, so neither strategy pays for the chart index, the SDK\'s first load or module loading');
    await warmUp(info, jobs[0]!.namespace, jobs[0]!.release);
    const results: Result[] = [];
    for (const j of jobs) {
      log(`${j.strategy}: ${j.release} -> ${TARGET}, the fake Milvus following it`);
      const r = await one(info, j.namespace, j.release, j.strategy);
      log(`  plan ${seconds(r.planMs)} (data: ${r.dataChecked}), run ${seconds(r.runMs)}${r.runError ? ` FAILED: ${r.runError}` : ''}`);
      log(`  ${availabilityText(r.availability)}`);
      log(`  data gate: ${r.gate ? `${r.gate.passed ? 'passed' : 'FAILED'} in ${seconds(r.gate.ms)}: ${r.gate.text}` : 'not run'}`);
      log(`  failures by kind: ${kindsText(r.failureKinds)}`);
      log(`  fake's rules: queries time out ${seconds(r.rules.timeOut)}, unreachable ${seconds(r.rules.unavailable)}, loads hang ${seconds(r.rules.loadsStuck)}`);
      results.push(r);
    }
    const name = (r: Result) => (r.strategy === 'helm' ? 'ordered (default)' : 'helm-parallel (plain helm)');
    const rows = results.map((r) => {
      const a = measured(r.availability);
      return [
        name(r),
        gap(a?.query),
        gap(a?.search),
        failed(a?.query),
        failed(a?.search),
        kindsText(r.failureKinds),
        seconds(r.planMs + r.runMs),
        r.gate ? `${r.gate.passed ? 'passed' : 'failed'} (${seconds(r.gate.ms, 1)})` : `not run${r.runError ? `: ${r.runError.slice(0, 80)}` : ''}`,
        seconds(r.rules.timeOut, 1),
        seconds(r.rules.unavailable, 1),
        seconds(r.rules.loadsStuck, 1),
      ];
    });
    const errors = results.flatMap((r) => {
      const a = measured(r.availability);
      const lines = [a?.query.firstError ? `- ${name(r)}, first failed query: \`${a.query.firstError}\`` : null, a?.search?.firstError ? `- ${name(r)}, first failed search: \`${a.search.firstError}\`` : null];
      if (!a) lines.push(`- ${name(r)}: availability not measured: ${'notMeasured' in r.availability ? r.availability.notMeasured : ''}`);
      if (r.runError) lines.push(`- ${name(r)}: the run failed: ${r.runError}`);
      return lines.filter((l): l is string => l !== null);
    });
    writeSection(
      'availability',
      [
        '## 8. Availability during the upgrade into 2.6: ordered against plain helm (2.5.16 -> 2.6.15)',
        '',
        `_Measured ${when} on ${machineText}; test control plane (kube-apiserver/controller-manager 1.20.2, etcd, fake kubelet); pod start delay ${delay.ms} ms, read from ${delay.source}._`,
        '',
        `The release of benchmark 4, each strategy on a fresh install: chart ${FROM_CHART} (Milvus 2.5.16: mixcoord, datanode, indexnode, querynode ×2, proxy) upgraded to ${TARGET} (chart 5.0.19). No Milvus runs: the fake Milvus (test/harness/fake-milvus.ts, real gRPC) follows the release's pods by the rules of test/harness/fake-milvus/release-rules.ts, with one loaded collection of ${COLLECTION.rowCount.toLocaleString('en-US')} rows. The bot's engine in this process with Milvus checks required (MILVUS_ADDRESS = the fake's address): \`makeUpgradePlan\` (reads Milvus, picks the canary), then \`runSteps\` (poll every ${POLL_MS} ms, health settle 0 s, data gate timeout ${DATA_TIMEOUT_S} s) with the availability loop beside it as the worker starts it (\`measureAvailability\`: the canary's keys queried and its vector searched once a second on one held connection; a call fails after the reader's 5 s canary timeout). **Longest gap** = longest time without an answer; **failed** = failed samples of all samples. **Rules** = how long the fake's rules held during the run (sampled every ${SAMPLE_MS} ms): queries hang (a 2.6 proxy Ready while a querynode older than 2.6 exists, milvus-io/milvus#42492), unreachable (no Ready proxy), loads hang (2.6 proxy without a Ready 2.6 streamingnode).`,
        '',
        table(['strategy', 'longest query gap', 'longest search gap', 'failed queries', 'failed searches', 'failures by kind', 'total (plan + run)', 'data gate', 'rule: queries hang', 'rule: unreachable', 'rule: loads hang'], rows),
        '',
        ...(errors.length ? [...errors, ''] : []),
        'When the two rules hold at once, the fake answers "collection not loaded" (test/harness/fake-milvus/answers.ts checks the load state before #42492\'s hang): plain helm\'s failures are then of that kind, not DEADLINE_EXCEEDED, though both rules say the same thing, that the 2.6 proxy cannot serve yet. The failures are only as real as the fake\'s rules: they say what the bot reports when Milvus behaves so, on this control plane\'s timings (the fake kubelet makes a pod Ready after a fixed delay), not how long a real 2.6 proxy and 2.5 querynode take.',
      ].join('\n'),
    );
  } finally {
    for (const j of jobs) await kubectl(info, ['delete', 'namespace', j.namespace, '--wait=false']).catch(() => '');
  }
}

if (isMain(import.meta.url)) runAsScript(main);
