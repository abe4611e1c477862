/**
 * The CLI's actions that run a plan: Redis (the audit trail), the queue's record, the steps.
 * Loaded only by `upgrade` and `rollback`, so `--help`, refused input and `plan` never load
 * ioredis or BullMQ (cli-connect.ts is the cluster side).
 */
import { Redis } from 'ioredis';
import type { Connection } from './cluster/connect.js';
import { executeRequest, type EngineAccess } from './jobs/execute.js';
import { UpgradeQueue } from './jobs/queue.js';
import { RedisRequestStore } from './jobs/requests.js';
import { createLogger } from './log.js';
import { eventText, planText } from './plan-text.js';
import { UpgradeError } from './upgrade/errors.js';
import type { Plan } from './upgrade/plan.js';
import { deriveState, isTerminal, type RunEventRecord, type UpgradeRequest } from './upgrade/requests.js';
import type { JobQueue } from './upgrade/ports.js';
import { requestChange } from './upgrade/lifecycle/request-change.js';
import { restoreOfferAt, wayBack } from './upgrade/backup-lines.js';
import { refuseUncheckedData } from './upgrade/planner/data-gate.js';
import { refuseMissingBackup } from './upgrade/planner/backup-plan.js';
import type { RunEvent } from './upgrade/steps.js';
import { runSteps } from './upgrade/runner/run.js';
import { availabilityText } from './upgrade/runner/availability.js';
import type { PlanOpts } from './cli-options.js';
import { cliActor } from './cli-connect.js';
import { sealerFor } from './approval-seal.js';
import type { Sealer } from './upgrade/seal.js';

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

function printEvent(o: PlanOpts, e: RunEvent | RunEventRecord): void {
  if (o.json) process.stdout.write(`${JSON.stringify({ event: e })}\n`);
  else process.stdout.write(`${eventText(e)}\n`);
}

export async function execute(conn: Connection, plan: Plan, o: PlanOpts): Promise<void> {
  const log = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', name: 'milvus-upgrade' });
  // Also without the audit trail (--no-record): the same refusal as a recorded request's.
  if (plan.kind === 'upgrade') {
    refuseUncheckedData(plan);
    refuseMissingBackup(plan);
  }
  const sealer = cliSealer(o);
  if (!o.json) process.stdout.write(`${planText(plan)}\n\n`);
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = Date.now();
  let availability: UpgradeRequest['availability'] = null;
  const pollIntervalMs = Number(o.pollMs) || 500;
  try {
    if (o.record === false) {
      await runSteps(plan, plan.steps, { ports: conn.ports, signal: controller.signal, pollIntervalMs, onEvent: (e) => printEvent(o, e) });
    } else {
      await recorded(o, async (store) => {
        const announce = async (r: UpgradeRequest) => {
          log.info({ requestId: r.id, plan: plan.id }, 'request recorded');
          if (!o.json) process.stdout.write(`request ${r.id} (audit trail in Redis)\n`);
          return true;
        };
        const input = { kind: plan.kind, plan, requester: cliActor(), approvalsNeeded: 0, allowSelfApproval: true, ttlMs: 3_600_000 };
        const request = await requestChange({ store, sealer, ...(o.queue ? { queue: queueAt(o) } : {}) }, input, { announce });
        if (o.queue) {
          if (!o.json) process.stdout.write(`queued as job ${request.id}; following its progress (Ctrl-C cancels the request)\n`);
          availability = (await followQueued(store, request.id, o, controller.signal)).availability ?? null;
          return;
        }
        const engine: EngineAccess = { forCluster: () => ({ deps: conn, ports: conn.ports }) };
        const outcome = await executeRequest(store, engine, request.id, { sealer, signal: controller.signal, pollIntervalMs, actor: cliActor(), onEvent: (e) => printEvent(o, e) });
        if (outcome === 'cancelled') throw new UpgradeError('cancelled', `${plan.kind} of ${plan.release} cancelled`);
        availability = (await store.require(request.id)).availability ?? null;
      });
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // The watches that woke the waits would keep the process alive.
    conn.close();
  }
  const secs = Math.round((Date.now() - started) / 1000);
  const finished = `${{ upgrade: 'Upgrade', rollback: 'Rollback', restore: 'Restore' }[plan.kind]} of ${plan.release} finished in ${secs}s: Milvus ${plan.to}`;
  // As the Slack summary: the way back when there is no rollback, and the guide's words after 3.0.
  const { noRollback, after30 } = wayBack(plan, plan.steps.length, true);
  const offer = restoreOfferAt(plan, plan.steps.length)?.offer;
  // The command that runs the way back, ready to paste (the Slack summary has a button for it).
  const restore = offer ? `milvus-upgrade restore ${plan.release} -n ${plan.namespace} --backup ${offer.backup} --into ${offer.into}` : null;
  print(
    o,
    { result: 'succeeded', plan: plan.id, seconds: secs, availability, noRollback, restore },
    [finished, ...(availability ? [availabilityText(availability)] : []), ...(noRollback ? [`no rollback: ${noRollback}`] : []), ...(restore ? [`to restore: ${restore}`] : []), ...(after30 ? [after30] : [])].join('\n'),
  );
}

/**
 * Run here: any key will do (this process seals and checks). Handed to the workers: theirs, or
 * they refuse the run; said before anything is recorded.
 */
function cliSealer(o: PlanOpts): Sealer {
  const { sealer, ephemeral } = sealerFor({ ...(o.sealKeyFile ? { keyFile: o.sealKeyFile } : {}), ...(o.sealKey ? { key: o.sealKey } : {}) });
  if (o.queue && ephemeral) {
    throw new UpgradeError('preflight', "--queue needs the deployment's approval seal key: the workers run only what it sealed", [
      'point --seal-key-file (or APPROVAL_SEAL_KEY_FILE) at the key of the bot chart\'s Secret, or run without --queue',
    ]);
  }
  return sealer;
}

/** The queue's workers, reached on a connection of its own for the one enqueue. */
function queueAt(o: PlanOpts): JobQueue {
  return {
    enqueue: async (id) => {
      const connection = new Redis(o.redisUrl, { maxRetriesPerRequest: null });
      const queue = new UpgradeQueue({ connection, prefix: o.keyPrefix });
      try {
        await queue.enqueue(id);
      } finally {
        await queue.close();
        // The queue does not close a connection it was given.
        connection.disconnect();
      }
    },
  };
}

/** Prints the log of a request handed to the workers until it ends. */
async function followQueued(store: RedisRequestStore, id: string, o: PlanOpts, signal: AbortSignal): Promise<UpgradeRequest> {
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
      if (state === 'succeeded' || state === 'rolled-back') return r;
      throw new UpgradeError(state === 'cancelled' ? 'cancelled' : 'step-failed', `${r.kind} of ${r.release} ${state}${r.error ? `: ${r.error}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}


function print(o: { json?: boolean }, json: unknown, text: string): void {
  process.stdout.write(`${o.json ? JSON.stringify(json, null, 2) : text}\n`);
}
