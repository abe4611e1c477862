/**
 * Fleet upgrades in Redis (the rules are the domain's, fleet-record.ts): one record per fleet,
 * its audit log, the set of fleets not ended, and the short lock its advance takes. Changes are
 * announced on the requests' channel with the fleet's id, so the bot's card follows them.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { UpgradeError } from '../upgrade/errors.js';
import type { FleetStore } from '../upgrade/ports.js';
import type { FleetRecord } from '../upgrade/fleet/fleet-record.js';
import { DEFAULT_REQUEST_RETENTION_DAYS, type Actor, type LogEntry } from '../upgrade/requests.js';

// Written only when the revision read is still the record's: concurrent writers retry.
const CAS = `
local rev = redis.call('HGET', KEYS[1], 'rev')
if rev ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'json', ARGV[2], 'rev', tostring(tonumber(rev) + 1))
if ARGV[3] == '1' then
  redis.call('SREM', KEYS[2], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  redis.call('PEXPIRE', KEYS[3], ARGV[5])
end
return 1`;

const UNLOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export class RedisFleetStore implements FleetStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'mub:',
    private readonly retentionMs = DEFAULT_REQUEST_RETENTION_DAYS * 86_400_000,
  ) {}

  private key(...parts: string[]): string {
    return `${this.prefix}${parts.join(':')}`;
  }

  async newId(now = Date.now()): Promise<string> {
    // As request ids: the counter starts at the time, so ids after a data loss are all new.
    const key = this.key('fleet-seq');
    await this.redis.set(key, String(Math.max(0, Math.floor(now))), 'NX');
    return `fleet-${await this.redis.incr(key)}`;
  }

  async create(fleet: FleetRecord): Promise<void> {
    // Ids come from the counter (newId): a fleet is never written over.
    await this.redis.multi().hset(this.key('fleet', fleet.id), 'json', JSON.stringify(fleet), 'rev', '0').sadd(this.key('fleets', 'active'), fleet.id).exec();
    await this.audit(fleet.id, fleet.requester, 'requested fleet upgrade', `${fleet.selector} to ${fleet.version}, waves ${fleet.waveMarks}`, fleet.createdAt);
  }

  async get(id: string): Promise<FleetRecord | null> {
    const json = await this.redis.hget(this.key('fleet', id), 'json');
    return json ? (JSON.parse(json) as FleetRecord) : null;
  }

  async require(id: string): Promise<FleetRecord> {
    const f = await this.get(id);
    if (!f) throw new UpgradeError('not-found', `no fleet ${id}`);
    return f;
  }

  async version(id: string): Promise<number> {
    return Number((await this.redis.hget(this.key('fleet', id), 'rev')) ?? 0);
  }

  async decide(id: string, rule: (f: FleetRecord) => FleetRecord | UpgradeError | null): Promise<{ fleet: FleetRecord; changed: boolean; refusal: UpgradeError | null }> {
    const key = this.key('fleet', id);
    for (let attempt = 0; attempt < 50; attempt++) {
      const [json, rev] = await this.redis.hmget(key, 'json', 'rev');
      if (!json || rev === null || rev === undefined) throw new UpgradeError('not-found', `no fleet ${id}`);
      const current = JSON.parse(json) as FleetRecord;
      const next = rule(current);
      if (next === null || next instanceof UpgradeError) return { fleet: current, changed: false, refusal: next };
      const ended = next.ended !== null;
      const ok = await this.redis.eval(CAS, 3, key, this.key('fleets', 'active'), this.key('fleet-log', id), rev, JSON.stringify(next), ended ? '1' : '0', id, String(this.retentionMs));
      if (ok === 1) {
        await this.redis.publish(this.key('changed'), id);
        return { fleet: next, changed: true, refusal: null };
      }
    }
    throw new UpgradeError('busy', `fleet ${id} is being changed by others: try again`);
  }

  async active(): Promise<string[]> {
    return this.redis.smembers(this.key('fleets', 'active'));
  }

  async audit(id: string, actor: Actor, action: string, detail?: string, now = Date.now()): Promise<void> {
    const entry: LogEntry = { at: now, type: 'audit', actor, action, ...(detail ? { detail } : {}) };
    await this.redis.rpush(this.key('fleet-log', id), JSON.stringify(entry));
  }

  async log(id: string): Promise<LogEntry[]> {
    return (await this.redis.lrange(this.key('fleet-log', id), 0, -1)).map((line) => JSON.parse(line) as LogEntry);
  }

  async tryLock(id: string, ms: number): Promise<(() => Promise<void>) | null> {
    const key = this.key('fleet-advance', id);
    const token = randomBytes(8).toString('hex');
    if ((await this.redis.set(key, token, 'PX', ms, 'NX')) !== 'OK') return null;
    return async () => {
      await this.redis.eval(UNLOCK, 1, key, token);
    };
  }
}
