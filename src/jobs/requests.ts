import type { Redis } from 'ioredis';
import { UpgradeError } from '../upgrade/errors.js';
import type { AccessAuditEntry, RequestStore } from '../upgrade/ports.js';
import { latestChange } from '../upgrade/planner/rollback-consent.js';
import {
  DEFAULT_REQUEST_RETENTION_DAYS,
  deriveState,
  endedWith,
  isTerminal,
  newRequest,
  releaseKey,
  requestedEntry,
  retainUntil,
  withApproval,
  withCancelAsked,
  withPhase,
  withRejection,
  withSealForRun,
  withApprovalSeal,
  withNotRun,
  withQueued,
  withScheduled,
  type Scheduled,
  type Actor,
  type LogEntry,
  type NewRequest,
  type Phase,
  type PhaseExtra,
  type Place,
  type UpgradeRequest,
} from '../upgrade/requests.js';


export class ReleaseBusy extends UpgradeError {
  constructor(readonly active: UpgradeRequest, state: string) {
    super('busy', `${active.release} already has request ${active.id} (${active.kind} to ${active.plan.to}, ${state}, asked by ${active.requester.name ?? active.requester.id})`, [
      'one upgrade or rollback per release at a time: wait for it, or cancel it first',
    ]);
  }
}

// How long a request's record (KEYS[1]) and log (KEYS[2]) are kept: until ARGV[1] (ms, '' for
// as long as they live), except that the latest change of the release (the top of its changes
// index, KEYS[3]; ARGV[2] the request's id) is always kept: rollback consent needs it.
const retainLua = (until: string, id: string) => `do
  local top = redis.call('ZREVRANGE', KEYS[3], 0, 0)
  if ${until} == '' or top[1] == ${id} then
    redis.call('PERSIST', KEYS[1])
    redis.call('PERSIST', KEYS[2])
  else
    redis.call('PEXPIREAT', KEYS[1], ${until})
    redis.call('PEXPIREAT', KEYS[2], ${until})
  end
end`;
const RETAIN = retainLua('ARGV[1]', 'ARGV[2]');

// Writes a request record only if its revision is still the one read (optimistic locking
// without WATCH, which a shared connection cannot use safely).
// ARGV[3]: the latest time (Redis's clock, ms) the write may still land, '' for any time: a write
// sent just before Redis stalled is refused when Redis wakes up later, never applied late.
// In the same atomic step: a request that started running (ARGV[5], its startedAt, '' for not
// started) enters its release's changes index (KEYS[3]), so the latest change is found however
// many requests come after it; and the record's retention is set (see RETAIN). Returns
// {1, the previous latest change ('' for none or unchanged)}, {0} on a concurrent write, {-2} late.
const CAS_RECORD = `
if ARGV[3] ~= '' then
  local t = redis.call('TIME')
  if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(ARGV[3]) then return {-2, ''} end
end
local rev = redis.call('HGET', KEYS[1], 'rev')
if rev ~= ARGV[1] then return {0, ''} end
redis.call('HSET', KEYS[1], 'json', ARGV[2], 'rev', tostring(tonumber(ARGV[1]) + 1))
redis.call('HINCRBY', KEYS[1], 'ver', 1)
local previous = ''
if ARGV[5] ~= '' and not redis.call('ZSCORE', KEYS[3], ARGV[6]) then
  local top = redis.call('ZREVRANGE', KEYS[3], 0, 0)
  if top[1] then previous = top[1] end
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[6])
end
${retainLua('ARGV[4]', 'ARGV[6]')}
return {1, previous}`;

/** Seams for tests that widen race windows; never set in production. */
export interface StoreTestHooks {
  /** Awaited by create() between reading the lock and writing the record. */
  readonly beforeRecordWrite?: () => Promise<void>;
}

export interface StoreOptions {
  /**
   * A change to a record that reaches Redis later than this after it was sent is refused there
   * (the bot's clicks: a stalled Redis must not apply a vote minutes later). Unset: no limit.
   */
  readonly writeWithinMs?: number;
  /**
   * How long an ended request's record and log are kept (ms; default
   * DEFAULT_REQUEST_RETENTION_DAYS): see retainUntil. The latest change of each release and any
   * request that has not ended are kept whatever this says.
   */
  readonly retentionMs?: number;
}

/** A change refused by Redis because it arrived too late (see StoreOptions.writeWithinMs). */
export class LateWrite extends UpgradeError {
  constructor(id: string, withinMs: number) {
    super('transient', `Redis took more than ${withinMs / 1000} s to take this change to ${id}: it was refused there and nothing was changed; try again`);
  }
}

/** Access decisions (not tied to a request) kept in the audit list, newest last. */
export const ACCESS_AUDIT_KEEP = 10_000;

// How long a measured offset between this host's clock and Redis's is trusted.
const CLOCK_CHECK_MS = 60_000;

// Creates a request: takes the release's lock only if it still holds the id read (ARGV[1], ''
// for none) and, in the same atomic step, writes the record, its history entry and its first
// log line, kept until ARGV[6] ('' for as long as they live: see retainUntil). Nobody can see the
// new lock without its record.
const CREATE = `
local cur = redis.call('GET', KEYS[1])
if not ((cur == false and ARGV[1] == '') or cur == ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], 'json', ARGV[3], 'rev', '0', 'ver', '1')
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
redis.call('RPUSH', KEYS[4], ARGV[5])
if ARGV[6] ~= '' then
  redis.call('PEXPIREAT', KEYS[2], ARGV[6])
  redis.call('PEXPIREAT', KEYS[4], ARGV[6])
end
return 1`;

// Appends a log line (KEYS[2]) to a request (KEYS[1]); the line lives as long as the record: a
// log written after its record expired (or without one) expires ARGV[2] ms from now.
const APPEND_LOG = `
local ttl = redis.call('PTTL', KEYS[1])
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'ver', 1)
if ttl == -2 then ttl = tonumber(ARGV[2]) end
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
end`;

/** The parts of a per-release key (`cluster/namespace/release`); a cluster name may hold "/". */
function releaseOfKey(key: string): { cluster: string; namespace: string; release: string } | null {
  const parts = key.split('/');
  if (parts.length < 3) return null;
  const release = parts.pop()!;
  const namespace = parts.pop()!;
  return { cluster: parts.join('/'), namespace, release };
}

type Mutation = (r: UpgradeRequest) => UpgradeRequest | null;

/**
 * Upgrade requests, their audit/event log and the per-release lock, kept in Redis. The rules are
 * the domain's (upgrade/requests.ts); this applies them atomically and announces each change.
 * A run's writes go through its fence (run-fence.ts).
 */
export class RedisRequestStore implements RequestStore {
  constructor(
    /** Also written by the run fence and the edit ledger, under the same keys. */
    readonly redis: Redis,
    private readonly prefix = 'mub:',
    private readonly hooks: StoreTestHooks = {},
    private readonly options: StoreOptions = {},
  ) {}

  private redisClock: { offsetMs: number; checkedAt: number } | null = null;

  private get retentionMs(): number {
    return this.options.retentionMs ?? DEFAULT_REQUEST_RETENTION_DAYS * 86_400_000;
  }

  /** The latest Redis time a change sent now may land, or '' without a limit. */
  private async notAfter(): Promise<string> {
    const within = this.options.writeWithinMs;
    if (within === undefined) return '';
    const now = Date.now();
    if (!this.redisClock || now - this.redisClock.checkedAt > CLOCK_CHECK_MS) {
      // Measured, not assumed: the two hosts' clocks may differ by more than the limit.
      const [sec, usec] = await this.redis.time();
      const after = Date.now();
      this.redisClock = { offsetMs: Number(sec) * 1000 + Math.floor(Number(usec) / 1000) - (now + after) / 2, checkedAt: after };
    }
    return String(Math.round(Date.now() + this.redisClock.offsetMs + within));
  }

  /** The key of one of the request records' parts (`req`, `log`, `shown`...). */
  key(...parts: string[]): string {
    return `${this.prefix}${parts.join(':')}`;
  }

  async get(id: string): Promise<UpgradeRequest | null> {
    const json = await this.redis.hget(this.key('req', id), 'json');
    return json ? (JSON.parse(json) as UpgradeRequest) : null;
  }

  async require(id: string): Promise<UpgradeRequest> {
    const r = await this.get(id);
    if (!r) throw new UpgradeError('not-found', `no request ${id}`);
    return r;
  }

  /** The request holding the release, if it is still active. */
  async activeFor(cluster: string, namespace: string, release: string, now = Date.now()): Promise<UpgradeRequest | null> {
    const holder = await this.redis.get(this.key('lock', releaseKey(cluster, namespace, release)));
    if (!holder) return null;
    const r = await this.get(holder);
    return r && !isTerminal(deriveState(r, now)) ? r : null;
  }

  /**
   * Creates a request and takes the release's lock in one go; refuses with ReleaseBusy when
   * another request for the release is still active. Under concurrent calls exactly one wins.
   */
  async create(input: NewRequest, now = Date.now()): Promise<UpgradeRequest> {
    const { plan } = input;
    const lockKey = this.key('lock', releaseKey(plan.cluster, plan.namespace, plan.release));
    for (let attempt = 0; attempt < 50; attempt++) {
      const holder = await this.redis.get(lockKey);
      if (holder) {
        const active = await this.get(holder);
        if (active) {
          const state = deriveState(active, now);
          if (!isTerminal(state)) throw new ReleaseBusy(active, state);
        }
      }
      const id = `req-${await this.nextSequence(now)}`;
      const request = newRequest(id, input, now);
      const first = requestedEntry(input, now);
      await this.hooks.beforeRecordWrite?.();
      const keys = [lockKey, this.key('req', id), this.key('history', releaseKey(plan.cluster, plan.namespace, plan.release)), this.key('log', id)];
      const until = retainUntil(request, now, this.retentionMs);
      const won = await this.redis.eval(CREATE, keys.length, ...keys, holder ?? '', id, JSON.stringify(request), String(now), JSON.stringify(first), until === null ? '' : String(until));
      if (won !== 1) continue;
      await this.redis.publish(this.changedChannel(), id);
      return request;
    }
    throw new UpgradeError('busy', `could not take the lock of ${plan.release}: too much contention`);
  }

  /**
   * The next request number. The counter starts at the current time in milliseconds when it does
   * not exist, so after Redis lost its data new ids start above every id handed out before (a card
   * still in Slack can never name a new request; issue 25) while ids stay short numbers.
   */
  private async nextSequence(now: number): Promise<number> {
    const key = this.key('seq');
    await this.redis.set(key, String(Math.max(0, Math.floor(now))), 'NX');
    return this.redis.incr(key);
  }

  /** Applies `mutate` atomically (retrying on a concurrent write); null from mutate = no change. */
  async update(id: string, mutate: Mutation): Promise<{ request: UpgradeRequest; changed: boolean }> {
    const key = this.key('req', id);
    // From the start of the change: the limit covers the read it is decided on.
    const notAfter = await this.notAfter();
    for (let attempt = 0; attempt < 50; attempt++) {
      const [json, rev] = await this.redis.hmget(key, 'json', 'rev');
      if (!json || rev === null || rev === undefined) throw new UpgradeError('not-found', `no request ${id}`);
      const current = JSON.parse(json) as UpgradeRequest;
      const next = mutate(current);
      if (!next) return { request: current, changed: false };
      const until = retainUntil(next, Date.now(), this.retentionMs);
      const keys = [key, this.key('log', id), this.changesKey(next)];
      const [ok, previous] = (await this.redis.eval(CAS_RECORD, keys.length, ...keys, rev, JSON.stringify(next), notAfter, until === null ? '' : String(until), next.startedAt === null ? '' : String(next.startedAt), id)) as [number, string];
      if (ok === -2) throw new LateWrite(id, this.options.writeWithinMs ?? 0);
      if (ok === 1) {
        // The change it replaces as the latest is no longer kept for rollback consent.
        if (previous) await this.applyRetention(previous);
        await this.redis.publish(this.changedChannel(), id);
        return { request: next, changed: true };
      }
    }
    throw new UpgradeError('busy', `request ${id} is being changed by others: try again`);
  }

  /** Applies a rule that may refuse: the refusal of the last attempt is returned, nothing written. */
  private async decide(id: string, rule: (r: UpgradeRequest) => UpgradeRequest | UpgradeError | null): Promise<{ request: UpgradeRequest; changed: boolean; refusal: UpgradeError | null }> {
    let refusal: UpgradeError | null = null;
    const { request, changed } = await this.update(id, (r) => {
      const next = rule(r);
      refusal = next instanceof UpgradeError ? next : null;
      return next instanceof UpgradeError ? null : next;
    });
    return { request, changed, refusal };
  }

  /** A vote (see withApproval); a refused one is logged, then thrown. */
  async approve(id: string, by: Actor, now = Date.now()): Promise<{ request: UpgradeRequest; changed: boolean; nowApproved: boolean }> {
    const { request, changed, refusal } = await this.decide(id, (r) => withApproval(r, by, now));
    if (refusal) {
      await this.audit(id, by, 'approval refused', refusal.message, now);
      throw refusal;
    }
    const nowApproved = changed && deriveState(request, now) === 'approved';
    if (changed) await this.audit(id, by, 'approved', `${request.approvals.length}/${request.approvalsNeeded}`, now);
    return { request, changed, nowApproved };
  }

  async reject(id: string, by: Actor, reason: string | undefined, now = Date.now()): Promise<UpgradeRequest> {
    const { request, changed, refusal } = await this.decide(id, (r) => withRejection(r, by, reason, now));
    if (refusal) throw refusal;
    if (changed) await this.audit(id, by, 'rejected', reason, now);
    return request;
  }


  async setPhase(id: string, phase: Phase, actor: Actor, extra: PhaseExtra = {}, now = Date.now()): Promise<UpgradeRequest> {
    const { request } = await this.update(id, (r) => withPhase(r, phase, extra));
    await this.audit(id, actor, phase, extra.error ?? undefined, now);
    return request;
  }

  async sealForRun(id: string, actor: Actor, sealOf: (r: UpgradeRequest) => string, now = Date.now()): Promise<UpgradeRequest> {
    const { request, changed, refusal } = await this.decide(id, (r) => withSealForRun(r, sealOf, now));
    if (refusal) throw refusal;
    if (changed) await this.audit(id, actor, 'queued', 'approval sealed', now);
    return request;
  }

  /** A fleet member's approval sealed while it waits for its wave (see withApprovalSeal). */
  async sealApproved(id: string, actor: Actor, sealOf: (r: UpgradeRequest) => string, now = Date.now()): Promise<UpgradeRequest> {
    const { request, changed, refusal } = await this.decide(id, (r) => withApprovalSeal(r, sealOf, now));
    if (refusal) throw refusal;
    if (changed) await this.audit(id, actor, 'approval sealed', request.fleet ? `member of ${request.fleet.id}` : undefined, now);
    return request;
  }

  /** A sealed fleet member marked queued for its wave (see withQueued); refusals are thrown. */
  async markQueued(id: string, actor: Actor, detail: string, now = Date.now()): Promise<UpgradeRequest> {
    const { request, changed, refusal } = await this.decide(id, (r) => withQueued(r, now));
    if (refusal) throw refusal;
    if (changed) await this.audit(id, actor, 'queued', detail, now);
    return request;
  }

  /** A hold by a window or a freeze recorded (null: it runs now); audited when it changes. */
  async setScheduled(id: string, scheduled: Scheduled | null, actor: Actor, now = Date.now()): Promise<UpgradeRequest> {
    const { request, changed } = await this.update(id, (r) => withScheduled(r, scheduled, now));
    if (changed && scheduled) await this.audit(id, actor, 'scheduled', scheduled.text, now);
    return request;
  }

  /** Ends a request that never started (cancelled, with the reason); false when it had started or ended. */
  async endNotStarted(id: string, reason: string, actor: Actor, now = Date.now()): Promise<boolean> {
    const { changed } = await this.update(id, (r) => withNotRun(r, reason, now));
    if (changed) await this.audit(id, actor, 'cancelled', reason, now);
    return changed;
  }

  /**
   * Ends a request that is not over yet (its job is gone or failed for good), which frees its
   * release. Returns false when it had ended already.
   */
  async endIfActive(id: string, reason: string, actor: Actor, now = Date.now()): Promise<boolean> {
    const { changed } = await this.update(id, (r) => endedWith(r, reason, now));
    if (changed) await this.audit(id, actor, 'failed', reason, now);
    return changed;
  }

  /**
   * Every release lock: the release it is for (parsed from the key; a cluster name may hold "/",
   * a namespace or release cannot) and the request that holds, or last held, it.
   */
  async locks(): Promise<Array<{ readonly cluster: string; readonly namespace: string; readonly release: string; readonly holder: string }>> {
    const out: Array<{ cluster: string; namespace: string; release: string; holder: string }> = [];
    const prefix = this.key('lock', '');
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length === 0) continue;
      const holders = await this.redis.mget(...keys);
      keys.forEach((key, i) => {
        const parts = key.slice(prefix.length).split('/');
        const holder = holders[i];
        if (parts.length < 3 || !holder) return;
        out.push({ release: parts.pop()!, namespace: parts.pop()!, cluster: parts.join('/'), holder });
      });
    } while (cursor !== '0');
    return out;
  }

  /** Ids of the requests that hold (or last held) a release's lock. */
  async lockHolders(): Promise<string[]> {
    return (await this.locks()).map((l) => l.holder);
  }

  /** Asks to stop (see withCancelAsked) and tells the workers at once. */
  async requestCancel(id: string, by: Actor, now = Date.now()): Promise<UpgradeRequest> {
    const { request, changed } = await this.update(id, (r) => withCancelAsked(r, by, now));
    if (changed) await this.audit(id, by, 'cancel requested', undefined, now);
    await this.redis.publish(this.key('cancel'), id);
    return request;
  }

  async setPlace(id: string, place: Place): Promise<UpgradeRequest> {
    return (await this.update(id, (r) => ({ ...r, place: { ...r.place, ...place } }))).request;
  }

  async linkRollback(id: string, rollbackId: string): Promise<void> {
    await this.update(id, (r) => (r.rollbackRequest === rollbackId ? null : { ...r, rollbackRequest: rollbackId }));
  }

  async audit(id: string, actor: Actor, action: string, detail?: string, now = Date.now()): Promise<void> {
    await this.appendLog(id, { at: now, type: 'audit', actor, action, ...(detail ? { detail } : {}) });
  }

  async appendLog(id: string, entry: LogEntry): Promise<void> {
    await this.redis.eval(APPEND_LOG, 2, this.key('req', id), this.key('log', id), JSON.stringify(entry), String(this.retentionMs));
    await this.redis.publish(this.changedChannel(), id);
  }

  /**
   * The newest ACCESS_AUDIT_KEEP decisions are kept: anyone in the workspace can type a command,
   * and refusals of strangers must not grow Redis without bound (issue 25).
   */
  async auditAccess(entry: AccessAuditEntry): Promise<void> {
    const key = this.key('access-audit');
    await this.redis.multi().rpush(key, JSON.stringify(entry)).ltrim(key, -ACCESS_AUDIT_KEEP, -1).exec();
  }

  async accessLog(): Promise<AccessAuditEntry[]> {
    return (await this.redis.lrange(this.key('access-audit'), 0, -1)).map((s) => JSON.parse(s) as AccessAuditEntry);
  }

  async log(id: string): Promise<LogEntry[]> {
    return (await this.redis.lrange(this.key('log', id), 0, -1)).map((s) => JSON.parse(s) as LogEntry);
  }

  /** The index of the requests of a release that started running, by startedAt. */
  private changesKey(r: Pick<UpgradeRequest, 'cluster' | 'namespace' | 'release'>): string {
    return this.key('changes', releaseKey(r.cluster, r.namespace, r.release));
  }

  /**
   * The newest request that changed the release (started running), however many requests came
   * after it (plans, refusals, rejections). Found in the changes index written when a run starts;
   * a release whose index is empty (records from before it existed) is looked up in its whole
   * history once, and the index filled in.
   */
  async latestChange(cluster: string, namespace: string, release: string): Promise<UpgradeRequest | null> {
    const key = this.changesKey({ cluster, namespace, release });
    const top = await this.redis.zrevrange(key, 0, 9);
    if (top.length > 0) return latestChange(await this.records(top));
    const changes: UpgradeRequest[] = [];
    const historyKey = this.key('history', releaseKey(cluster, namespace, release));
    for (let start = 0; ; start += 200) {
      const ids = await this.redis.zrange(historyKey, String(start), String(start + 199));
      changes.push(...(await this.records(ids)).filter((r) => r.startedAt !== null));
      if (ids.length < 200) break;
    }
    if (changes.length === 0) return null;
    await this.redis.zadd(key, 'NX', ...changes.flatMap((r) => [String(r.startedAt), r.id]));
    return latestChange(changes);
  }

  private async records(ids: readonly string[]): Promise<UpgradeRequest[]> {
    return (await Promise.all(ids.map((id) => this.get(id)))).filter((r): r is UpgradeRequest => r !== null);
  }

  /** Sets how long a request's record and log are kept, from the record as it is now. */
  private async applyRetention(id: string): Promise<void> {
    const r = await this.get(id);
    if (!r) return;
    const until = retainUntil(r, Date.now(), this.retentionMs);
    await this.redis.eval(RETAIN, 3, this.key('req', id), this.key('log', id), this.changesKey(r), until === null ? '' : String(until), id);
  }

  /**
   * Drops from the releases' history and changes indexes the ids whose records expired, and
   * gives a retention to records written before retention existed. Only ids older than the
   * retention can have expired (a record is kept at least that long after it was created).
   * Returns how many ids it dropped.
   */
  async trimIndexes(now = Date.now()): Promise<number> {
    const cutoff = String(now - this.retentionMs);
    let dropped = 0;
    for (const kind of ['history', 'changes']) {
      const prefix = this.key(kind, '');
      let cursor = '0';
      do {
        const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        cursor = next;
        for (const key of keys) {
          const place = releaseOfKey(key.slice(prefix.length));
          if (!place) continue;
          let indexed = false;
          for (const id of await this.redis.zrangebyscore(key, '-inf', cutoff)) {
            const ttl = await this.redis.pttl(this.key('req', id));
            if (ttl === -2) dropped += await this.redis.zrem(key, id);
            else if (ttl === -1 && kind === 'history') {
              // Fills the changes index first: the latest change must be known before anything expires.
              if (!indexed) await this.latestChange(place.cluster, place.namespace, place.release);
              indexed = true;
              await this.applyRetention(id);
            }
          }
        }
      } while (cursor !== '0');
    }
    return dropped;
  }

  /** All requests of a release, newest first. */
  async history(cluster: string, namespace: string, release: string, limit = 20): Promise<UpgradeRequest[]> {
    const ids = await this.redis.zrevrange(this.key('history', releaseKey(cluster, namespace, release)), 0, limit - 1);
    const found = await Promise.all(ids.map((id) => this.get(id)));
    return found.filter((r): r is UpgradeRequest => r !== null);
  }

  /**
   * How many changes the request (record and log) has had: incremented atomically with each
   * write, so what is read after it is at least that new.
   */
  async version(id: string): Promise<number> {
    return Number((await this.redis.hget(this.key('req', id), 'ver')) ?? 0);
  }

  /** The pub/sub channel cancel requests are announced on. */
  cancelChannel(): string {
    return this.key('cancel');
  }

  /** The pub/sub channel every change of a request is announced on (its id as the message). */
  changedChannel(): string {
    return this.key('changed');
  }
}
