/**
 * Benchmark: a fleet (issue 28) on the test control plane. BENCH_FLEET_SIZE releases (default
 * 20, chart 4.2.58, Milvus 2.5.16) in one namespace, upgraded to 2.6.15 with waves 1,25%,100%
 * and at most 5 at once:
 *   - by the bot: `milvus-upgrade fleet upgrade --yes --queue` handed to one worker process
 *     (ROLES=worker, WORKER_CONCURRENCY=5), timed from the first member handed over to the
 *     fleet's end (the planning of every release is timed apart);
 *   - beside it, on as many fresh identical releases: a plain loop of `helm upgrade --wait` with
 *     the chart the bot chose and the same five at once, no waves, no gates.
 * Figures: both totals and their ratio, the worker's peak RSS (VmHWM), and the wave overhead: the
 * time between a wave's last release succeeding and the next wave's first step.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { RedisFleetStore } from '../src/jobs/fleets.js';
import { RedisRequestStore } from '../src/jobs/requests.js';
import { helm, REPO_ROOT, type ClusterInfo } from '../test/harness/control-plane.js';
import { deleteNamespaces, ensureRepo, install, requireCluster } from './rolling-overhead.js';
import { isMain, log, machineLine, pool, runAsScript, seconds, stamp, table, writeSection } from './run.js';
import { spawn } from 'node:child_process';

const run = promisify(execFile);
const SIZE = Number(process.env.BENCH_FLEET_SIZE ?? 20);
const WAVES = '1,25%,100%';
const IN_FLIGHT = 5;
const SEAL_KEY = 'bench-fleet-seal-key-0123456789abcdef';

function baseEnv(info: ClusterInfo, prefix: string): Record<string, string> {
  return {
    ...(info.helmEnv as Record<string, string>),
    KUBECONFIG: info.kubeconfig,
    REDIS_URL: 'redis://127.0.0.1:6379',
    KEY_PREFIX: prefix,
    MILVUS_CHART_REPO_URL: info.chartRepoUrl,
    MILVUS_DATA_CHECKS: 'off',
    HEALTH_SETTLE_SECONDS: '1',
    COORDINATOR_MIN_READY_SECONDS: '1',
    POLL_INTERVAL_MS: '200',
    APPROVAL_SEAL_KEY: SEAL_KEY,
    LOG_LEVEL: 'warn',
    PORT: '0',
  };
}

/** Peak resident set of a process, from /proc (kB -> MiB), while it lives. */
function peakRssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN) / 1024;
}

export async function main(): Promise<void> {
  const info = await requireCluster();
  await ensureRepo(info);
  const id = randomBytes(3).toString('hex');
  const botNs = `bench-fleet-${id}`;
  const loopNs = `bench-loop-${id}`;
  const prefix = `bench-fleet-${id}:`;
  const names = Array.from({ length: SIZE }, (_, i) => `milvus-${String(i).padStart(2, '0')}`);
  const redis = new Redis('redis://127.0.0.1:6379');
  try {
    log(`installing ${SIZE} + ${SIZE} releases (chart 4.2.58)`);
    await install(info, botNs, names[0]!, '4.2.58');
    await install(info, loopNs, names[0]!, '4.2.58');
    await pool([...names.slice(1).map((n) => [botNs, n] as const), ...names.slice(1).map((n) => [loopNs, n] as const)], 4, async ([ns, n]) => {
      await helm(info, ['install', n, 'zilliztech/milvus', '-n', ns, '--version', '4.2.58', '--wait', '--timeout', '300s'], 320_000);
    });

    // The bot: one worker process, the CLI hands the fleet to it and follows it.
    const env = baseEnv(info, prefix);
    const worker = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'main.ts')], { env: { ...process.env, ...env, ROLES: 'worker', WORKER_CONCURRENCY: String(IN_FLIGHT) }, stdio: ['ignore', 'ignore', 'pipe'] });
    let workerLog = '';
    worker.stderr!.on('data', (d: Buffer) => (workerLog = (workerLog + String(d)).slice(-20_000)));
    let rss = NaN;
    const sampler = setInterval(() => {
      try {
        rss = peakRssMiB(worker.pid!);
      } catch {
        /* exited */
      }
    }, 500);
    const t0 = performance.now();
    let cli;
    try {
      cli = await run(process.execPath, [join(REPO_ROOT, 'bin', 'milvus-upgrade.js'), '--kubeconfig', info.kubeconfig, '--repo-url', info.chartRepoUrl, 'fleet', 'upgrade', '2.6.15', '--select', `${botNs}/*`, '--waves', WAVES, '--max-in-flight', String(IN_FLIGHT), '--yes', '--queue', '--json', '--settle', '1'], { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 3_600_000 });
    } catch (err) {
      throw new Error(`the fleet did not succeed: ${String((err as { stdout?: string }).stdout ?? err).slice(-3000)}\nworker: ${workerLog.slice(-3000)}`, { cause: err });
    } finally {
      clearInterval(sampler);
      worker.kill('SIGTERM');
    }
    const cliMs = performance.now() - t0;
    const fleetId = /"fleet": "(fleet-\d+)"/.exec(cli.stdout)?.[1];
    if (!fleetId) throw new Error(`no fleet id in the CLI's output: ${cli.stdout.slice(-2000)}`);
    const fleets = new RedisFleetStore(redis, prefix);
    const store = new RedisRequestStore(redis, prefix);
    const fleet = await fleets.require(fleetId);
    if (fleet.ended?.outcome !== 'succeeded') throw new Error(`fleet ${fleetId} ${fleet.ended?.outcome}`);
    const members = await Promise.all(fleet.waves.map((w) => Promise.all(w.map((m) => store.require(m)))));
    const firstStart = Math.min(...members.flat().map((r) => r.startedAt!));
    const botMs = fleet.ended.at - firstStart;
    const overheads = members.slice(1).map((wave, i) => Math.min(...wave.map((r) => r.startedAt!)) - Math.max(...members[i]!.map((r) => r.finishedAt!)));
    const chart = members[0]![0]!.plan.chart?.version ?? '';

    // The plain loop: the same chart, five at a time, nothing else.
    log(`plain loop: helm upgrade --version ${chart} --reuse-values --wait, ${IN_FLIGHT} at once`);
    const l0 = performance.now();
    await pool(names, IN_FLIGHT, async (n) => {
      await helm(info, ['upgrade', n, 'zilliztech/milvus', '-n', loopNs, '--version', chart, '--reuse-values', '--wait', '--timeout', '600s'], 620_000);
    });
    const loopMs = performance.now() - l0;

    writeSection(
      'fleet',
      [
        '## Fleet: waves beside a plain loop of helm (issue 28)',
        '',
        `${stamp()} · ${machineLine()}`,
        '',
        `${SIZE} releases (chart 4.2.58, Milvus 2.5.16) to 2.6.15 (chart ${chart}), waves ${WAVES}, at most ${IN_FLIGHT} at once; the bot by one worker process (WORKER_CONCURRENCY=${IN_FLIGHT}) through \`fleet upgrade --queue\`, the loop by \`helm upgrade --wait\` on as many fresh identical releases.`,
        '',
        table(
          ['', 'value'],
          [
            ['bot: first member handed over -> fleet succeeded', seconds(botMs, 1)],
            ['plain loop of helm upgrade --wait', seconds(loopMs, 1)],
            ['ratio bot / loop', (botMs / loopMs).toFixed(2)],
            ['bot CLI wall time (planning 20 releases included)', seconds(cliMs, 1)],
            ['worker peak RSS (VmHWM)', `${rss.toFixed(0)} MiB`],
            ...overheads.map((o, i) => [`wave overhead ${i + 1} -> ${i + 2} (last success to next first step)`, seconds(o, 2)] as [string, string]),
          ],
        ),
        '',
        'The bot does more than the loop on each release: the preflight, the drift check, the ordered helm path (components in Milvus\'s order), the health gate with its settle time, and the waves (a wave waits for its slowest release). The loop does none of it.',
      ].join('\n'),
    );
    log(`bot ${seconds(botMs, 1)}, loop ${seconds(loopMs, 1)}, ratio ${(botMs / loopMs).toFixed(2)}, worker peak ${rss.toFixed(0)} MiB, wave overheads ${overheads.map((o) => seconds(o, 2)).join(', ')}`);
  } finally {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await deleteNamespaces(info, [botNs, loopNs]);
  }
}

if (isMain(import.meta.url)) runAsScript(main);
