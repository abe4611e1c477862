/**
 * Reply latency on a warm cluster: how long a person waits for `/milvus status` and for the plan of
 * `/milvus plan` to be in Slack, and how long the CLI takes for the same plan.
 *
 * The app runs as deployed by default (roles bot + worker in one process, src through tsx) against
 * the test control plane and the Slack stub; each command is a signed slash command sent by the
 * stub's client, timed from sending it to the stub receiving the answer (status: the ephemeral;
 * plan: the response_url post that replaces "Planning…"). One command at a time, then a burst.
 * The CLI rows run the compiled bin (`node bin/milvus-upgrade.js plan …`, i.e. the CLI's bundle)
 * as a person would; dist/ is compiled first when it is older than src/.
 *
 *   npm run -s cluster -- up && npm run build && npm run bench -- replies
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { kubectl } from '../test/harness/control-plane.js';
import { DEMO, installDemoRelease, startDemoApp, type DemoApp } from '../test/harness/demo-story.js';
import { startSlackStub, type RecordedCall, type SlackStub } from '../test/harness/slack-stub.js';
import { deleteKeys } from '../test/integration/redis.js';
import { requireCluster } from './rolling-overhead.js';
import { ensureCompiled, isMain, log, machine, machineLine, ms, percentile, pool, stamp, table, writeSection } from './run.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SEQUENTIAL = { status: 30, plan: 10 };
const BURST = 10;
const CLI_RUNS = 5;
const run = promisify(execFile);

type Kind = 'status' | 'plan';

/** Whether a stub call is the answer to a `kind` command (not a plan's "Planning…" note, which the plan replaces). */
function isAnswer(c: RecordedCall, kind: Kind): boolean {
  if (c.method !== 'response_url' && c.method !== 'chat.postEphemeral') return false;
  return kind === 'status' || !/Planning/.test(String(c.args.text ?? ''));
}

/** The first answer among the calls from index `from` on. */
function answerOf(calls: readonly RecordedCall[], kind: Kind, from: number): RecordedCall | undefined {
  return calls.slice(from).find((c) => isAnswer(c, kind));
}

async function timeCommand(stub: SlackStub, app: DemoApp, kind: Kind, namespace: string): Promise<number> {
  const from = stub.calls.length;
  const text = kind === 'status' ? `/milvus status ${DEMO.release} -n ${namespace}` : `/milvus plan ${DEMO.release} 2.4.23 -n ${namespace}`;
  const t0 = performance.now();
  const wall0 = Date.now();
  const sent = await app.client.command(DEMO.alice, DEMO.channel, text);
  if (!sent.ok) throw new Error(`the app refused ${text}: ${JSON.stringify(sent)}`);
  for (;;) {
    const answer = answerOf(stub.calls, kind, from);
    if (answer) {
      const body = String(answer.args.text ?? '');
      if (/:warning:|failed|error/i.test(body.split('\n')[0] ?? '')) throw new Error(`${text} answered with an error: ${body.slice(0, 300)}`);
      // The stub stamps the call when its body was read: the wall clock, not the poll.
      return Math.max(0, answer.at - wall0) || performance.now() - t0;
    }
    if (performance.now() - t0 > 120_000) throw new Error(`no answer to ${text} within 120 s`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function row(label: string, times: number[]): string[] {
  const s = [...times].sort((a, b) => a - b);
  return [label, String(s.length), ms(percentile(s, 50)), ms(percentile(s, 90)), ms(percentile(s, 99)), ms(s.at(-1) ?? NaN)];
}

export async function main(): Promise<void> {
  const info = await requireCluster();
  const m = machine();
  const when = stamp();
  const namespace = `bench-replies-${randomBytes(3).toString('hex')}`;
  const prefix = `bench-replies-${process.pid}-${Date.now().toString(36)}:`;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const stub = await startSlackStub();
  let app: DemoApp | null = null;
  try {
    log(`installing ${DEMO.release} 2.3.11 in ${namespace}`);
    await installDemoRelease(info, namespace);
    app = await startDemoApp(info, stub, prefix, { interactive: true });
    log('warm-up: 3 status, 2 plans');
    for (const k of ['status', 'status', 'status', 'plan', 'plan'] as const) await timeCommand(stub, app, k, namespace);

    const rows: string[][] = [];
    for (const kind of ['status', 'plan'] as const) {
      const times: number[] = [];
      for (let i = 0; i < SEQUENTIAL[kind]; i++) times.push(await timeCommand(stub, app, kind, namespace));
      rows.push(row(`/milvus ${kind}, one at a time`, times));
      log(`  ${rows.at(-1)!.join(' | ')}`);
    }
    // A burst: each answer is matched by order of arrival, so the per-command figures are the
    // time until the n-th answer, measured from the first send.
    for (const kind of ['status', 'plan'] as const) {
      const from = stub.calls.length;
      const t0 = Date.now();
      await pool(
        Array.from({ length: BURST }, (_, i) => i),
        BURST,
        async () => {
          const text = kind === 'status' ? `/milvus status ${DEMO.release} -n ${namespace}` : `/milvus plan ${DEMO.release} 2.4.23 -n ${namespace}`;
          const sent = await app!.client.command(DEMO.alice, DEMO.channel, text);
          if (!sent.ok) throw new Error(`the app refused ${text}`);
        },
      );
      const answers = (): RecordedCall[] => stub.calls.slice(from).filter((c) => isAnswer(c, kind));
      const deadline = Date.now() + 300_000;
      while (answers().length < BURST && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      const got = answers();
      if (got.length < BURST) throw new Error(`only ${got.length} of ${BURST} ${kind} answers within 300 s`);
      rows.push(row(`/milvus ${kind}, ${BURST} sent at once (n-th answer from the first send)`, got.map((c) => c.at - t0)));
      log(`  ${rows.at(-1)!.join(' | ')}`);
    }

    const bin = fileURLToPath(new URL('../bin/milvus-upgrade.js', import.meta.url));
    // helm through a wrapper that logs each call's own duration: the CLI's time minus helm's.
    const dir = mkdtempSync(join(tmpdir(), 'mub-bench-replies-'));
    const helmLog = join(dir, 'helm-calls');
    const wrapper = join(dir, 'helm');
    const realHelm = join(fileURLToPath(new URL('..', import.meta.url)), '.tools', 'bin', 'helm');
    writeFileSync(wrapper, `#!/bin/sh\ns=$(date +%s%N)\n"${realHelm}" "$@"\nrc=$?\necho "$(( ($(date +%s%N) - s) / 1000000 )) $1" >> "${helmLog}"\nexit $rc\n`, { mode: 0o755 });
    ensureCompiled();
    const cliTimes: number[] = [];
    const ownTimes: number[] = [];
    const helmCalls: string[] = [];
    const env = { ...process.env, ...info.helmEnv, KUBECONFIG: info.kubeconfig, MILVUS_CHART_REPO_URL: info.chartRepoUrl, LOG_LEVEL: 'warn', HELM_BIN: wrapper, MILVUS_DATA_CHECKS: 'off' };
    try {
      for (let i = 0; i < CLI_RUNS + 1; i++) {
        writeFileSync(helmLog, '');
        const t0 = performance.now();
        await run(process.execPath, [bin, 'plan', DEMO.release, '2.4.23', '-n', namespace], { env, timeout: 120_000 });
        const wall = performance.now() - t0;
        const calls = readFileSync(helmLog, 'utf8').trim().split('\n').filter(Boolean);
        if (i === 0) continue; // the first run warms helm's cache and the OS's
        cliTimes.push(wall);
        ownTimes.push(wall - calls.reduce((sum, line) => sum + Number(line.split(' ')[0]), 0));
        helmCalls.splice(0, helmCalls.length, ...calls.map((line) => `helm ${line.split(' ')[1]} ${line.split(' ')[0]} ms`));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    rows.push(row(`CLI \`milvus-upgrade plan ${DEMO.release} 2.4.23\` (the bin, bundled): wall time of the process`, cliTimes));
    rows.push(row('CLI plan: our own time (wall time minus its helm processes)', ownTimes));
    log(`  ${rows.at(-2)!.join(' | ')}`);
    log(`  ${rows.at(-1)!.join(' | ')} (last run's helm calls: ${helmCalls.join(', ')})`);
    const lastHelm = helmCalls.join(', ');

    const status = rows[0]!;
    writeSection(
      'replies',
      [
        '## 6. Replies on a warm cluster: status, plan, and the CLI',
        '',
        `_Measured ${when} on ${machineLine(m)}; test control plane (kube-apiserver/controller-manager 1.20.2, etcd, fake kubelet)._`,
        '',
        `The app as \`startDemoApp\` runs it (roles bot + worker in one process, src through tsx, LOG_LEVEL=warn) against the Slack stub and real Redis; release \`${DEMO.release}\` at Milvus 2.3.11 (chart 4.1.24, 8 Deployments). ` +
          'Each command is a signed slash command (the stub\'s client, as the browser demo sends it); time = from sending it to the stub receiving its answer: for status the ephemeral, for plan the response_url post that replaces "Planning…" (helm renders the chart on the worker; the chart index comes from the local repository). ' +
          `${SEQUENTIAL.status} status and ${SEQUENTIAL.plan} plans one at a time after 5 warm-up commands, then bursts of ${BURST}. The CLI row runs \`node bin/milvus-upgrade.js plan\` ${CLI_RUNS} times after one warm-up run (the bin runs the CLI's bundle, dist/cli-bundle/, built by \`npm ci\`; 2026-12-06 before the bundle: our own time p50 756 ms, wall 1212 ms).`,
        '',
        table(['what', 'n', 'p50', 'p90', 'p99', 'max'], rows),
        '',
        `**Status reply p50 < 100 ms: ${Number.parseFloat(status[2]!) < 100 ? 'met' : 'NOT met'}** (${status[2]}). ` +
          `**CLI plan, our own time well under 1 s: ${Number.parseFloat(rows.at(-1)![2]!) < 700 ? 'met' : 'NOT met'}** (p50 ${rows.at(-1)![2]}; the last run's helm processes: ${lastHelm}; our time is Node's start, loading the Kubernetes client, reading the release and its Secret, parsing the chart index and the manifests, the diff).`,
      ].join('\n'),
    );
  } finally {
    await app?.close();
    await stub.close();
    await deleteKeys(redis, `${prefix}*`);
    redis.disconnect();
    await kubectl(info, ['delete', 'namespace', namespace, '--wait=false']).catch(() => '');
  }
}

if (isMain(import.meta.url)) await main();
