/**
 * Which request version (and content) each Slack message shows, shared by the bot replicas, so
 * that each new content of a message is edited once and never an older one over a newer one.
 */
import type { EditLedger } from '../upgrade/ports.js';
import type { RedisRequestStore } from './requests.js';

// The newest request version a Slack message shows; only a newer one may edit it again.
// Stored: "<version>:<hash of what the message shows>". A claim for an older or equal version is
// refused (never older over newer); a newer version with the same content only moves the
// version on (nothing to edit).
const CLAIM_EDIT = `
local cur = redis.call('GET', KEYS[1])
local v, h = 0, ''
if cur then
  local i = string.find(cur, ':', 1, true)
  v = tonumber(string.sub(cur, 1, i - 1))
  h = string.sub(cur, i + 1)
end
if v >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'EX', ARGV[3])
if h == ARGV[2] then return 0 end
return 1`;
const RELEASE_EDIT = `
if redis.call('GET', KEYS[1]) == ARGV[1] .. ':' .. ARGV[2] then redis.call('DEL', KEYS[1]) end
return 1`;
const EDIT_CLAIM_TTL_S = 30 * 24 * 3600;

export class RedisEditLedger implements EditLedger {
  constructor(private readonly store: RedisRequestStore) {}

  /** The request's change count, read before the request itself. */
  version(id: string): Promise<number> {
    return this.store.version(id);
  }

  /**
   * Claims the edit of a Slack message for a request's version: true for exactly one caller
   * (across bot replicas) per newer version with new content; false when that version or a
   * newer one was shown, or the message shows this content already.
   */
  async claimEdit(messageTs: string, version: number, contentHash: string): Promise<boolean> {
    return (await this.store.redis.eval(CLAIM_EDIT, 1, this.store.key('shown', messageTs), String(version), contentHash, String(EDIT_CLAIM_TTL_S))) === 1;
  }

  /** Gives a claim back after a failed edit, so the next refresh tries again. */
  async releaseEdit(messageTs: string, version: number, contentHash: string): Promise<void> {
    await this.store.redis.eval(RELEASE_EDIT, 1, this.store.key('shown', messageTs), String(version), contentHash);
  }
}
