/**
 * Issue 25, item 8: request ids restarted at req-1 after Redis lost its data, and an old card's
 * Approve then approved a different release's new request with the same id. Ids now start above
 * every earlier one whatever Redis remembers.
 */
import { describe, expect, it } from 'vitest';
import type { Actor } from '../../src/upgrade/requests.js';
import { fakePlan } from './plans.js';
import { deleteKeys } from './redis.js';
import { storePerTest } from './store-per-test.js';

const alice: Actor = { id: 'U0ALICE', via: 'slack' };
const bob: Actor = { id: 'U0BOB', via: 'slack' };
const number = (id: string) => Number(/^req-(\d+)$/.exec(id)![1]);

describe('request ids', () => {
  const t = storePerTest();
  const ask = (release: string) => t.store.create({ kind: 'upgrade', plan: fakePlan(release), requester: alice, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 3_600_000 });

  it('never repeat after Redis lost its data; an old card\'s id then names no request', async () => {
    const first = await ask('prod');
    const second = await ask('staging');
    expect(number(second.id)).toBe(number(first.id) + 1);
    await new Promise((r) => setTimeout(r, 5));
    // Every key gone, as after a Redis restart without persistence.
    await deleteKeys(t.env.redis, `${t.env.prefix}*`);
    const after = await ask('other-team');
    expect(number(after.id)).toBeGreaterThan(number(second.id));
    expect(await t.store.get(first.id)).toBeNull();
    // The old card's Approve names an id that is no request now: refused, nothing approved.
    await expect(t.store.approve(first.id, bob)).rejects.toThrow(`no request ${first.id}`);
    expect((await t.store.require(after.id)).approvals).toEqual([]);
  });

  it('are short decimal numbers the bot accepts in a click (15 digits at most)', async () => {
    const r = await ask('prod');
    expect(r.id).toMatch(/^req-\d{1,15}$/);
  });
});
