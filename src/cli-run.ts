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
import { RedisFleetStore } from './jobs/fleets.js';
import { activeFleets, advanceFleet, cancelFleet, memberState, readMembers, requestFleet, sealMembers, type FleetDeps } from './upgrade/lifecycle/fleet-lifecycle.js';
import { fleetPlanText, type FleetPlan } from './upgrade/fleet/fleet-plan.js';
import { deriveFleetState, type FleetRecord } from './upgrade/fleet/fleet-record.js';
import { fleetStatusJson, fleetStatusMembers, fleetStatusText } from './upgrade/fleet/fleet-status.js';
import type { Actor } from './upgrade/requests.js';

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

/**
 * `fleet upgrade --yes`: the fleet recorded (a member request per release, approved by the
 * person at the terminal, as `upgrade --yes` is), then run wave by wave: here (each member as
 * `upgrade` runs it, the next started as one ends), or by the workers (`--queue`), followed
 * until it ends. Ctrl-C cancels the fleet: nothing more starts, the running members stop.
 */
export async function executeFleet(conn: Connection, plan: FleetPlan, waveMarks: string, o: PlanOpts): Promise<void> {
  const sealer = cliSealer(o);
  if (!o.json) process.stdout.write(`${fleetPlanText(plan)}\n\n`);
  const pollIntervalMs = Number(o.pollMs) || 500;
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = Date.now();
  try {
    await recorded(o, async (store, redis) => {
      const fleets = new RedisFleetStore(redis, o.keyPrefix);
      const actor = cliActor();
      const engine: EngineAccess = { forCluster: () => ({ deps: conn, ports: conn.ports }) };
      const running = new Map<string, Promise<void>>();
      const fleetId: { value: string | null } = { value: null };
      // Here: a member handed over runs in this process, and its end moves the fleet on.
      const here: JobQueue = {
        enqueue: async (id) => {
          if (running.has(id)) return;
          const run = (async () => {
            try {
              await executeRequest(store, engine, id, { sealer, signal: controller.signal, pollIntervalMs, actor, onEvent: (e) => printMemberEvent(o, id, e) });
            } catch {
              // Recorded in the member's request; the fleet reads it from there.
            }
            if (fleetId.value) await advanceFleet(deps, fleetId.value);
          })();
          running.set(id, run);
        },
      };
      const deps: FleetDeps = { store, fleets, queue: o.queue ? queueAt(o) : here };
      const fleet = await requestFleet(deps, { plan, waveMarks, requester: actor, place: null, approvalsNeeded: 0, allowSelfApproval: true, ttlMs: 3_600_000 });
      fleetId.value = fleet.id;
      if (!o.json) process.stdout.write(`fleet ${fleet.id}: ${fleet.waves.flat().length} member request(s) recorded (audit trail in Redis)\n`);
      await sealMembers({ store, sealer }, fleet, actor);
      await advanceFleet(deps, fleet.id);
      const ended = await followFleet(store, fleets, fleet.id, o, controller.signal, actor);
      await Promise.all([...running.values()]);
      const secs = Math.round((Date.now() - started) / 1000);
      const summary = await fleetSummary(store, ended);
      print(o, { result: ended.ended?.outcome, fleet: ended.id, seconds: secs, members: summary.members, refused: ended.refused }, `Fleet ${ended.id} ${ended.ended?.outcome} in ${secs}s\n${summary.text}`);
      if (ended.ended?.outcome !== 'succeeded') throw new UpgradeError(ended.ended?.outcome === 'cancelled' ? 'cancelled' : 'step-failed', `fleet ${ended.id} ${ended.ended?.outcome ?? 'ended'}${ended.halted ? `: ${ended.halted.reason}` : ''}`);
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    conn.close();
  }
}

function printMemberEvent(o: PlanOpts, id: string, e: RunEvent | RunEventRecord): void {
  if (o.json) process.stdout.write(`${JSON.stringify({ member: id, event: e })}\n`);
  else process.stdout.write(`[${id}] ${eventText(e)}\n`);
}

/** Prints each member's changes of state until the fleet ends; a signal cancels the fleet once. */
async function followFleet(store: RedisRequestStore, fleets: RedisFleetStore, id: string, o: PlanOpts, signal: AbortSignal, actor: Actor): Promise<FleetRecord> {
  const seen = new Map<string, string>();
  let cancelAsked = false;
  for (;;) {
    if (signal.aborted && !cancelAsked) {
      cancelAsked = true;
      await cancelFleet({ store, fleets, queue: { enqueue: async () => {} } }, id, actor).catch(() => {});
    }
    const fleet = await fleets.require(id);
    const members = await readMembers(store, fleet);
    for (const [w, wave] of fleet.waves.entries()) {
      for (const memberId of wave) {
        const r = members.get(memberId) ?? null;
        const state = memberState(r, Date.now());
        if (seen.get(memberId) === state) continue;
        seen.set(memberId, state);
        if (o.json) process.stdout.write(`${JSON.stringify({ fleet: id, wave: w + 1, member: memberId, release: r?.release, state })}\n`);
        else process.stdout.write(`wave ${w + 1}: ${r?.namespace}/${r?.release} (${memberId}) ${state}${r?.error && isTerminal(deriveState(r, Date.now())) ? `: ${r.error}` : ''}\n`);
      }
    }
    if (fleet.ended) return fleet;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function fleetSummary(store: RedisRequestStore, fleet: FleetRecord): Promise<{ members: object[]; text: string }> {
  const all = await readMembers(store, fleet);
  const members = fleetStatusMembers(fleet, all, Date.now()).map((m) => ({ wave: m.wave, id: m.id, namespace: m.namespace, release: m.release, state: m.state, error: m.error, changedRelease: (all.get(m.id)?.startedAt ?? null) !== null }));
  const lines = members.map((m) => `  wave ${m.wave}: ${m.namespace}/${m.release} ${m.state}${m.error ? `: ${m.error.split('\n')[0]}` : ''}`);
  // A member that failed after it changed its release: its way back, ready to paste.
  for (const m of members) if (m.state === 'failed' && m.changedRelease) lines.push(`  to roll back ${m.release}: milvus-upgrade rollback ${m.release} -n ${m.namespace} --yes`);
  for (const r of fleet.refused) lines.push(`  left out: ${r.namespace}/${r.release}: ${r.reason.split('\n')[0]}`);
  return { members, text: lines.join('\n') };
}

/** `fleet status [id]`: one fleet as it stands (from Redis), or the fleets not ended. */
export async function fleetStatus(o: PlanOpts, id: string | undefined): Promise<void> {
  await recorded(o, async (store, redis) => {
    const fleets = new RedisFleetStore(redis, o.keyPrefix);
    const now = Date.now();
    if (!id) {
      const active = await activeFleets(fleets);
      print(o, active.map((f) => ({ fleet: f.id, selector: f.selector, version: f.version, state: deriveFleetState(f, now) })), active.length === 0 ? 'no fleet is running or waiting for approval' : active.map((f) => `${f.id}: ${f.selector} to ${f.version}, ${deriveFleetState(f, now)}`).join('\n'));
      return;
    }
    const fleet = await fleets.require(id);
    const members = await readMembers(store, fleet);
    print(o, fleetStatusJson(fleet, members, now), fleetStatusText(fleet, members, now));
  });
}
