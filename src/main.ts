/**
 * The composition root: reads the config once, builds the adapters and starts the roles this
 * process plays (bot, worker, or both).
 */
import { Redis } from 'ioredis';
import { ConfigError, loadConfig, type AppConfig } from './config.js';
import { readFileSync } from 'node:fs';
import type { CustomRoute } from './bot/app.js';
import { groupsNamed, parseAccessConfig } from './bot/access.js';
import { createEngineAccess, createUpgradeEngine } from './engine-access.js';
import { RedisRequestStore } from './jobs/requests.js';
import { RedisRequestEvents } from './jobs/request-events.js';
import { RedisEditLedger } from './jobs/edit-ledger.js';
import { UpgradeQueue } from './jobs/queue.js';
import { createUpgradeWorker } from './jobs/worker.js';
import { startReconciler } from './jobs/reconciler.js';
import { RemotePlanner, createPlanWorker, planQueue, planQueueEvents } from './jobs/plan-queue.js';
import { resumeLeftPaused } from './upgrade/runner/run.js';
import { createLogger } from './log.js';
import { healthRoutes, serveRoutes } from './health.js';
import { createMetrics } from './metrics.js';

/**
 * What only the bot role uses, loaded by the process that plays it: without Bolt and the Web API
 * client a worker's RSS is 15 MB lower idle and 22 MB lower at its peak (bench/RESULTS.md, scale).
 */
async function loadBotRole() {
  const [{ WebClient }, { slackLogger, startBotApp }, { SlackGroupResolver }, { BotHandlers }, { ThreadUpdater }] = await Promise.all([
    import('@slack/web-api'),
    import('./bot/app.js'),
    import('./bot/groups.js'),
    import('./bot/handlers.js'),
    import('./bot/progress.js'),
  ]);
  return { WebClient, slackLogger, startBotApp, SlackGroupResolver, BotHandlers, ThreadUpdater };
}

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

export interface StartExtras {
  readonly helmEnv?: Record<string, string>;
  /** Web API retries (tests keep them short); default: Slack's own policy. */
  readonly slackRetries?: number;
  /** Minimum time between two edits of one Slack message. */
  readonly slackUpdateIntervalMs?: number;
  readonly customRoutes?: readonly CustomRoute[];
}

export async function start(config: AppConfig, extra: StartExtras = {}): Promise<Running> {
  // Read first: a bad access file stops the start before anything runs.
  const rules = config.roles.has('bot') ? readAccessRules(config.slack.accessConfigPath!) : [];
  const logger = createLogger({ level: config.logLevel });
  // The worker's connections wait through a Redis outage (commands queue, then run) and say so
  // once. The bot's fail fast: a command or click sent while Redis is away must be answered at
  // once and never run later, when Redis comes back and its author has moved on.
  const connect = (role: string, failFast = false): Redis => {
    const r = new Redis(
      config.redisUrl,
      failFast ? { enableOfflineQueue: false, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false } : { maxRetriesPerRequest: null },
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
  const store = new RedisRequestStore(redis, config.keyPrefix);
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
  });
  const connection = connect('queue');
  const queue = new UpgradeQueue({ connection, prefix: config.keyPrefix, attempts: config.worker.attempts, backoffMs: config.worker.backoffMs });
  const closers: Array<(graceMs: number) => Promise<unknown>> = [];
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
      kubernetes: async () => void (await engine.default().kube.serverVersion()),
    },
  });
  if (config.roles.has('worker')) {
    const workerConnection = connect('worker');
    const cancelSubscriber = connect('cancel-subscriber');
    const worker = await createUpgradeWorker({
      connection: workerConnection,
      subscriber: cancelSubscriber,
      prefix: config.keyPrefix,
      store,
      engine,
      logger,
      concurrency: config.worker.concurrency,
      lockDurationMs: config.worker.lockMs,
      stalledIntervalMs: config.worker.stalledIntervalMs,
      pollIntervalMs: config.pollIntervalMs,
      observe: {
        step: (kind, result, seconds) => metrics.stepDuration.observe({ kind, result }, seconds),
        outcome: (kind, outcome) => metrics.requestsFinished.inc({ kind, outcome }),
      },
    });
    closers.push(async (graceMs) => {
      await worker.close(graceMs);
      workerConnection.disconnect();
      cancelSubscriber.disconnect();
    });
    logger.info({ concurrency: config.worker.concurrency }, 'worker started');
    // Requests whose job can no longer end them (failed for good, removed, never enqueued) are
    // ended with a reason, at start and then periodically, so no release stays locked.
    const stopReconciler = startReconciler({
      store,
      queue: queue.queue,
      logger,
      intervalMs: config.worker.reconcileIntervalMs,
      graceMs: config.worker.reconcileGraceMs,
      // Nothing is left paused, even by a run that died for good.
      afterEnd: async (r) =>
        resumeLeftPaused(r.plan, r.completedSteps, engine.forCluster(r.cluster).ports, (message) => logger.info({ requestId: r.id, message }, 'resuming what an abandoned request left paused'), config.pollIntervalMs),
    });
    closers.push(async () => stopReconciler());
  }
  if (config.roles.has('worker') || config.roles.has('planner')) {
    const planConnection = connect('plan-worker');
    const planWorker = createPlanWorker({ connection: planConnection, prefix: config.keyPrefix, engine: createUpgradeEngine(engine), logger, concurrency: config.plans.concurrency });
    closers.push(async () => {
      // Plans change nothing: a plan cut short is asked for again, never half applied.
      await planWorker.close(true);
      planConnection.disconnect();
    });
    logger.info({ concurrency: config.plans.concurrency }, 'plan worker started');
  }
  let botPort: number | null = null;
  if (config.roles.has('bot')) {
    const { WebClient, slackLogger, startBotApp, SlackGroupResolver, BotHandlers, ThreadUpdater } = await loadBotRole();
    // Plans render on a worker (helm runs there); reads (status, versions) stay here: they run no process.
    const plansQueue = planQueue(fastRedis, config.keyPrefix);
    plansQueue.on('error', () => {});
    const planEventsConnection = connect('plan-events');
    const planEvents = planQueueEvents(planEventsConnection, config.keyPrefix);
    planEvents.on('error', () => {});
    const planner = new RemotePlanner({ queue: plansQueue, events: planEvents, timeoutMs: config.plans.timeoutMs });
    const upgradeEngine = {
      ...createUpgradeEngine(engine),
      planUpgrade: planner.planUpgrade.bind(planner),
      planRollback: planner.planRollback.bind(planner),
    };
    // The client for work outside a listener (thread updates, group look-ups).
    const client = new WebClient(config.slack.botToken, {
      logger: slackLogger(logger),
      ...(config.slack.apiUrl ? { slackApiUrl: config.slack.apiUrl } : {}),
      ...(extra.slackRetries !== undefined ? { retryConfig: { retries: extra.slackRetries, factor: 1.5, minTimeout: 200 } } : {}),
    });
    const handlers = new BotHandlers({
      store: new RedisRequestStore(fastRedis, config.keyPrefix),
      queue: botQueue,
      storeUp: fastUp,
      engine: upgradeEngine,
      rules,
      groups: new SlackGroupResolver(client, groupsNamed(rules)),
      approvals: config.approvals,
      logger,
      now: Date.now,
    });
    const bot = await startBotApp({
      mode: config.slack.mode,
      botToken: config.slack.botToken!,
      signingSecret: config.slack.signingSecret,
      appToken: config.slack.appToken,
      slackApiUrl: config.slack.apiUrl,
      port: config.slack.port,
      logger,
      retries: extra.slackRetries,
      workConcurrency: config.slack.workConcurrency,
      workDeferMs: config.slack.workDeferMs,
      customRoutes: config.slack.mode === 'http' ? [...routes, ...(extra.customRoutes ?? [])] : extra.customRoutes,
      handlers,
    });
    const updater = new ThreadUpdater({ client, store, edits: new RedisEditLedger(store), logger, approversText: (r) => handlers.approversText(r), minIntervalMs: extra.slackUpdateIntervalMs, onSlackError: (method) => metrics.slackApiErrors.inc({ method }) });
    const subscriber = connect('events-subscriber');
    const unsubscribe = await new RedisRequestEvents(subscriber, store).subscribe((id) => void updater.refresh(id));
    // Pub/sub is a hint: a lost message is made good by re-reading the active requests.
    const stopRereading = updater.startRereading(() => store.lockHolders(), config.slack.progressRereadMs);
    botPort = bot.port;
    closers.push(async () => {
      stopRereading();
      await unsubscribe();
      subscriber.disconnect();
      await bot.stop();
      await planEvents.close();
      await plansQueue.close();
      planEventsConnection.disconnect();
    });
    logger.info({ mode: config.slack.mode, port: botPort }, 'bot started');
  }
  if (!(config.roles.has('bot') && config.slack.mode === 'http')) {
    // No Bolt HTTP receiver in this process: health and metrics get a server of their own.
    const server = await serveRoutes(routes, config.slack.port);
    const addr = server.address();
    botPort = botPort ?? (addr && typeof addr === 'object' ? addr.port : null);
    closers.push(() => new Promise((resolve) => server.close(() => resolve(undefined))));
  }
  let dashboardPort: number | null = null;
  if (config.dashboard) {
    // Express and Bull Board load only where the dashboard is on.
    const { startDashboard } = await import('./dashboard.js');
    const dashboard = await startDashboard({ queue: queue.queue, ...config.dashboard });
    dashboardPort = dashboard.port;
    closers.push(() => dashboard.close());
    logger.info({ port: dashboardPort, readOnly: config.dashboard.readOnly }, 'queue dashboard started');
  }
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
