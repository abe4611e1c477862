/**
 * `npm run bench`: runs the benchmarks one after the other and writes each one's section of
 * bench/RESULTS.md (figures, date, machine). Not tests: nothing here passes or fails CI.
 *
 *   npm run bench                      all three (the control plane must be up for 2 and 3:
 *                                      `npm run -s cluster -- up`)
 *   npm run bench -- ack scale         only those (names: ack, rolling, scale, ordered, cli, replies, trust,
 *                                      availability, snapshot, fleet)
 *   npx tsx bench/<name>.ts            one of them on its own
 *
 * Also the helpers the benchmarks share (machine facts, percentiles, RESULTS.md sections).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { distIsCurrent } from '../bin/dist-current.js';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const RESULTS = join(BENCH_DIR, 'RESULTS.md');

export interface Machine {
  readonly nproc: number;
  readonly cpu: string;
  readonly memTotalGiB: number;
  readonly memFreeGiB: number;
  readonly node: string;
  readonly load: readonly number[];
}

export function machine(): Machine {
  const c = cpus();
  return {
    nproc: c.length,
    cpu: c[0]?.model.trim() ?? 'unknown',
    memTotalGiB: totalmem() / 2 ** 30,
    memFreeGiB: freemem() / 2 ** 30,
    node: process.version,
    load: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export function machineLine(m: Machine = machine()): string {
  return `${m.nproc} CPUs (nproc; ${m.cpu}), ${m.memTotalGiB.toFixed(1)} GiB RAM (${m.memFreeGiB.toFixed(1)} GiB free), Node ${m.node}, load average ${m.load.join(' / ')} (1/5/15 min) at the start, code at ${codeVersion()}`;
}

/** The commit the figures belong to, and whether src/ had uncommitted changes. */
export function codeVersion(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: join(BENCH_DIR, '..'), encoding: 'utf8' }).trim();
    const head = git('rev-parse', '--short', 'HEAD');
    const dirty = git('status', '--porcelain', '--', 'src', 'package.json').length > 0;
    return `commit ${head}${dirty ? ' + uncommitted changes in src/' : ''}`;
  } catch {
    return 'an unknown commit';
  }
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function ms(n: number, digits = 1): string {
  return Number.isFinite(n) ? `${n.toFixed(digits)} ms` : 'n/a';
}

export function seconds(msValue: number, digits = 2): string {
  return `${(msValue / 1000).toFixed(digits)} s`;
}

export function table(head: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const line = (cells: ReadonlyArray<string | number>) => `| ${cells.map(String).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

const HEADER = `# Benchmarks

Written by \`npm run bench\` (bench/run.ts); each section is replaced when its benchmark runs
again. The figures are what was measured on the machine named in each section, nothing else.
They are not part of CI's pass/fail.
`;

/** Replaces (or appends) the section `id` of RESULTS.md; sections stay in id order 1, 2, 3. */
export function writeSection(id: string, markdown: string): void {
  const text = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : HEADER;
  const begin = `<!-- bench:${id} -->`;
  const end = `<!-- /bench:${id} -->`;
  const block = `${begin}\n${markdown.trim()}\n${end}`;
  const re = new RegExp(`${escapeRe(begin)}[\\s\\S]*?${escapeRe(end)}`);
  let next: string;
  if (re.test(text)) next = text.replace(re, block);
  else {
    // Keep the order of ORDER even when run one by one.
    const after = ORDER.slice(ORDER.indexOf(id) + 1).map((x) => text.indexOf(`<!-- bench:${x} -->`)).filter((i) => i >= 0);
    next = after.length ? `${text.slice(0, Math.min(...after))}${block}\n\n${text.slice(Math.min(...after))}` : `${text.trimEnd()}\n\n${block}\n`;
  }
  writeFileSync(RESULTS, next);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function stamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

export function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

/** Runs `fn` over `items` with at most `limit` at a time, keeping the order of results. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return out;
}

/**
 * Compiles src/ to dist/ when dist/ is older than a source file: the bin runs the sources through
 * tsx then, and a benchmark of "the compiled CLI" would time tsx (1.5 s instead of 0.6 s).
 */
export function ensureCompiled(): void {
  const root = join(BENCH_DIR, '..');
  if (distIsCurrent(root)) return;
  log('dist/ is older than src/: compiling (npm run build)');
  execFileSync(process.execPath, [join(root, 'scripts', 'build-dist.mjs')], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
}

/** True when `moduleUrl` is the script node was started with (`npx tsx bench/x.ts`). */
export function isMain(moduleUrl: string): boolean {
  return !!process.argv[1] && moduleUrl === pathToFileURL(process.argv[1]).href;
}

/**
 * A benchmark run as a script of its own: exits when it is done (its watches, fake servers and
 * kube clients would keep the process alive), 1 with the stack when it fails.
 */
export function runAsScript(main: () => Promise<void>): void {
  void main().then(
    () => process.exit(0),
    (err: unknown) => {
      log(`FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exit(1);
    },
  );
}

/** The app (src/main.ts through tsx) as its own process; resolves with its port once `ready` is logged. */
export async function startBot(env: Record<string, string>, ready = /"port":(\d+)[^\n]*"msg":"bot started"/): Promise<{ child: ChildProcess; port: number }> {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  // BENCH_PROFILE_DIR: each process writes a V8 CPU profile there when it exits (for diagnosis).
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', main], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let seen = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the bot did not start: ${seen.slice(-2000)}`)), 30_000);
    child.once('exit', (code) => reject(new Error(`the bot exited (${code}): ${seen.slice(-2000)}`)));
    child.stderr!.on('data', (d: Buffer) => {
      if (seen.length < 100_000) seen += String(d);
      const m = ready.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1] ?? 0));
      }
    });
  });
  return { child, port };
}

export async function stopChild(c: ChildProcess | null): Promise<void> {
  if (c && c.exitCode === null) {
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGTERM');
    await exited;
  }
}


const ORDER = ['ack-latency', 'rolling-overhead', 'scale', 'ordered-helm', 'cli-start', 'replies', 'trust', 'availability', 'snapshot-cost', 'fleet'];
const BENCHES: Record<string, { id: string; load: () => Promise<{ main(): Promise<void> }> }> = {
  ack: { id: 'ack-latency', load: () => import('./ack-latency.js') },
  rolling: { id: 'rolling-overhead', load: () => import('./rolling-overhead.js') },
  scale: { id: 'scale', load: () => import('./scale.js') },
  ordered: { id: 'ordered-helm', load: () => import('./ordered-helm.js') },
  cli: { id: 'cli-start', load: () => import('./cli-start.js') },
  replies: { id: 'replies', load: () => import('./replies.js') },
  trust: { id: 'trust', load: () => import('./trust.js') },
  availability: { id: 'availability', load: () => import('./availability.js') },
  snapshot: { id: 'snapshot-cost', load: () => import('./snapshot-cost.js') },
  fleet: { id: 'fleet', load: () => import('./fleet.js') },
};

async function runAll(names: string[]): Promise<number> {
  const chosen = names.length ? names : Object.keys(BENCHES);
  let failed = 0;
  for (const name of chosen) {
    const b = BENCHES[name];
    if (!b) {
      log(`unknown benchmark "${name}" (${Object.keys(BENCHES).join(', ')})`);
      failed++;
      continue;
    }
    log(`--- ${b.id} ---`);
    const t0 = performance.now();
    try {
      await (await b.load()).main();
      log(`${b.id} done in ${seconds(performance.now() - t0, 1)}`);
    } catch (err) {
      failed++;
      log(`${b.id} FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }
  log(`results in ${RESULTS}`);
  return failed;
}

// No top-level await here: the benchmarks import this module, and a dynamic import of a module
// that imports a still-evaluating (awaiting) module would wait forever.
if (isMain(import.meta.url)) {
  void runAll(process.argv.slice(2)).then((failed) => process.exit(failed ? 1 : 0));
}
