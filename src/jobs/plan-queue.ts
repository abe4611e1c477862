/**
 * Plans are rendered by workers, not by the bot. Rendering runs helm (`show values`, a server-side
 * dry run per hop) and reads the whole release; done in the bot, a burst of `/milvus plan` starts
 * a dozen helm processes beside the event loop that must ack every command within 3 s
 * (bench/RESULTS.md). The bot adds a job to this queue and waits for its result; any worker
 * replica may take it. Planning changes nothing, so a job lost with a dying worker or bot loses
 * no work: the bot's wait times out and says so, and the person asks again.
 *
 * A bot without a worker or planner role in its process (split mode) also asks here for the reads
 * that go through helm's release records (`status`, the releases of a namespace): those records
 * are Secrets, and the split-mode bot's ServiceAccount may read no Secret (issue 25).
 */
import { Queue, QueueEvents, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { UpgradeError, explainError, type ErrorCode } from '../upgrade/errors.js';
import type { Plan } from '../upgrade/plan.js';
import type { RestoreInput, UpgradeEngine } from '../upgrade/ports.js';
import type { HelmReleaseInfo } from '../upgrade/state.js';
import { bullPrefix } from './queue.js';

export const PLAN_QUEUE_NAME = 'milvus-plans';

type UpgradeInput = Parameters<UpgradeEngine['planUpgrade']>[1];
type StatusResult = Awaited<ReturnType<UpgradeEngine['status']>>;

export type PlanJobData =
  | { readonly kind: 'upgrade'; readonly cluster?: string; readonly input: UpgradeInput }
  | { readonly kind: 'rollback'; readonly cluster?: string; readonly namespace: string; readonly release: string }
  | { readonly kind: 'restore'; readonly cluster?: string; readonly input: RestoreInput }
  | { readonly kind: 'status'; readonly cluster?: string; readonly namespace: string; readonly release: string }
  | { readonly kind: 'releases'; readonly cluster?: string; readonly namespace?: string };

/**
 * A refusal is a result, not a failed job: the person must see the engine's own words (code,
 * message, details), which a BullMQ failure would flatten into one string.
 */
export type PlanJobResult =
  | { readonly plan: Plan }
  | { readonly status: StatusResult }
  | { readonly releases: HelmReleaseInfo[] }
  | { readonly error: { readonly code: ErrorCode | null; readonly message: string; readonly details: readonly string[] } };

/** Finished plan jobs stay this long: the waiting bot reads the result from the job if the event came first. */
const KEEP_SECONDS = 600;

export interface RemotePlannerOptions {
  readonly queue: Queue<PlanJobData, PlanJobResult>;
  readonly events: QueueEvents;
  /** How long the bot waits for a worker to render a plan. */
  readonly timeoutMs: number;
}

/**
 * The bot's side: planUpgrade/planRollback of the UpgradeEngine, rendered by a worker; and, for a
 * bot that may not read helm's records itself, status and releases read by a worker.
 */
export class RemotePlanner {
  constructor(private readonly o: RemotePlannerOptions) {}

  async planUpgrade(cluster: string | undefined, input: UpgradeInput): Promise<Plan> {
    return planOf(await this.ask({ kind: 'upgrade', ...(cluster ? { cluster } : {}), input }, 'render', `the plan of ${input.release} to ${input.version}`));
  }

  async planRestore(cluster: string | undefined, input: RestoreInput): Promise<Plan> {
    return planOf(await this.ask({ kind: 'restore', ...(cluster ? { cluster } : {}), input }, 'render', `the plan of the restore of ${input.backup} into a new release`));
  }

  async planRollback(cluster: string | undefined, namespace: string, release: string): Promise<Plan> {
    return planOf(await this.ask({ kind: 'rollback', ...(cluster ? { cluster } : {}), namespace, release }, 'render', `the plan of the rollback of ${release}`));
  }

  async status(cluster: string | undefined, namespace: string, release: string): Promise<StatusResult> {
    const result = await this.ask({ kind: 'status', ...(cluster ? { cluster } : {}), namespace, release }, 'read', `the status of ${release}`);
    if (!('status' in result)) throw new Error(`the worker answered a status read without a status`);
    return result.status;
  }

  async releases(cluster: string | undefined, namespace?: string): Promise<HelmReleaseInfo[]> {
    const result = await this.ask({ kind: 'releases', ...(cluster ? { cluster } : {}), ...(namespace ? { namespace } : {}) }, 'read', `the releases of ${namespace ?? 'every namespace'}`);
    if (!('releases' in result)) throw new Error(`the worker answered a release list without releases`);
    return result.releases;
  }

  /** `what`: what the worker is asked for, as a person reads it ("the plan of ..."). */
  private async ask(data: PlanJobData, verb: 'render' | 'read', what: string): Promise<Exclude<PlanJobResult, { error: unknown }>> {
    // No worker or planner connected: said at once rather than after the whole timeout (a slot of
    // the bot's work is not held for nothing). A Redis that refuses CLIENT LIST (an ACL user
    // without it) only loses this shortcut.
    if ((await this.o.queue.getWorkersCount().catch(() => null)) === 0) {
      throw new UpgradeError('transient', `no worker or planner is running to ${verb} ${what}: nothing was changed`, [
        'start a worker (ROLES=worker) or a planner (ROLES=planner) on this Redis and key prefix, then ask again',
      ]);
    }
    const job = await this.o.queue.add(data.kind, data, { removeOnComplete: { age: KEEP_SECONDS }, removeOnFail: { age: KEEP_SECONDS }, attempts: 1 });
    let result: PlanJobResult;
    try {
      result = (await job.waitUntilFinished(this.o.events, this.o.timeoutMs)) as PlanJobResult;
    } catch (err) {
      const state = await job.getState().catch(() => 'unknown');
      if (state === 'waiting' || state === 'prioritized' || state === 'delayed') {
        // Nobody took it: take it back, so that a worker starting later does not render it for nobody.
        await job.remove().catch(() => {});
        throw new UpgradeError('transient', `no worker took ${what} within ${Math.round(this.o.timeoutMs / 1000)} s: nothing was changed`, [
          'the workers (ROLES=worker) may all be down or busy; look at /readyz and the queue dashboard, then ask again',
        ]);
      }
      if (state === 'active') throw new UpgradeError('timeout', `${what} took longer than ${Math.round(this.o.timeoutMs / 1000)} s on a worker: nothing was changed`, ['ask again; if it keeps happening, look at the worker\'s log (helm or the API server is slow)']);
      throw new UpgradeError('transient', `${what} failed on a worker: ${explainError(err)}`, ['nothing was changed; ask again']);
    }
    if ('error' in result) {
      const e = result.error;
      throw e.code ? new UpgradeError(e.code, e.message, e.details) : new Error(e.message);
    }
    return result;
  }
}

function planOf(result: Exclude<PlanJobResult, { error: unknown }>): Plan {
  if (!('plan' in result)) throw new Error('the worker answered a plan request without a plan');
  return result.plan;
}

export function planQueue(connection: ConnectionOptions, prefix: string): Queue<PlanJobData, PlanJobResult> {
  return new Queue<PlanJobData, PlanJobResult>(PLAN_QUEUE_NAME, { connection, prefix: bullPrefix(prefix) });
}

export function planQueueEvents(connection: ConnectionOptions, prefix: string): QueueEvents {
  return new QueueEvents(PLAN_QUEUE_NAME, { connection, prefix: bullPrefix(prefix) });
}

export interface PlanWorkerOptions {
  readonly connection: ConnectionOptions;
  readonly prefix: string;
  /** The engine that renders (helm, the API server), on the worker; and reads for a split-mode bot. */
  readonly engine: Pick<UpgradeEngine, 'planUpgrade' | 'planRollback'> & Partial<Pick<UpgradeEngine, 'status' | 'releases' | 'planRestore'>>;
  readonly logger: Logger;
  /** Plans rendered at once by this worker. */
  readonly concurrency: number;
}

/** The worker's side: renders each plan and returns it, or the engine's refusal. */
export function createPlanWorker(o: PlanWorkerOptions): Worker<PlanJobData, PlanJobResult> {
  const read = async (d: Extract<PlanJobData, { kind: 'status' | 'releases' }>): Promise<PlanJobResult> => {
    const { status, releases } = o.engine;
    if (!status || !releases) throw new UpgradeError('transient', 'this worker reads no release for the bot: nothing was changed', ['ask again (another worker may take it)']);
    if (d.kind === 'status') return { status: await status(d.cluster, d.namespace, d.release) };
    return { releases: await releases(d.cluster, d.namespace) };
  };
  const restore = (cluster: string | undefined, input: RestoreInput): Promise<Plan> => {
    if (!o.engine.planRestore) throw new UpgradeError('transient', 'this worker plans no restore for the bot: nothing was changed', ['ask again (another worker may take it)']);
    return o.engine.planRestore(cluster, input);
  };
  const render = async (job: Job<PlanJobData, PlanJobResult>): Promise<PlanJobResult> => {
    const d = job.data;
    const started = Date.now();
    try {
      if (d.kind === 'status' || d.kind === 'releases') return await read(d);
      const plan =
        d.kind === 'upgrade'
          ? await o.engine.planUpgrade(d.cluster, d.input)
          : d.kind === 'restore'
            ? await restore(d.cluster, d.input)
            : await o.engine.planRollback(d.cluster, d.namespace, d.release);
      o.logger.info({ planJob: job.id, kind: d.kind, plan: plan.id, ms: Date.now() - started }, 'plan rendered');
      return { plan };
    } catch (err) {
      o.logger.info({ planJob: job.id, kind: d.kind, err: explainError(err), ms: Date.now() - started }, 'plan refused or failed');
      return err instanceof UpgradeError ? { error: { code: err.code, message: err.message, details: err.details } } : { error: { code: null, message: explainError(err), details: [] } };
    }
  };
  const worker = new Worker<PlanJobData, PlanJobResult>(PLAN_QUEUE_NAME, render, { connection: o.connection, prefix: bullPrefix(o.prefix), concurrency: o.concurrency });
  worker.on('error', (err) => o.logger.error({ err: explainError(err) }, 'plan worker error'));
  return worker;
}
