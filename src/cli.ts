#!/usr/bin/env node
/**
 * The engine from a terminal: versions, status, plan, upgrade, rollback.
 * Exit codes: 0 done, 1 failed, 2 refused (bad input or preflight; nothing changed).
 */
import { Command, CommanderError, Option } from 'commander';
import { connectCluster, type Connection } from './cluster/connect.js';
import { createLogger } from './log.js';
import { eventText, planJson, planText, statusText, versionsText } from './plan-text.js';
import { UpgradeError, explainError } from './upgrade/errors.js';
import { DEFAULT_PLAN_SETTINGS, runningVersion, type Plan, type PlanSettings } from './upgrade/plan.js';
import { runSteps, type RunEvent } from './upgrade/run.js';
import { Redis } from 'ioredis';
import { userInfo } from 'node:os';
import { executeRequest, type EngineAccess } from './jobs/execute.js';
import { deriveState, isTerminal, type Actor, type RunEventRecord } from './upgrade/requests.js';
import { UpgradeQueue } from './jobs/queue.js';
import { RedisRequestStore } from './jobs/requests.js';
import { listVersions, makeRollbackPlan, makeUpgradePlan, observeRelease, parseChartVersion, parseStrategy } from './upgrade/service.js';
import { validateNamespace, validateReleaseName } from './upgrade/names.js';
import { parseVersion } from './upgrade/version.js';

const EXIT = { done: 0, failed: 1, refused: 2 } as const;

interface GlobalOpts {
  kubeconfig?: string;
  context?: string;
  repoName: string;
  repoUrl: string;
  helmBin?: string;
  json?: boolean;
}

interface PlanOpts extends GlobalOpts {
  namespace: string;
  strategy?: string;
  etcdEndpoint?: string;
  storageClass?: string;
  migrationImage: string;
  metaRootPath: string;
  deleteMigrationResources?: boolean;
  sessionWait: string;
  helmTimeout: string;
  rolloutTimeout: string;
  coordinatorMinReady: string;
  settle: string;
  pollMs: string;
  yes?: boolean;
  redisUrl: string;
  keyPrefix: string;
  record?: boolean;
  queue?: boolean;
  chart?: string;
  allowDataChanges?: boolean;
}

function seconds(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 86_400) throw new UpgradeError('bad-input', `--${name} takes whole seconds (0 to 86400), not "${text}"`);
  return n;
}

function settingsFrom(o: Partial<PlanOpts> & GlobalOpts): PlanSettings {
  const d = DEFAULT_PLAN_SETTINGS;
  return {
    repoName: o.repoName,
    repoUrl: o.repoUrl,
    helmTimeoutSeconds: o.helmTimeout ? seconds(o.helmTimeout, 'helm-timeout') : d.helmTimeoutSeconds,
    rolloutTimeoutSeconds: o.rolloutTimeout ? seconds(o.rolloutTimeout, 'rollout-timeout') : d.rolloutTimeoutSeconds,
    coordinatorMinReadySeconds: o.coordinatorMinReady ? seconds(o.coordinatorMinReady, 'coordinator-min-ready') : d.coordinatorMinReadySeconds,
    healthSettleSeconds: o.settle ? seconds(o.settle, 'settle') : d.healthSettleSeconds,
    migration: {
      image: o.migrationImage ?? d.migration.image,
      rootPath: o.metaRootPath ?? d.migration.rootPath,
      storageClass: o.storageClass ?? null,
      etcdEndpoint: o.etcdEndpoint ?? null,
      sessionFallbackSeconds: o.sessionWait ? seconds(o.sessionWait, 'session-wait') : d.migration.sessionFallbackSeconds,
      deleteResourcesWhenDone: Boolean(o.deleteMigrationResources),
      podTimeoutSeconds: d.migration.podTimeoutSeconds,
    },
  };
}

/** Refuses bad input before anything (even the kubeconfig) is read. */
function validate(o: Partial<PlanOpts>, release: string, version?: string): void {
  validateReleaseName(release);
  validateNamespace(o.namespace ?? 'default');
  if (version !== undefined) parseVersion(version);
  parseStrategy(o.strategy);
  parseChartVersion(o.chart);
}

function upgradeInput(o: PlanOpts, release: string, version: string) {
  return {
    release,
    namespace: o.namespace,
    version,
    strategy: o.strategy,
    chart: o.chart,
    allowDataChanges: o.allowDataChanges ? { by: cliActor().id } : null,
  };
}

function connect(o: Partial<PlanOpts> & GlobalOpts): Connection {
  return connectCluster({
    kubeconfig: o.kubeconfig,
    context: o.context,
    helmBin: o.helmBin,
    settings: settingsFrom(o),
  });
}

function print(o: { json?: boolean }, json: unknown, text: string): void {
  process.stdout.write(`${o.json ? JSON.stringify(json, null, 2) : text}\n`);
}

/** A short-lived Redis connection that fails fast instead of retrying forever. */
function openRedis(url: string): Redis {
  return new Redis(url, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 1, retryStrategy: () => null, enableOfflineQueue: true });
}

async function recorded<T>(o: PlanOpts, fn: (store: RedisRequestStore, redis: Redis) => Promise<T>): Promise<T> {
  const redis = openRedis(o.redisUrl);
  try {
    await redis.connect();
  } catch (err) {
    throw new UpgradeError('preflight', `cannot reach Redis at ${redactUrl(o.redisUrl)} to record this in the audit trail`, [
      `${err instanceof Error ? err.message : String(err)}`,
      'start Redis or point --redis-url at it; in an emergency, --no-record runs without the audit trail',
    ]);
  }
  try {
    return await fn(new RedisRequestStore(redis, o.keyPrefix), redis);
  } finally {
    redis.disconnect();
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

function cliActor(): Actor {
  let name = 'unknown';
  try {
    name = userInfo().username;
  } catch {
    // No passwd entry (some containers): the audit says "unknown".
  }
  return { id: `cli:${name}`, name, via: 'cli' };
}

function printEvent(o: PlanOpts, e: RunEvent | RunEventRecord): void {
  if (o.json) process.stdout.write(`${JSON.stringify({ event: e })}\n`);
  else process.stdout.write(`${eventText(e)}\n`);
}

async function execute(conn: Connection, plan: Plan, o: PlanOpts): Promise<void> {
  const log = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', name: 'milvus-upgrade' });
  if (!o.json) process.stdout.write(`${planText(plan)}\n\n`);
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = Date.now();
  const pollIntervalMs = Number(o.pollMs) || 500;
  try {
    if (o.record === false) {
      await runSteps(plan, plan.steps, { ports: conn.ports, signal: controller.signal, pollIntervalMs, onEvent: (e) => printEvent(o, e) });
    } else {
      await recorded(o, async (store) => {
        const request = await store.create({ kind: plan.kind, plan, requester: cliActor(), approvalsNeeded: 0, allowSelfApproval: true, ttlMs: 3_600_000 });
        log.info({ requestId: request.id, plan: plan.id }, 'request recorded');
        if (plan.dataChanges) {
          await store.audit(request.id, cliActor(), 'allow-data-changes', plan.dataChanges.risks.map((r) => `${r.subject} ${r.reason}`).join('; '));
        }
        if (!o.json) process.stdout.write(`request ${request.id} (audit trail in Redis)\n`);
        if (o.queue) return followQueued(store, request.id, o, controller.signal);
        const engine: EngineAccess = { forCluster: () => ({ deps: conn, ports: conn.ports }) };
        const outcome = await executeRequest(store, engine, request.id, { signal: controller.signal, pollIntervalMs, actor: cliActor(), onEvent: (e) => printEvent(o, e) });
        if (outcome === 'cancelled') throw new UpgradeError('cancelled', `${plan.kind} of ${plan.release} cancelled`);
      });
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const secs = Math.round((Date.now() - started) / 1000);
  print(o, { result: 'succeeded', plan: plan.id, seconds: secs }, `${plan.kind === 'rollback' ? 'Rollback' : 'Upgrade'} of ${plan.release} finished in ${secs}s: Milvus ${plan.to}`);
}

/** Hands the request to the queue's workers and prints its log until it ends. */
async function followQueued(store: RedisRequestStore, id: string, o: PlanOpts, signal: AbortSignal): Promise<void> {
  const connection = new Redis(o.redisUrl, { maxRetriesPerRequest: null });
  const queue = new UpgradeQueue({ connection, prefix: o.keyPrefix });
  try {
    await store.setPhase(id, 'queued', cliActor());
    await queue.enqueue(id);
    if (!o.json) process.stdout.write(`queued as job ${id}; following its progress (Ctrl-C cancels the request)\n`);
  } finally {
    await queue.close();
    // The queue does not close a connection it was given.
    connection.disconnect();
  }
  let seen = 0;
  let cancelAsked = false;
  for (;;) {
    if (signal.aborted && !cancelAsked) {
      cancelAsked = true;
      await store.requestCancel(id, cliActor());
    }
    const entries = await store.log(id);
    for (const e of entries.slice(seen)) if (e.type === 'run') printEvent(o, e.event);
    seen = entries.length;
    const r = await store.require(id);
    const state = deriveState(r, Date.now());
    if (isTerminal(state)) {
      if (state === 'succeeded' || state === 'rolled-back') return;
      throw new UpgradeError(state === 'cancelled' ? 'cancelled' : 'step-failed', `${r.kind} of ${r.release} ${state}${r.error ? `: ${r.error}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function requireYes(o: PlanOpts, what: string): void {
  if (!o.yes) throw new UpgradeError('bad-input', `${what} changes the cluster: add --yes to go ahead (see the plan first with "plan")`);
}

export function buildProgram(): Command {
  const program = new Command('milvus-upgrade')
    .description('Upgrade Milvus releases on Kubernetes by the official procedure')
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context, i.e. which cluster (default: current)')
    .addOption(new Option('--repo-name <name>', 'helm chart repository name').default(process.env.MILVUS_CHART_REPO_NAME ?? DEFAULT_PLAN_SETTINGS.repoName))
    .addOption(new Option('--repo-url <url>', 'helm chart repository URL').default(process.env.MILVUS_CHART_REPO_URL ?? DEFAULT_PLAN_SETTINGS.repoUrl))
    .addOption(new Option('--helm-bin <path>', 'helm binary').env('HELM_BIN'))
    .exitOverride()
    .showHelpAfterError();

  const withPlanOptions = (cmd: Command) =>
    cmd
      .option('-n, --namespace <ns>', 'namespace of the release', 'default')
      .option('--strategy <path>', 'helm (components in Milvus\'s order) | helm-parallel (all at once, as plain helm) | rolling | migrate')
      .option('--chart <version>', 'helm path: this chart version instead of the bot\'s choice')
      .option('--allow-data-changes', 'allow a plan that deletes or replaces a StatefulSet or PVC or switches the message queue (recorded); never the default')
      .option('--etcd-endpoint <host:port>', 'migration: etcd endpoint (default: the release etcd Service)')
      .option('--storage-class <name>', 'migration: storage class of the backup PVC (default: the default class)')
      .option('--migration-image <image>', 'migration: meta-migration image', DEFAULT_PLAN_SETTINGS.migration.image)
      .option('--meta-root-path <path>', 'migration: etcd root path', DEFAULT_PLAN_SETTINGS.migration.rootPath)
      .option('--delete-migration-resources', 'migration: delete pods, PVC and ConfigMaps when done (no rollback afterwards)')
      .option('--session-wait <s>', 'migration: wait when etcd cannot be reached to watch the sessions', String(DEFAULT_PLAN_SETTINGS.migration.sessionFallbackSeconds))
      .option('--helm-timeout <s>', 'helm --timeout', String(DEFAULT_PLAN_SETTINGS.helmTimeoutSeconds))
      .option('--rollout-timeout <s>', 'how long one Deployment may take to roll out', String(DEFAULT_PLAN_SETTINGS.rolloutTimeoutSeconds))
      .option('--coordinator-min-ready <s>', 'rolling: minReadySeconds for coordinators', String(DEFAULT_PLAN_SETTINGS.coordinatorMinReadySeconds))
      .addOption(new Option('--settle <s>', 'health gate: how long every pod must stay ready, without restarts, after each hop').env('HEALTH_SETTLE_SECONDS').default(String(DEFAULT_PLAN_SETTINGS.healthSettleSeconds)))
      .option('--poll-ms <ms>', 'how often waits re-read the cluster', '500')
      .addOption(new Option('--redis-url <url>', 'Redis holding the audit trail and the queue').env('REDIS_URL').default('redis://127.0.0.1:6379'))
      .addOption(new Option('--key-prefix <prefix>', 'prefix of the Redis keys').env('KEY_PREFIX').default('mub:'))
      .option('--no-record', 'run without recording in the audit trail (when Redis is down)')
      .option('--queue', 'hand the run to the worker queue and follow it, instead of running here')
      .option('--json', 'print JSON');

  program
    .command('versions')
    .description('Milvus versions the chart repository offers, with the newest chart for each')
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals<GlobalOpts>();
      const versions = await listVersions(connect(o));
      print(o, versions, versionsText(versions));
    });

  program
    .command('status <release>')
    .description('what the release runs now')
    .option('-n, --namespace <ns>', 'namespace of the release', 'default')
    .option('--json', 'print JSON')
    .action(async (release: string, _o, cmd: Command) => {
      const o = cmd.optsWithGlobals<PlanOpts>();
      validate(o, release);
      const state = await observeRelease(connect(o), o.namespace, release);
      const running = runningVersion(state).text;
      print(o, { ...state, running }, statusText(state, running));
    });

  withPlanOptions(program.command('plan <release> <version>').description('show what an upgrade would do; changes nothing')).action(
    async (release: string, version: string, _o, cmd: Command) => {
      const o = cmd.optsWithGlobals<PlanOpts>();
      validate(o, release, version);
      const plan = await makeUpgradePlan(connect(o), upgradeInput(o, release, version));
      print(o, planJson(plan), planText(plan));
    },
  );

  withPlanOptions(program.command('upgrade <release> <version>').description('plan and run an upgrade'))
    .option('--yes', 'run it (without: refuse)')
    .action(async (release: string, version: string, _o, cmd: Command) => {
      const o = cmd.optsWithGlobals<PlanOpts>();
      validate(o, release, version);
      requireYes(o, 'upgrade');
      const conn = connect(o);
      const plan = await makeUpgradePlan(conn, upgradeInput(o, release, version));
      await execute(conn, plan, o);
    });

  withPlanOptions(program.command('rollback <release>').description('undo the last upgrade of the release'))
    .option('--yes', 'run it (without: refuse)')
    .action(async (release: string, _o, cmd: Command) => {
      const o = cmd.optsWithGlobals<PlanOpts>();
      validate(o, release);
      requireYes(o, 'rollback');
      const conn = connect(o);
      const plan = await makeRollbackPlan(conn, o.namespace, release);
      await execute(conn, plan, o);
    });

  return program;
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof UpgradeError) return err.code === 'bad-input' || err.code === 'preflight' ? EXIT.refused : EXIT.failed;
  return EXIT.failed;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.done;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return EXIT.done;
      return EXIT.refused;
    }
    const code = exitCodeOf(err);
    process.stderr.write(`${code === EXIT.refused ? 'refused' : 'error'}: ${explainError(err)}\n`);
    return code;
  }
}

const invokedDirectly = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (invokedDirectly) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
