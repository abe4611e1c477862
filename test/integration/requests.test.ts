import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deriveState, type Actor } from '../../src/upgrade/requests.js';
import { RedisRequestStore, ReleaseBusy } from '../../src/jobs/requests.js';
import { UpgradeError } from '../../src/upgrade/errors.js';
import { fakePlan } from './plans.js';
import { REDIS_URL, testRedis } from './redis.js';

const alice: Actor = { id: 'U0ALICE', name: 'alice', via: 'slack' };
const bob: Actor = { id: 'U0BOB', name: 'bob', via: 'slack' };
const carol: Actor = { id: 'U0CAROL', name: 'carol', via: 'slack' };
const HOUR = 3_600_000;
const T0 = 1_800_000_000_000;

describe('upgrade requests in Redis', () => {
  let env: Awaited<ReturnType<typeof testRedis>>;
  let store: RedisRequestStore;
  const create = (release = 'my-release', over: Partial<{ approvalsNeeded: number; allowSelfApproval: boolean; now: number }> = {}) =>
    store.create({ kind: 'upgrade', plan: fakePlan(release), requester: alice, approvalsNeeded: over.approvalsNeeded ?? 1, allowSelfApproval: over.allowSelfApproval ?? false, ttlMs: HOUR }, over.now ?? T0);

  beforeEach(async () => {
    env = await testRedis();
    store = new RedisRequestStore(env.redis, env.prefix);
  });
  afterEach(async () => env.cleanup());

  it('refuses self-approval and records the refusal in the audit trail', async () => {
    const r = await create();
    await expect(store.approve(r.id, alice, T0 + 1)).rejects.toMatchObject({ code: 'denied', message: expect.stringMatching(/someone else must approve/) });
    expect(deriveState(await store.require(r.id), T0 + 2)).toBe('pending-approval');
    const log = await store.log(r.id);
    expect(log.map((e) => (e.type === 'audit' ? `${e.actor.id}:${e.action}` : ''))).toEqual(['U0ALICE:requested upgrade', 'U0ALICE:approval refused']);
  });

  it('allows self-approval when configured', async () => {
    const r = await create('my-release', { allowSelfApproval: true });
    const { nowApproved } = await store.approve(r.id, alice, T0 + 1);
    expect(nowApproved).toBe(true);
  });

  it('a second approval by the same person changes nothing', async () => {
    const r = await create('my-release', { approvalsNeeded: 2 });
    const first = await store.approve(r.id, bob, T0 + 1);
    const second = await store.approve(r.id, bob, T0 + 2);
    expect(first).toMatchObject({ changed: true, nowApproved: false });
    expect(second).toMatchObject({ changed: false, nowApproved: false });
    expect(second.request.approvals).toHaveLength(1);
    const third = await store.approve(r.id, carol, T0 + 3);
    expect(third.nowApproved).toBe(true);
    expect(deriveState(third.request, T0 + 4)).toBe('approved');
  });

  it('expires unapproved after its time, refuses approval then, and frees the release', async () => {
    const r = await create();
    expect(deriveState(await store.require(r.id), T0 + HOUR - 1)).toBe('pending-approval');
    expect(deriveState(await store.require(r.id), T0 + HOUR)).toBe('expired');
    await expect(store.approve(r.id, bob, T0 + HOUR + 1)).rejects.toMatchObject({ code: 'invalid-state' });
    const next = await create('my-release', { now: T0 + HOUR + 2 });
    expect(next.id).not.toBe(r.id);
  });

  it('rejection ends the request and frees the release', async () => {
    const r = await create();
    await expect(create('my-release', { now: T0 + 1 })).rejects.toBeInstanceOf(ReleaseBusy);
    const rejected = await store.reject(r.id, bob, 'not during business hours', T0 + 2);
    expect(deriveState(rejected, T0 + 3)).toBe('rejected');
    expect(rejected.rejection).toMatchObject({ by: { id: 'U0BOB' }, reason: 'not during business hours' });
    await expect(store.approve(r.id, carol, T0 + 4)).rejects.toMatchObject({ code: 'invalid-state' });
    await expect(create('my-release', { now: T0 + 5 })).resolves.toMatchObject({ release: 'my-release' });
  });

  it('many concurrent requests for one release: exactly one wins, the rest point to it', async () => {
    // Separate connections, as separate bot processes would have.
    const conns = Array.from({ length: 12 }, () => new Redis(REDIS_URL));
    try {
      const stores = conns.map((c) => new RedisRequestStore(c, env.prefix));
      const results = await Promise.allSettled(
        stores.flatMap((s) => [0, 1].map(() => s.create({ kind: 'upgrade', plan: fakePlan('contended'), requester: alice, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: HOUR }, T0))),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(23);
      const winner = (won[0] as PromiseFulfilledResult<{ id: string }>).value.id;
      for (const l of lost) {
        expect(l.reason).toBeInstanceOf(ReleaseBusy);
        expect((l.reason as UpgradeError).message).toContain(winner);
      }
      expect(await store.history('test', 'default', 'contended')).toHaveLength(1);
      // Another release is not affected.
      await expect(create('other-release')).resolves.toMatchObject({ release: 'other-release' });
    } finally {
      for (const c of conns) c.disconnect();
    }
  });

  it('record and lock are one atomic step: a pause before the write never lets two creates win (50 tries)', async () => {
    // The hook widens the window between reading the lock and writing; before the fix a 5 ms
    // pause there let a second create see the new lock without its record and take it too.
    const conns = [new Redis(REDIS_URL), new Redis(REDIS_URL)];
    try {
      const hooks = { beforeRecordWrite: () => new Promise<void>((r) => setTimeout(r, 5)) };
      const stores = conns.map((c) => new RedisRequestStore(c, env.prefix, hooks));
      let doubleWins = 0;
      for (let i = 0; i < 50; i++) {
        const results = await Promise.allSettled(stores.map((s) => s.create({ kind: 'upgrade', plan: fakePlan(`race-${i}`), requester: alice, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: HOUR }, T0)));
        const won = results.filter((r) => r.status === 'fulfilled').length;
        expect(won).toBeGreaterThanOrEqual(1);
        if (won > 1) doubleWins++;
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ReleaseBusy);
      }
      expect(doubleWins).toBe(0);
    } finally {
      for (const c of conns) c.disconnect();
    }
  });

  it('cancelling a queued request ends it at once', async () => {
    const r = await create();
    await store.approve(r.id, bob, T0 + 1);
    await store.setPhase(r.id, 'queued', alice, {}, T0 + 2);
    const cancelled = await store.requestCancel(r.id, alice, T0 + 3);
    expect(deriveState(cancelled, T0 + 4)).toBe('cancelled');
    expect(cancelled.finishedAt).toBe(T0 + 3);
    await expect(create('my-release', { now: T0 + 5 })).resolves.toMatchObject({ release: 'my-release' });
  });

  it('cancelling a request not yet started ends it at once; a running one is only flagged', async () => {
    const r = await create();
    const cancelled = await store.requestCancel(r.id, alice, T0 + 1);
    expect(deriveState(cancelled, T0 + 2)).toBe('cancelled');
    const r2 = await create('my-release', { now: T0 + 3 });
    await store.approve(r2.id, bob, T0 + 4);
    await store.setPhase(r2.id, 'running', { id: 'worker', via: 'worker' }, {}, T0 + 5);
    const flagged = await store.requestCancel(r2.id, alice, T0 + 6);
    expect(deriveState(flagged, T0 + 7)).toBe('running');
    expect(flagged.cancelRequested).toMatchObject({ by: { id: 'U0ALICE' } });
  });

  it('history lists a release newest first with outcome and people', async () => {
    const a = await create('hist', { now: T0 });
    await store.reject(a.id, bob, undefined, T0 + 1);
    const b = await create('hist', { now: T0 + 10 });
    await store.approve(b.id, carol, T0 + 11);
    const h = await store.history('test', 'default', 'hist');
    expect(h.map((r) => [r.id, deriveState(r, T0 + 20), r.requester.id])).toEqual([
      [b.id, 'approved', 'U0ALICE'],
      [a.id, 'rejected', 'U0ALICE'],
    ]);
    expect(h[0]!.approvals[0]!.by.id).toBe('U0CAROL');
  });

  it('the event log survives a new connection (a restarted process)', async () => {
    const r = await create();
    await store.appendLog(r.id, { at: T0 + 1, type: 'run', event: { type: 'step-started', index: 0, total: 2, description: 'first' } });
    await store.appendLog(r.id, { at: T0 + 2, type: 'run', event: { type: 'step-finished', index: 0, total: 2, skipped: false, detail: 'ok' } });
    const fresh = new Redis(REDIS_URL);
    try {
      const again = new RedisRequestStore(fresh, env.prefix);
      const log = await again.log(r.id);
      expect(log).toHaveLength(3);
      expect(log[1]).toMatchObject({ type: 'run', event: { type: 'step-started', description: 'first' } });
      expect((await again.require(r.id)).plan.to).toBe('2.4.23');
    } finally {
      fresh.disconnect();
    }
  });
});
