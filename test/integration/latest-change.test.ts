/**
 * "The latest change" of a release is found however many requests came after it (issue 25): a
 * crowd of plan-only, refused or expired requests must not hide it, or an older change could be
 * rolled back, or a release the bot changed be rolled back by a plan read from the cluster.
 * Real Redis, the real Bolt app over signed HTTP, a kubeconfig pointing nowhere.
 */
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/upgrade/plan.js';
import type { UpgradeRequest } from '../../src/upgrade/requests.js';
import { fakePlan } from './plans.js';
import { botPerSuite } from './bot-per-suite.js';

const OPS = 'C0OPS00001';
const U = { ops: 'U0OPS00001', approver: 'U0APP00001' } as const;
const WORKER = { id: 'worker', via: 'worker' } as const;
const ACCESS_YAML = `rules:
  - channels: ["${OPS}"]
    requesters: ["${U.ops}"]
    approvers: ["${U.approver}"]
    rollback: ["${U.ops}", "${U.approver}"]
`;
// More than the 50 newest requests the bot used to look at.
const LATER_REQUESTS = 55;

describe('the latest change of a release, behind many later requests', () => {
  const suite = botPerSuite(ACCESS_YAML);
  let clock = Date.now() - 3_600_000;

  const ask = (release: string, plan: Partial<Plan>, at: number) =>
    suite.store.create(
      { kind: 'upgrade', plan: { ...fakePlan(release, 'default', 'nowhere'), ...plan }, requester: { id: U.ops, via: 'slack' }, place: { channel: OPS, messageTs: `1700000${String(at).slice(-3)}.000100` }, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 3_600_000 },
      at,
    );

  /** A finished upgrade, as the worker leaves it (started, succeeded). */
  async function finishedUpgrade(release: string, plan: Partial<Plan>): Promise<UpgradeRequest> {
    const at = (clock += 60_000);
    const r = await ask(release, plan, at);
    await suite.store.approve(r.id, { id: U.approver, via: 'slack' }, at);
    await suite.store.setPhase(r.id, 'running', WORKER, { startedAt: at + 1 });
    return suite.store.setPhase(r.id, 'succeeded', WORKER, { finishedAt: at + 2 });
  }

  /** Requests that never changed the release: rejected ones (as refused or plan-only ones are). */
  async function laterRequests(release: string, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const at = (clock += 1000);
      const r = await ask(release, {}, at);
      await suite.store.reject(r.id, { id: U.approver, via: 'slack' }, 'not now', at);
    }
  }

  const withRollback = { from: '2.4.20', to: '2.5.16', rollback: { path: 'helm' as const, summary: 'helm rollback to revision 1', steps: [] } };
  const withoutRollback = { from: '2.5.16', to: '2.6.0', rollback: null };

  it('the store finds it behind more than 50 later requests, and the newest of several changes', async () => {
    const first = await finishedUpgrade('crowded', withRollback);
    await laterRequests('crowded', 3);
    const second = await finishedUpgrade('crowded', withRollback);
    await laterRequests('crowded', LATER_REQUESTS);
    expect((await suite.store.history('nowhere', 'default', 'crowded', 50)).every((r) => r.startedAt === null)).toBe(true);
    // Indexed when each run started, in the same write (not found later by a search).
    expect(await suite.env.redis.zrange(`${suite.env.prefix}changes:nowhere/default/crowded`, '0', '-1')).toEqual([first.id, second.id]);
    expect((await suite.store.latestChange('nowhere', 'default', 'crowded'))?.id).toBe(second.id);
    expect(await suite.store.latestChange('nowhere', 'default', 'never-changed')).toBeNull();
  });

  it('an older card\'s Roll back is refused when the latest change hides behind later requests', async () => {
    const older = await finishedUpgrade('hidden', withRollback);
    const newer = await finishedUpgrade('hidden', withoutRollback);
    await laterRequests('hidden', LATER_REQUESTS);
    const r = await suite.bot.click('rollback', older.id, U.ops, OPS, older.place!.messageTs);
    expect(r.status).toBe(200);
    await suite.bot.stub.waitFor(() => suite.bot.repliesTo(U.ops).length > 0, 8000);
    expect(suite.bot.repliesTo(U.ops).join('\n')).toMatch(new RegExp(`${older.id} is not the latest change of hidden: ${newer.id} \\(upgrade 2\\.5\\.16 → 2\\.6\\.0`));
    expect((await suite.store.require(older.id)).rollbackRequest).toBeNull();
    expect(suite.bot.stub.callsTo('chat.postMessage')).toHaveLength(0);
  });

  it('/milvus rollback undoes the bot\'s latest change (or says why not), never a plan read from the cluster', async () => {
    const before = suite.bot.repliesTo(U.approver).length;
    const r = await suite.bot.slash('rollback hidden', U.approver, OPS);
    expect(r.status).toBe(200);
    await suite.bot.stub.waitFor(() => suite.bot.repliesTo(U.approver).length > before, 8000);
    expect(suite.bot.repliesTo(U.approver).at(-1)).toMatch(/\(2\.5\.16 → 2\.6\.0\) has no way back: into Milvus 2\.6 there is no way back/);
    expect(suite.bot.stub.callsTo('chat.postMessage')).toHaveLength(0);
  });

  it('records written before the changes index existed are found in the whole history, and the index filled in', async () => {
    const legacy = await finishedUpgrade('legacy', withRollback);
    await laterRequests('legacy', LATER_REQUESTS);
    const index = `${suite.env.prefix}changes:nowhere/default/legacy`;
    await suite.env.redis.del(index);
    expect((await suite.store.latestChange('nowhere', 'default', 'legacy'))?.id).toBe(legacy.id);
    expect(await suite.env.redis.zrange(index, '0', '-1')).toEqual([legacy.id]);
  });
});
