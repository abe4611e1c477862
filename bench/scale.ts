/**
 * Benchmark 3: 20 releases in 20 namespaces upgraded at once, the helm path, through the real
 * queue (BullMQ on Redis) and the app's worker role: `node <the CMD's flags> dist/main.js` with
 * ROLES=worker, as the Dockerfile runs it (src compiled by tsconfig.build.json into a temporary directory), once
 * with WORKER_CONCURRENCY=5 and once with 20, each on 20 fresh releases (chart 4.1.24, Milvus
 * 2.3.11 -> 2.4.5 on chart 4.1.36). A first round upgrades one release alone, for reference.
 * This process installs the releases, makes the plans and the approved requests with the
 * engine and the request store from src, and enqueues them, as the bot would.
 *
 * Reported: every request's outcome; the time from the first enqueue to the last request done;
 * Redis commands per upgrade, twice: `INFO commandstats` before/after (every client of this
 * Redis server counts, so the idle rate just before is shown beside it), and through MONITOR,
 * only the commands that name this round's private key prefix, less this benchmark's own
 * watching; the worker process's peak RSS (VmRSS from /proc every 100 ms, the same figure as
 * process.memoryUsage().rss; helm runs as its child processes, not counted).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { deleteKeys } from '../test/integration/redis.js';
import { sealApproved, TEST_SEAL_KEY } from '../test/fixtures/test-sealer.js';
import { UpgradeQueue } from '../src/jobs/queue.js';
import { RedisRequestStore } from '../src/jobs/requests.js';
import { createEngineAccess } from '../src/engine-access.js';
import { DEFAULT_PLAN_SETTINGS } from '../src/upgrade/plan.js';
import { deriveState, isTerminal, type Actor, type UpgradeRequest } from '../src/upgrade/requests.js';
import { makeUpgradePlan } from '../src/upgrade/planner/service.js';
import { helm, kubectl, type ClusterInfo } from '../test/harness/control-plane.js';
import { deleteNamespaces, install, kubeletDelay, requireCluster } from './rolling-overhead.js';
import { BENCH_DIR, isMain, log, machine, machineLine, pool, seconds, stamp, table, writeSection } from './run.js';

const run = promisify(execFile);
const RELEASES = Number(process.env.BENCH_SCALE_RELEASES ?? 20);
/**
 * The health gate's watch after the rollout (30 s by default) is a deliberate wait, like the
 * script's minReadySeconds: 0 here, so the comparison with plain helm shows our own overhead.
 */
const SETTLE_SECONDS = Number(process.env.BENCH_SCALE_SETTLE_SECONDS ?? 0);
/** [releases, worker concurrency]: one upgrade alone for reference, then the 20 at concurrency 5 and 20. */
const ROUNDS: Array<[number, number]> = [[1, 1], ...(process.env.BENCH_SCALE_CONCURRENCY ?? '5,20').split(',').map((c): [number, number] => [RELEASES, Number(c)])];
const FROM_CHART = '4.1.24';
const TO_CHART = '4.1.36';
const TARGET = '2.4.5';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const RSS_TARGET_MB = 200;
const REPO = join(BENCH_DIR, '..');
const alice: Actor = { id: 'U0BENCHREQ', name: 'bench-requester', via: 'slack' };
const bob: Actor = { id: 'U0BENCHAPP', name: 'bench-approver', via: 'slack' };

/** Total calls per command from INFO commandstats. */
async function commandStats(redis: Redis): Promise<Map<string, number>> {
  const text = await redis.info('commandstats');
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

function delta(a: Map<string, number>, b: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of b) {
    const d = v - (a.get(k) ?? 0);
    if (d > 0) out.set(k, d);
  }
  return out;
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((x, y) => x + y, 0);
const top = (m: Map<string, number>, n: number) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);

/** Counts, by command, what MONITOR shows naming `prefix`, except commands from `ignore` (client addresses). */
async function watchPrefix(prefix: string, ignore: () => readonly string[]): Promise<{ stop(): Promise<Map<string, number>> }> {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const monitor = await client.monitor();
  const counts = new Map<string, number>();
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (ignore().includes(source)) return;
    if (!args.slice(1).some((a) => a.includes(prefix))) return;
    const cmd = String(args[0]).toLowerCase();
    counts.set(cmd, (counts.get(cmd) ?? 0) + 1);
  });
  return {
    async stop() {
      // Let MONITOR deliver what the last commands produced.
      await new Promise((r) => setTimeout(r, 300));
      monitor.disconnect();
      client.disconnect();
      return counts;
    },
  };
}

const address = (r: Redis) => `${r.stream?.localAddress}:${r.stream?.localPort}`;

/** VmRSS of `pid` every 100 ms; `mark()` starts a second peak from now. */
function rssOf(pid: number) {
  const read = () => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? Number(m[1]) / 1024 : 0;
    } catch {
      return 0;
    }
  };
  const s = { peak: 0, marked: 0, atMark: 0, inMark: false };
  const sample = () => {
    const v = read();
    s.peak = Math.max(s.peak, v);
    if (s.inMark) s.marked = Math.max(s.marked, v);
  };
  const timer = setInterval(sample, 100);
  return {
    mark() {
      sample();
      s.atMark = read();
      s.marked = s.atMark;
      s.inMark = true;
    },
    stop() {
      sample();
      clearInterval(timer);
      return { peakMB: s.peak, jobsPeakMB: s.marked, atFirstEnqueueMB: s.atMark };
    },
  };
}

/** src compiled as the Dockerfile does (tsconfig.build.json), in a temporary directory that reaches the repo's node_modules and .tools. */
async function buildDist(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'mub-bench-dist-'));
  const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
  await run(process.execPath, [tsc, '-p', join(REPO, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')], { cwd: REPO, timeout: 300_000 }).catch((err: { stdout?: string }) => {
    // tsc still emits on type errors (someone may be editing src): run what was emitted, say so.
    log(`tsc reported errors while compiling src (emitted anyway): ${String(err.stdout ?? err).slice(0, 500)}`);
  });
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  symlinkSync(join(REPO, '.tools'), join(dir, '.tools'));
  copyFileSync(join(REPO, 'package.json'), join(dir, 'package.json'));
  return dir;
}

/** The node flags of the image's CMD (`CMD ["node", ...flags, "dist/main.js"]`): the worker runs as the image runs it. */
export function imageNodeFlags(): string[] {
  const cmd = [...readFileSync(join(REPO, 'Dockerfile'), 'utf8').matchAll(/^CMD (\[.*\])\s*$/gm)].at(-1)?.[1];
  const argv = cmd ? (JSON.parse(cmd) as string[]) : [];
  if (argv[0] !== 'node' || argv.at(-1) !== 'dist/main.js') throw new Error(`the Dockerfile's CMD is not node ... dist/main.js: ${cmd ?? 'none'}`);
  return argv.slice(1, -1);
}

async function startWorker(dist: string, env: Record<string, string>): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [...imageNodeFlags(), join(dist, 'dist', 'main.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the worker did not start: ${seen.slice(-2000)}`)), 30_000);
    child.once('exit', (code) => reject(new Error(`the worker exited (${code}): ${seen.slice(-2000)}`)));
    child.stderr!.on('data', (d: Buffer) => {
      seen = (seen + String(d)).slice(-200_000);
      if (/"msg":"worker started"/.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { child, output: () => seen };
}

interface Round {
  readonly releases: number;
  readonly concurrency: number;
  readonly succeeded: number;
  readonly failed: Array<{ id: string; error: string | null; state: string }>;
  readonly totalMs: number;
  readonly perUpgradeMs: { min: number; median: number; max: number };
  readonly attempts: number;
  readonly redisCalls: number;
  readonly idleRatePerSec: number;
  readonly ownCalls: number;
  readonly ownTop: Array<[string, number]>;
  readonly rss: { peakMB: number; jobsPeakMB: number; atFirstEnqueueMB: number };
  readonly installMs: number;
  readonly planMs: number;
}

async function round(info: ClusterInfo, dist: string, releases: number, concurrency: number, namespaces: string[]): Promise<Round> {
  const id = randomBytes(3).toString('hex');
  const prefix = `bench-scale-${id}-c${concurrency}:`;
  const release = 'scale';
  const mine = Array.from({ length: releases }, (_, i) => `bench-scale-${id}-c${concurrency}-${String(i).padStart(2, '0')}`);
  namespaces.push(...mine);
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queueConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const subscriber = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  let worker: { child: ChildProcess; output: () => string } | null = null;
  let queue: UpgradeQueue | null = null;
  try {
    log(`${releases}×c${concurrency}: installing ${releases} release(s) (chart ${FROM_CHART}), 5 at a time (not measured)`);
    const i0 = performance.now();
    await pool(mine, 5, (ns) => install(info, ns, release, FROM_CHART));
    const installMs = performance.now() - i0;

    const engine = createEngineAccess({ kubeconfig: info.kubeconfig, helmEnv: info.helmEnv, settings: { ...DEFAULT_PLAN_SETTINGS, repoUrl: info.chartRepoUrl, rolloutTimeoutSeconds: 300, helmTimeoutSeconds: 600, healthSettleSeconds: SETTLE_SECONDS } });
    const store = new RedisRequestStore(redis, prefix);
    log(`${releases}×c${concurrency}: planning and approving the upgrades to ${TARGET} (not measured)`);
    const p0 = performance.now();
    const requests = await pool(mine, 4, async (ns) => {
      const plan = await makeUpgradePlan(engine.default(), { release, namespace: ns, version: TARGET });
      if (plan.path !== 'helm') throw new Error(`expected the helm path, got ${plan.path}`);
      const r = await store.create({ kind: 'upgrade', plan, requester: alice, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 3_600_000 });
      await store.approve(r.id, bob);
      await sealApproved(store, r.id);
      return r;
    });
    const planMs = performance.now() - p0;

    queue = new UpgradeQueue({ connection: queueConnection, prefix, backoffMs: 1000 });
    await queue.queue.waitUntilReady();
    worker = await startWorker(dist, {
      ROLES: 'worker',
      APPROVAL_SEAL_KEY: TEST_SEAL_KEY,
      WORKER_CONCURRENCY: String(concurrency),
      KEY_PREFIX: prefix,
      REDIS_URL,
      KUBECONFIG: info.kubeconfig,
      ...info.helmEnv,
      MILVUS_CHART_REPO_URL: info.chartRepoUrl,
      POLL_INTERVAL_MS: '200',
      PORT: '0',
      LOG_LEVEL: 'info',
      MILVUS_DATA_CHECKS: 'off',
    });
    const rss = rssOf(worker.child.pid!);

    // Done when every request is terminal: told by the store's change channel, checked with this connection.
    const pending = new Set(requests.map((r) => r.id));
    let allDone: () => void = () => {};
    const finished = new Promise<void>((resolve) => (allDone = resolve));
    const check = async (rid: string) => {
      if (!pending.has(rid)) return;
      const r = await store.get(rid);
      if (r && isTerminal(deriveState(r, Date.now()))) {
        pending.delete(rid);
        if (pending.size === 0) allDone();
      }
    };
    subscriber.on('message', (_ch: string, rid: string) => void check(rid));
    await subscriber.subscribe(store.changedChannel());

    // What every client of this Redis does meanwhile (the worker idles on a blocking pop).
    const idle0 = await commandStats(redis);
    const idleT0 = performance.now();
    await new Promise((r) => setTimeout(r, 3000));
    const idle1 = await commandStats(redis);
    const idleRatePerSec = Math.max(0, sum(delta(idle0, idle1)) - 1) / ((performance.now() - idleT0) / 1000);

    log(`${releases}×c${concurrency}: enqueuing ${releases} approved request(s)`);
    const monitor = await watchPrefix(prefix, () => [address(redis), address(subscriber)]);
    const s0 = await commandStats(redis);
    rss.mark();
    const t0 = performance.now();
    for (const r of requests) await queue.enqueue(r.id);
    // A lost notification would leave us waiting: look again every 5 s, and give up after 15 min.
    const sweep = setInterval(() => void Promise.all([...pending].map(check)), 5000);
    const deadline = setTimeout(() => allDone(), 15 * 60_000);
    await finished;
    clearInterval(sweep);
    clearTimeout(deadline);
    const totalMs = performance.now() - t0;
    // The queue marks a job completed just after its request is: count that bookkeeping too.
    await new Promise((r) => setTimeout(r, 1000));
    const s1 = await commandStats(redis);
    const own = await monitor.stop();
    const mem = rss.stop();

    const finals: UpgradeRequest[] = await Promise.all(requests.map((r) => store.require(r.id)));
    const now = Date.now();
    const failed = finals.filter((r) => deriveState(r, now) !== 'succeeded').map((r) => ({ id: r.id, state: deriveState(r, now), error: r.error }));
    const durations = finals.filter((r) => r.startedAt && r.finishedAt).map((r) => r.finishedAt! - r.startedAt!).sort((a, b) => a - b);
    const jobs = await Promise.all(requests.map((r) => queue!.queue.getJob(r.id)));
    const attempts = jobs.reduce((a, j) => a + (j?.attemptsStarted ?? j?.attemptsMade ?? 0), 0);
    const rows = await pool(mine, 5, async (ns) => JSON.parse(await helm(info, ['list', '-n', ns, '-o', 'json'])) as Array<{ name: string; revision: string; chart: string }>);
    const onNewChart = rows.filter((r) => r.some((x) => x.name === release && x.chart === 'milvus-4.1.36' && x.revision === '2')).length;
    if (onNewChart !== releases - failed.length) log(`${releases}×c${concurrency}: helm shows ${onNewChart} releases on milvus-4.1.36 revision 2`);
    if (failed.length) log(`${releases}×c${concurrency}: ${failed.length} failed; worker log tail:\n${worker.output().split('\n').filter((l) => /"level":(4|5)0/.test(l)).slice(-5).join('\n')}`);
    return {
      releases,
      concurrency,
      succeeded: finals.length - failed.length,
      failed,
      totalMs,
      perUpgradeMs: { min: durations[0] ?? NaN, median: durations[Math.floor(durations.length / 2)] ?? NaN, max: durations.at(-1) ?? NaN },
      attempts,
      redisCalls: sum(delta(s0, s1)),
      idleRatePerSec,
      ownCalls: sum(own),
      ownTop: top(own, 8),
      rss: mem,
      installMs,
      planMs,
    };
  } finally {
    if (worker && worker.child.exitCode === null) {
      const exited = new Promise((resolve) => worker!.child.once('exit', resolve));
      worker.child.kill('SIGTERM');
      await exited;
    }
    await queue?.close().catch(() => {});
    queueConnection.disconnect();
    subscriber.disconnect();
    await deleteKeys(redis, `${prefix}*`);
    redis.disconnect();
  }
}

/**
 * The reference: the same upgrades as a plain loop of helm processes at the same concurrency
 * (`helm upgrade --reset-then-reuse-values --wait` to the same chart, then `kubectl rollout status`
 * on every Deployment), on fresh releases. What a script would do, with none of our checks.
 */
async function plainHelm(info: ClusterInfo, releases: number, concurrency: number, namespaces: string[]): Promise<{ totalMs: number; ok: number }> {
  const id = randomBytes(3).toString('hex');
  const release = 'scale';
  const mine = Array.from({ length: releases }, (_, i) => `bench-scale-${id}-h${concurrency}-${String(i).padStart(2, '0')}`);
  namespaces.push(...mine);
  log(`plain helm ×${concurrency}: installing ${releases} release(s) (not measured)`);
  await pool(mine, 5, (ns) => install(info, ns, release, FROM_CHART));
  const t0 = performance.now();
  const results = await pool(mine, concurrency, async (ns) => {
    try {
      await helm(info, ['upgrade', release, 'zilliztech/milvus', '-n', ns, '--version', TO_CHART, '--reset-then-reuse-values', '--wait', '--timeout', '600s'], 620_000);
      const names = (await kubectl(info, ['get', 'deployments', '-n', ns, '-o', 'jsonpath={.items[*].metadata.name}'])).split(/\s+/).filter(Boolean);
      for (const d of names) await kubectl(info, ['rollout', 'status', 'deployment', d, '-n', ns, '--timeout=300s']);
      return true;
    } catch (err) {
      log(`plain helm ×${concurrency}: ${ns} failed: ${String(err).slice(0, 300)}`);
      return false;
    }
  });
  return { totalMs: performance.now() - t0, ok: results.filter(Boolean).length };
}

export async function main(): Promise<void> {
  const info = await requireCluster();
  const m = machine();
  const when = stamp();
  const delay = kubeletDelay(info);
  log('compiling src (tsconfig.build.json) into a temporary directory');
  const dist = await buildDist();
  const rounds: Round[] = [];
  const references = new Map<string, { totalMs: number; ok: number }>();
  const namespaces: string[] = [];
  try {
    for (const [n, c] of ROUNDS) {
      const r = await round(info, dist, n, c, namespaces);
      rounds.push(r);
      log(`${n}×c${c}: ${r.succeeded}/${n} succeeded in ${seconds(r.totalMs, 1)}; ${(r.ownCalls / n).toFixed(0)} own Redis commands per upgrade; worker peak RSS ${r.rss.peakMB.toFixed(0)} MB`);
      // A finished round's namespaces go now, so the next round runs on a quieter cluster.
      await deleteNamespaces(info, namespaces.splice(0));
      const ref = await plainHelm(info, n, c, namespaces);
      references.set(`${n}×${c}`, ref);
      log(`plain helm ×${c}: ${ref.ok}/${n} in ${seconds(ref.totalMs, 1)} (ours ${(r.totalMs / ref.totalMs).toFixed(2)}×)`);
      await deleteNamespaces(info, namespaces.splice(0));
    }
  } finally {
    await deleteNamespaces(info, namespaces);
    rmSync(dist, { recursive: true, force: true });
  }
  const rows = rounds.map((r) => [
    `${r.releases} release${r.releases > 1 ? 's' : ''}, WORKER_CONCURRENCY=${r.concurrency}`,
    `${r.succeeded}/${r.releases}`,
    String(r.attempts),
    seconds(r.totalMs, 1),
    ((ref) => (ref ? `${seconds(ref.totalMs, 1)} (${ref.ok}/${r.releases}); ours **${(r.totalMs / ref.totalMs).toFixed(2)}×**` : '—'))(references.get(`${r.releases}×${r.concurrency}`)),
    `${seconds(r.perUpgradeMs.min, 1)} / ${seconds(r.perUpgradeMs.median, 1)} / ${seconds(r.perUpgradeMs.max, 1)}`,
    `**${(r.ownCalls / r.releases).toFixed(0)}** (${r.ownCalls} in all)`,
    r.ownTop.map(([k, v]) => `${k} ${(v / r.releases).toFixed(0)}`).join(', '),
    `${(r.redisCalls / r.releases).toFixed(0)} (idle rate before: ${r.idleRatePerSec.toFixed(1)}/s)`,
    `**${r.rss.peakMB.toFixed(0)} MB** ${r.rss.peakMB < RSS_TARGET_MB ? '✓' : '✗'}`,
    `${r.rss.atFirstEnqueueMB.toFixed(0)} MB → ${r.rss.jobsPeakMB.toFixed(0)} MB`,
  ]);
  const failures = rounds.flatMap((r) => r.failed.map((f) => `- ${r.releases}×c${r.concurrency} ${f.id} (${f.state}): ${(f.error ?? '').split('\n')[0]!.slice(0, 300)}`));
  const lines = [
    `## 3. Scale: ${RELEASES} releases upgraded at once`,
    '',
    `_Measured ${when} on ${machineLine(m)}; test control plane, pod start delay ${delay.ms} ms (${delay.source}); Redis ${REDIS_URL.replace(/\/\/.*@/, '//')}._`,
    '',
    `${RELEASES} releases, each in its own namespace, installed from chart ${FROM_CHART} (Milvus 2.3.11: 8 Deployments, 9 pods); one approved upgrade request each to ${TARGET} ` +
      `(helm path as the plan has it: \`helm repo update\`, pause the Deployments, \`helm upgrade --reset-then-reuse-values\` to chart 4.1.36, resume them one at a time, the health gate with its settle watch set to ${SETTLE_SECONDS} s (default 30 s: a deliberate wait, left out so the figures show our overhead)), made with the engine and request store from src and enqueued at once on the real BullMQ queue. ` +
      `They are run by the app's worker role in its own process, \`node ${imageNodeFlags().join(' ')} dist/main.js\` with ROLES=worker (src compiled by tsconfig.build.json; the node flags of the Dockerfile's CMD, as the image runs it; POLL_INTERVAL_MS=200, LOG_LEVEL=info), ` +
      `on fresh releases for each worker concurrency; the first row is one upgrade alone, for reference. Total = first enqueue to the last request finished. Per upgrade = the request's startedAt → finishedAt. ` +
      `Beside each round, the same upgrades as a plain loop of helm processes at the same concurrency, on fresh releases: \`helm upgrade --reset-then-reuse-values --wait\` to chart ${TO_CHART}, then \`kubectl rollout status\` on every Deployment (what a script does, with none of the bot's checks, ordering or record).`,
    '',
    `Redis commands per upgrade: **own** = every command MONITOR showed from the first enqueue to 1 s after the last request finished (so the queue's completion bookkeeping is in) whose arguments name this round's private key prefix (the worker's, the queue's and the store's keys and channels; commands run inside Lua scripts count, as INFO counts them; ` +
      `this benchmark's own watching connections excluded), divided by the number of releases. Beside it, \`INFO commandstats\` over the same window divided the same way: it counts every client of the server (other people's tests use this Redis too), hence the idle rate measured over 3 s just before. ` +
      `RSS: VmRSS of the worker process from /proc every 100 ms (what process.memoryUsage().rss reports inside it), from its start; helm runs as its child processes and is not included.`,
    '',
    table(['round', 'succeeded', 'job attempts', 'total', 'plain helm loop, same concurrency (total; ratio)', 'per upgrade min / median / max', 'own Redis commands per upgrade', 'top own commands per upgrade', 'INFO commandstats per upgrade (all clients)', `worker peak RSS (target < ${RSS_TARGET_MB} MB)`, 'RSS at the first enqueue → peak'], rows),
    '',
    failures.length ? `Failures:\n${failures.join('\n')}` : `All ${rounds.reduce((a, r) => a + r.releases, 0)} upgrades succeeded (request state \`succeeded\`; helm lists each release at revision 2 on milvus-4.1.36).`,
    '',
    `The ordered helm path resumes the Deployments one at a time and waits for each (the order of Milvus's guide), where the plain loop lets helm start them all at once: slower by design, most visibly for one upgrade alone; with many at once both wait on the test cluster's one controller-manager and fake kubelet, and the ratio falls.`,
    '',
    `Worker peak RSS at 20 upgrades and concurrency 5, measured 2026-12-06 as the code changed: 198 MB with every module loaded by every role and V8's default young generation (2 × 16 MB); 176 MB with Bolt, the Web API client and the dashboard loaded only by the roles that use them; 153 MB with the young generation at 2 × 4 MB (\`--max-semi-space-size=4\`, the image's CMD), in the same total time (119.8 s and 119.5 s). An earlier run, 2026-12-04, peaked at 266 MB.`,
    '',
    `Set-up, not measured: installs ${rounds.map((r) => `${seconds(r.installMs, 0)} (${r.releases}×c${r.concurrency})`).join(', ')}; planning + approval ${rounds.map((r) => `${seconds(r.planMs, 1)} (${r.releases}×c${r.concurrency})`).join(', ')}. Namespaces, releases and Redis keys were deleted afterwards.`,
  ];
  writeSection('scale', lines.join('\n'));
}

if (isMain(import.meta.url)) await main();
