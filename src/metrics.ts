/**
 * Prometheus metrics of one process: upgrades by outcome, step durations, queue depth (read on
 * scrape), Slack API errors. One registry per process, created by the composition root.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly requestsFinished: Counter<'kind' | 'outcome'>;
  readonly stepDuration: Histogram<'kind' | 'result'>;
  readonly slackApiErrors: Counter<'method'>;
  readonly queueDepth: Gauge<'state'>;
}

export function createMetrics(options: { queueDepth?: () => Promise<Record<string, number>> } = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'milvus_upgrade_bot_' });
  const requestsFinished = new Counter({
    name: 'milvus_upgrade_requests_finished_total',
    help: 'Upgrade and rollback requests that ended, by kind and outcome',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
  });
  const stepDuration = new Histogram({
    name: 'milvus_upgrade_step_duration_seconds',
    help: 'Duration of plan steps, by step kind and result',
    labelNames: ['kind', 'result'] as const,
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800],
    registers: [registry],
  });
  const slackApiErrors = new Counter({
    name: 'milvus_upgrade_slack_api_errors_total',
    help: 'Slack Web API calls that failed, by method',
    labelNames: ['method'] as const,
    registers: [registry],
  });
  const queueDepth = new Gauge({
    name: 'milvus_upgrade_queue_jobs',
    help: 'Jobs in the upgrade queue, by state',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      if (!options.queueDepth) return;
      let timer: NodeJS.Timeout | undefined;
      try {
        // A scrape answers within a second even when Redis does not.
        const depth = await Promise.race([options.queueDepth(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('queue depth: no answer')), 500)))]);
        for (const [state, n] of Object.entries(depth)) this.set({ state }, n);
      } catch {
        // Redis down: the gauge keeps its last value; /readyz reports the outage.
      } finally {
        clearTimeout(timer);
      }
    },
  });
  return { registry, requestsFinished, stepDuration, slackApiErrors, queueDepth };
}
