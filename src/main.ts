/**
 * The composition root: reads the config once, builds the adapters and starts the roles this
 * process plays (bot, worker, or both).
 */
import { Redis } from 'ioredis';
import { ConfigError, loadConfig, type AppConfig } from './config.js';
import { createEngineAccess } from './engine-access.js';
import { RedisRequestStore } from './jobs/requests.js';
import { UpgradeQueue } from './jobs/queue.js';
import { createUpgradeWorker } from './jobs/worker.js';
import { createLogger } from './log.js';

export interface Running {
  close(): Promise<void>;
}

export async function start(config: AppConfig, extra: { helmEnv?: Record<string, string> } = {}): Promise<Running> {
  const logger = createLogger({ level: config.logLevel });
  const redisOptions = { maxRetriesPerRequest: null } as const;
  const redis = new Redis(config.redisUrl, redisOptions);
  const store = new RedisRequestStore(redis, config.keyPrefix);
  const engine = createEngineAccess({
    kubeconfig: config.kubeconfig,
    defaultContext: config.kubeContext,
    helmBin: config.helmBin,
    helmEnv: extra.helmEnv,
    settings: config.plan,
  });
  const connection = new Redis(config.redisUrl, redisOptions);
  const queue = new UpgradeQueue({ connection, prefix: config.keyPrefix, attempts: config.worker.attempts, backoffMs: config.worker.backoffMs });
  const closers: Array<() => Promise<unknown>> = [];
  if (config.roles.has('worker')) {
    const worker = await createUpgradeWorker({
      connection: new Redis(config.redisUrl, redisOptions),
      subscriber: new Redis(config.redisUrl, redisOptions),
      prefix: config.keyPrefix,
      store,
      engine,
      logger,
      concurrency: config.worker.concurrency,
      lockDurationMs: config.worker.lockMs,
      stalledIntervalMs: config.worker.stalledIntervalMs,
      pollIntervalMs: config.pollIntervalMs,
    });
    closers.push(() => worker.close());
    logger.info({ concurrency: config.worker.concurrency }, 'worker started');
  }
  closers.push(() => queue.close());
  return {
    async close() {
      for (const c of closers.reverse()) await c().catch(() => {});
      redis.disconnect();
      connection.disconnect();
    },
  };
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
  const running = await start(config);
  const stop = async () => {
    await running.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

const invokedDirectly = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (invokedDirectly) await runFromCommandLine();
