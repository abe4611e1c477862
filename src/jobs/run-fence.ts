/**
 * The fence around a run: each run of a request takes a new token in the record when it starts,
 * and each of its writes is refused once a newer run took the request over (its queue lock was
 * lost while a long helm call ran and the job went to another worker).
 */
import { UpgradeError } from '../upgrade/errors.js';
import type { ObservedFingerprint } from '../upgrade/plan.js';
import { withNewRun, withPhase, type Actor, type LogEntry, type Phase, type PhaseExtra, type UpgradeRequest } from '../upgrade/requests.js';
import type { RedisRequestStore } from './requests.js';

// Appends to a request's log only while the run holding token ARGV[1] still owns the request.
const FENCED_APPEND = `
local json = redis.call('HGET', KEYS[1], 'json')
if not json then return -1 end
local token = cjson.decode(json).runToken or 0
if tostring(token) ~= ARGV[1] then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('HINCRBY', KEYS[1], 'ver', 1)
return 1`;

/** A run whose token is no longer the request's: another run took over; this one stops. */
export class Superseded extends UpgradeError {
  constructor(id: string, token: number, options?: { cause?: unknown }) {
    super('superseded', `run ${token} of ${id} was superseded by a newer run: it stops and writes nothing`, [], options);
  }
}

/** What a fenced run may write (see fenced). */
export interface RunWriter {
  readonly token: number;
  /** The record, re-read; Superseded when another run owns it now. */
  current(): Promise<UpgradeRequest>;
  appendLog(entry: LogEntry): Promise<void>;
  audit(actor: Actor, action: string, detail?: string, now?: number): Promise<void>;
  setPhase(phase: Phase, actor: Actor, extra?: PhaseExtra, now?: number): Promise<UpgradeRequest>;
  stepDone(index: number): Promise<void>;
  /** What the run left (see UpgradeRequest.leftBehind). */
  recordLeftBehind(left: ObservedFingerprint): Promise<void>;
  /** A finished rollback marks the upgrade it undid. */
  markRolledBack(upgradeId: string, actor: Actor): Promise<void>;
}

/**
 * Starts a run: increments the request's fencing token atomically and returns it, or null
 * (nothing changed) when the request has already ended.
 */
export async function beginRun(store: RedisRequestStore, id: string, now = Date.now()): Promise<{ request: UpgradeRequest; token: number | null }> {
const { request, changed } = await store.update(id, (r) => withNewRun(r, now));
  return { request, token: changed ? (request.runToken ?? 0) : null };
}

/**
 * The writes of the run holding `token`: each refused with Superseded once a newer run began.
 * `sealRun` renews the run seal with every finished step (upgrade/seal.ts).
 */
export function fenced(store: RedisRequestStore, id: string, token: number, sealRun: (r: UpgradeRequest) => string | null = () => null): RunWriter {
  const check = (r: UpgradeRequest) => {
    if ((r.runToken ?? 0) !== token) throw new Superseded(id, token);
  };
  const appendLog = async (entry: LogEntry) => {
    const ok = await store.redis.eval(FENCED_APPEND, 2, store.key('req', id), store.key('log', id), String(token), JSON.stringify(entry));
    if (ok !== 1) throw new Superseded(id, token);
    await store.redis.publish(store.changedChannel(), id);
  };
  const audit = (actor: Actor, action: string, detail?: string, now = Date.now()) => appendLog({ at: now, type: 'audit', actor, action, ...(detail ? { detail } : {}) });
  return {
    token,
    appendLog,
    audit,
    current: async () => {
      const r = await store.require(id);
      check(r);
      return r;
    },
    setPhase: async (phase, actor, extra = {}, now = Date.now()) => {
      const { request } = await store.update(id, (r) => {
        check(r);
        return withPhase(r, phase, extra);
      });
      await audit(actor, phase, extra.error ?? undefined, now);
      return request;
    },
    stepDone: async (index) => {
      await store.update(id, (r) => {
        check(r);
        if (r.completedSteps > index) return null;
        const next = { ...r, completedSteps: index + 1 };
        return { ...next, runSeal: sealRun(next) };
      });
    },
    recordLeftBehind: async (left) => {
      await store.update(id, (r) => {
        check(r);
        return { ...r, leftBehind: left };
      });
    },
    markRolledBack: async (upgradeId, actor) => {
      check(await store.require(id));
      await store.setPhase(upgradeId, 'rolled-back', actor);
    },
  };
}
