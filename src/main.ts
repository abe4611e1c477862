/**
 * The composition root: reads the config once, builds what the roles share and starts the roles
 * this process plays (roles.ts: worker, planner, bot, health server, dashboard).
 */
import { Redis } from 'ioredis';
import { backupAccessOf, ConfigError, loadConfig, milvusAccessOf, type AppConfig } from './config.js';
import { readFileSync } from 'node:fs';
import { parseAccessConfig } from './bot/access.js';
import { createEngineAccess } from './engine-access.js';
import { RedisRequestStore } from './jobs/requests.js';
import { sealerFor } from './approval-seal.js';
import { UpgradeQueue } from './jobs/queue.js';
import { createLogger } from './log.js';
import { healthRoutes } from './health.js';
import { createMetrics } from './metrics.js';
import { readPolicyFile } from './schedule-file.js';
import { startBot, startHealthServer, startPlanner, startQueueDashboard, startWorker, type Shared, type StartExtras } from './roles.js';

export type { StartExtras } from './roles.js';

export interface Running {
  /** The queue dashboard's port, when it is on. */
  readonly dashboardPort: number | null;
  /** The HTTP port bound: the bot's receiver (HTTP mode) or the health server. */
  readonly botPort: number | null;
  /**
   * Stops every role. `graceMs` (SIGTERM: the configured SHUTDOWN_GRACE_SECONDS) lets the
   * running steps finish first; without it, runs are cut short and resumed by another worker.
   */
  close(graceMs?: number): Promise<void>;
}

export async function start(config: AppConfig, extra: StartExtras = {}): Promise<Running> {
  // Read first: a bad access file stops the start before anything runs.
  const rules = config.roles.has('bot') ? readAccessRules(config.slack.accessConfigPath!) : [];
  const { schedule, fleets: fleetPolicy } = readPolicyFile(config.schedule.path);
  const logger = createLogger({ level: config.logLevel });
  // The worker's connections wait through a Redis outage (commands queue, then run) and say so
  // once. The bot's fail fast: a command or click sent while Redis is away must be answered at
  // once and never run later, when Redis comes back and its author has moved on.
  const connect = (role: string, failFast = false): Redis => {
    const r = new Redis(
      config.redisUrl,
      failFast ? { enableOfflineQueue: false, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false, commandTimeout: config.redisCommandTimeoutMs } : { maxRetriesPerRequest: null },
    );
    let down = false;
    r.on('error', (err: Error) => {
      if (!down) logger.warn({ connection: role, err: err.message }, 'Redis unreachable; retrying');
      down = true;
    });
    r.on('ready', () => {
      if (down) logger.info({ connection: role }, 'Redis reachable again');
      down = false;
    });
    return r;
  };
  const redis = connect('store');
  const store = new RedisRequestStore(redis, config.keyPrefix, {}, { retentionMs: config.retentionMs });
  // The bot's requests and /readyz: answer now or fail now.
  const fastRedis = connect('bot-store', true);
  await readyOrFailed(fastRedis, 5000);
  const fastUp = () => fastRedis.status === 'ready';
  const engine = createEngineAccess({
    kubeconfig: config.kubeconfig,
    defaultContext: config.kubeContext,
    helmBin: config.helmBin,
    helmEnv: extra.helmEnv,
    settings: config.plan,
    milvus: (cluster) => milvusAccessOf(config.milvus, cluster),
    backups: (cluster) => backupAccessOf(config.backups, cluster),
  });
  const connection = connect('queue');
  const queue = new UpgradeQueue({ connection, prefix: config.keyPrefix, attempts: config.worker.attempts, backoffMs: config.worker.backoffMs });
  const closers: Shared['closers'] = [];
  // The bot's own handle on the queue, on the fail-fast connection (also read by /metrics).
  const botQueue = new UpgradeQueue({ connection: fastRedis, prefix: config.keyPrefix, attempts: config.worker.attempts, backoffMs: config.worker.backoffMs });
  // Its connection's errors are logged by connect(); BullMQ would print each one again.
  botQueue.queue.on('error', () => {});
  const metrics = createMetrics({ queueDepth: () => botQueue.depth() });
  const routes = healthRoutes({
    registry: metrics.registry,
    // /readyz answers within a second, whatever is down.
    timeoutMs: 800,
    checks: {
      redis: async () => {
        if (!fastUp()) throw new Error(`Redis is unavailable (connection ${fastRedis.status})`);
        await fastRedis.ping();
      },
    },
    // Reported, not gating: the bot answers "cluster X is not answering" itself.
    informational: {
      kubernetes: async () => void (await engine.default().kube.serverVersion()),
    },
  });
  const { sealer, ephemeral } = sealerFor(config.approvalSeal);
  if (ephemeral) logger.warn('no APPROVAL_SEAL_KEY_FILE: approvals are sealed with a key of this process only (its own worker honours them, not after a restart); set one from a Secret in production');
  const shared: Shared = { config, logger, connect, store, engine, metrics, closers, sealer, schedule, fleetPolicy };
  if (config.roles.has('worker')) await startWorker(shared, queue, extra.now);
  if (config.roles.has('worker') || config.roles.has('planner')) await startPlanner(shared);
  let botPort: number | null = null;
  if (config.roles.has('bot')) botPort = await startBot(shared, { rules, fastRedis, fastUp, botQueue, routes, extra });
  // No Bolt HTTP receiver in this process: health and metrics get a server of their own.
  if (!(config.roles.has('bot') && config.slack.mode === 'http')) {
    const healthPort = await startHealthServer(shared, routes);
    botPort = botPort ?? healthPort;
  }
  const dashboardPort = config.dashboard ? await startQueueDashboard(shared, queue) : null;
  closers.push(() => queue.close());
  closers.push(() => botQueue.close());
  closers.push(async () => engine.close());
  return {
    botPort,
    dashboardPort,
    async close(graceMs = 0) {
      for (const c of closers.reverse()) await c(graceMs).catch(() => {});
      redis.disconnect();
      fastRedis.disconnect();
      connection.disconnect();
    },
  };
}

/** Waits for the first connection (or its first failure, or `ms`): start-up goes on either way. */
async function readyOrFailed(r: Redis, ms: number): Promise<void> {
  if (r.status === 'ready') return;
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      r.off('ready', done);
      r.off('error', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    r.once('ready', done);
    r.once('error', done);
  });
}

function readAccessRules(path: string) {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`ACCESS_CONFIG: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  try {
    return parseAccessConfig(text, path);
  } catch (err) {
    throw new ConfigError([`ACCESS_CONFIG: ${err instanceof Error ? err.message : String(err)}`]);
  }
}

async function runFromCommandLine(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) process.stderr.write(`config: ${p}\n`);
      process.exit(2);
    }
    throw err;
  }
  // A bug in a library's request handling (Bolt reads a property of a null payload without
  // awaiting it) must not take the service down: log it and go on.
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(`${JSON.stringify({ level: 50, time: Date.now(), msg: 'unhandled rejection', err: reason instanceof Error ? reason.message : String(reason) })}\n`);
  });
  let running: Running;
  try {
    running = await start(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) process.stderr.write(`config: ${p}\n`);
      process.exit(2);
    }
    throw err;
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    // No new jobs; the running step (a helm upgrade above all) finishes within the grace period,
    // then its job goes back to the queue for the next worker. Kubernetes' own
    // terminationGracePeriodSeconds must be longer (the chart adds 30 s).
    process.stderr.write(`${JSON.stringify({ level: 30, time: Date.now(), msg: 'shutting down: letting running steps finish', signal, graceSeconds: config.worker.shutdownGraceMs / 1000 })}\n`);
    await running.close(config.worker.shutdownGraceMs);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

const invokedDirectly = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (invokedDirectly) await runFromCommandLine();
