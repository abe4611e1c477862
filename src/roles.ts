/**
 * The roles a process can play, one function each: the worker, the planner, the Slack bot, the
 * health server and the queue dashboard. main.ts builds what they share and starts the ones its
 * config names; each pushes its own stop onto the closers.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AppConfig } from './config.js';
import type { CustomRoute } from './bot/app.js';
import { groupsNamed, type AccessRule } from './bot/access.js';
import { createUpgradeEngine, type createEngineAccess } from './engine-access.js';
import { RedisRequestStore } from './jobs/requests.js';
import { RedisRequestEvents } from './jobs/request-events.js';
import { RedisEditLedger } from './jobs/edit-ledger.js';
import type { UpgradeQueue } from './jobs/queue.js';
import { createUpgradeWorker } from './jobs/worker.js';
import type { Sealer } from './upgrade/seal.js';
import { explainError } from './upgrade/errors.js';
import { startReconciler } from './jobs/reconciler.js';
import { RedisFleetStore } from './jobs/fleets.js';
import { advanceAllFleets, advanceFleet } from './upgrade/lifecycle/fleet-lifecycle.js';
import type { SchedulePolicy } from './upgrade/schedule/policy.js';
import type { FleetPolicy } from './upgrade/fleet/fleet-policy.js';
import { RemotePlanner, createPlanWorker, planQueue, planQueueEvents } from './jobs/plan-queue.js';
import { resumeLeftPaused, resumeReleaseLeftPaused } from './upgrade/runner/run.js';
import { serveRoutes, type healthRoutes } from './health.js';
import type { createMetrics } from './metrics.js';

/** How late after it was sent a vote, rejection or cancel may still land in Redis. */
const CLICK_WRITE_WITHIN_MS = 5000;

export interface StartExtras {
  readonly helmEnv?: Record<string, string>;
  /** Web API retries (tests keep them short); default: Slack's own policy. */
  readonly slackRetries?: number;
  /** Minimum time between two edits of one Slack message. */
  readonly slackUpdateIntervalMs?: number;
  readonly customRoutes?: readonly CustomRoute[];
  /** The clock windows and freezes are judged by (tests inject one; default: the system's). */
  readonly now?: () => number;
}

/** What every role is built from: made once per process by start(). */
export interface Shared {
  readonly config: AppConfig;
  readonly logger: Logger;
  /** A Redis connection of the role's own, named in the logs. */
  readonly connect: (role: string, failFast?: boolean) => Redis;
  /** The store on the waiting connection (workers, the thread updater). */
  readonly store: RedisRequestStore;
  readonly engine: ReturnType<typeof createEngineAccess>;
  readonly metrics: ReturnType<typeof createMetrics>;
  /** Seals approvals (bot) and checks them (worker): upgrade/seal.ts. */
  readonly sealer: Sealer;
  /** The policy file's windows and freezes (issue 28), read once at start. */
  readonly schedule: SchedulePolicy;
  /** How fleets are approved (the policy file's `fleets`). */
  readonly fleetPolicy: FleetPolicy;
  /** Each role's stop, run in reverse order of start by Running.close. */
  readonly closers: Array<(graceMs: number) => Promise<unknown>>;
}

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

/** Runs approved requests from the queue; ends the ones their job can no longer end. */
export async function startWorker({ config, logger, connect, store, engine, metrics, closers, sealer, schedule }: Shared, queue: UpgradeQueue, now: () => number = Date.now): Promise<void> {
  const workerConnection = connect('worker');
  const cancelSubscriber = connect('cancel-subscriber');
  // A fleet's next members start when one ends (the worker) or on the reconciler's pass.
  const fleets = new RedisFleetStore(store.redis, config.keyPrefix, config.retentionMs);
  const fleetDeps = { store, fleets, queue };
  const fleetLog = (msg: string) => logger.warn({ msg }, 'fleet advance');
  const worker = await createUpgradeWorker({
    connection: workerConnection,
    subscriber: cancelSubscriber,
    prefix: config.keyPrefix,
    store,
    engine,
    sealer,
    logger,
    concurrency: config.worker.concurrency,
    lockDurationMs: config.worker.lockMs,
    stalledIntervalMs: config.worker.stalledIntervalMs,
    pollIntervalMs: config.pollIntervalMs,
    schedule: { settings: { policy: schedule, expectedHopSeconds: config.schedule.expectedHopSeconds }, recheckMs: config.schedule.recheckMs, now },
    afterEnd: async (id) => {
      const fleet = (await store.get(id))?.fleet;
      if (fleet) await advanceFleet(fleetDeps, fleet.id, { log: fleetLog });
    },
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
    advanceFleets: () => advanceAllFleets(fleetDeps, (id, err) => logger.warn({ fleet: id, err: explainError(err) }, 'could not advance the fleet')),
    fleetActive: async (id) => (await fleets.active()).includes(id),
    // Nothing is left paused, even by a run that died for good.
    afterEnd: async (r) =>
      resumeLeftPaused(r.plan, r.completedSteps, engine.forCluster(r.cluster).ports, (message) => logger.info({ requestId: r.id, message }, 'resuming what an abandoned request left paused'), config.pollIntervalMs),
    sweepPaused: async (t) => resumeReleaseLeftPaused(t.namespace, t.release, engine.forCluster(t.cluster).ports, (message) => logger.info({ release: t.release, message }, 'sweep: resuming'), config.pollIntervalMs),
    // From Kubernetes too: a pause outlives the loss of everything in Redis, locks included.
    pausedReleases: async () => {
      const conn = engine.default();
      const inNamespace = async (namespace: string) => {
        try {
          return (await conn.kube.releasesPausedByBot(namespace)).map((release) => ({ cluster: conn.clusterName, namespace, release }));
        } catch (err) {
          logger.warn({ namespace, err: explainError(err) }, 'sweep: could not list the Deployments paused by the bot');
          return [];
        }
      };
      const found = await Promise.all(config.managedNamespaces.map(inNamespace));
      return found.flat();
    },
  });
  closers.push(async () => stopReconciler());
}

/** Renders the plans the bot asks for (helm runs here, not in the bot). */
export async function startPlanner({ config, logger, connect, engine, closers }: Shared): Promise<void> {
  const planConnection = connect('plan-worker');
  const planWorker = createPlanWorker({ connection: planConnection, prefix: config.keyPrefix, engine: createUpgradeEngine(engine), logger, concurrency: config.plans.concurrency });
  closers.push(async () => {
    // Plans change nothing: a plan cut short is asked for again, never half applied.
    await planWorker.close(true);
    planConnection.disconnect();
  });
  // Connected before the bot takes commands: the bot answers at once when no worker is connected.
  await planWorker.waitUntilReady();
  logger.info({ concurrency: config.plans.concurrency }, 'plan worker started');
}

export interface BotRoleInputs {
  readonly rules: readonly AccessRule[];
  /** The fail-fast connection the bot's requests use, and whether it is up. */
  readonly fastRedis: Redis;
  readonly fastUp: () => boolean;
  readonly botQueue: UpgradeQueue;
  readonly routes: ReturnType<typeof healthRoutes>;
  readonly extra: StartExtras;
}

/** The Slack bot: its commands and buttons, and the request threads it keeps up to date. Returns its HTTP port. */
export async function startBot({ config, logger, connect, store, engine, metrics, closers, sealer, schedule, fleetPolicy }: Shared, { rules, fastRedis, fastUp, botQueue, routes, extra }: BotRoleInputs): Promise<number | null> {
  const { WebClient, slackLogger, startBotApp, SlackGroupResolver, BotHandlers, ThreadUpdater } = await loadBotRole();
  // Plans render on a worker (helm runs there). A bot with no worker or planner in its process
  // (split mode) also asks a worker for the reads of helm's release records (status, the App
  // Home's releases): they are Secrets, which its ServiceAccount may not read. Versions (the chart
  // repository's index) stay here.
  const readsElsewhere = !config.roles.has('worker') && !config.roles.has('planner');
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
    ...(readsElsewhere ? { status: planner.status.bind(planner), releases: planner.releases.bind(planner) } : {}),
  };
  // The client for work outside a listener (thread updates, group look-ups).
  const client = new WebClient(config.slack.botToken, {
    logger: slackLogger(logger),
    ...(config.slack.apiUrl ? { slackApiUrl: config.slack.apiUrl } : {}),
    ...(extra.slackRetries !== undefined ? { retryConfig: { retries: extra.slackRetries, factor: 1.5, minTimeout: 200 } } : {}),
  });
  const handlers = new BotHandlers({
    // A click that reaches Redis late (it stalled) is refused there rather than applied late.
    store: new RedisRequestStore(fastRedis, config.keyPrefix, {}, { writeWithinMs: CLICK_WRITE_WITHIN_MS, retentionMs: config.retentionMs }),
    queue: botQueue,
    sealer,
    storeUp: fastUp,
    fleets: new RedisFleetStore(fastRedis, config.keyPrefix, config.retentionMs),
    schedule: { policy: schedule, expectedHopSeconds: config.schedule.expectedHopSeconds, now: extra.now ?? Date.now },
    fleetPolicy,
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
  const updater = new ThreadUpdater({ client, store, edits: new RedisEditLedger(store), logger, approversText: (r) => handlers.approversText(r), fleets: new RedisFleetStore(store.redis, config.keyPrefix, config.retentionMs), fleetApproversText: (f) => handlers.fleetApproversText(f), minIntervalMs: extra.slackUpdateIntervalMs, onSlackError: (method) => metrics.slackApiErrors.inc({ method }) });
  const subscriber = connect('events-subscriber');
  const unsubscribe = await new RedisRequestEvents(subscriber, store).subscribe((id) => void updater.refresh(id));
  // Pub/sub is a hint: a lost message is made good by re-reading the active requests.
  const stopRereading = updater.startRereading(() => store.lockHolders(), config.slack.progressRereadMs);
  closers.push(async () => {
    stopRereading();
    await unsubscribe();
    subscriber.disconnect();
    await bot.stop();
    await planEvents.close();
    await plansQueue.close();
    planEventsConnection.disconnect();
  });
  logger.info({ mode: config.slack.mode, port: bot.port }, 'bot started');
  return bot.port;
}

/** /healthz, /readyz and /metrics on a server of their own. Returns the port bound. */
export async function startHealthServer({ config, closers }: Shared, routes: ReturnType<typeof healthRoutes>): Promise<number | null> {
  const server = await serveRoutes(routes, config.slack.port);
  const addr = server.address();
  closers.push(() => new Promise((resolve) => server.close(() => resolve(undefined))));
  return addr && typeof addr === 'object' ? addr.port : null;
}

/** The queue dashboard (Bull Board). Returns its port. */
export async function startQueueDashboard({ config, logger, closers }: Shared, queue: UpgradeQueue): Promise<number> {
  const dashboardConfig = config.dashboard!;
  // Express and Bull Board load only where the dashboard is on.
  const { startDashboard } = await import('./dashboard.js');
  const dashboard = await startDashboard({ queue: queue.queue, ...dashboardConfig });
  closers.push(() => dashboard.close());
  logger.info({ port: dashboard.port, readOnly: dashboardConfig.readOnly }, 'queue dashboard started');
  return dashboard.port;
}
