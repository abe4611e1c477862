/**
 * Which request a rollback may undo, and who may ask, decided before anything touches a cluster:
 * the real Bolt app over signed HTTP, real Redis, the Slack API stub, a kubeconfig pointing
 * nowhere. (The approval flow and the drift check run on the control plane:
 * test/e2e/rollback-consent.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/upgrade/plan.js';
import type { UpgradeRequest } from '../../src/upgrade/requests.js';
import { fakePlan } from './plans.js';
import { botPerSuite } from './bot-per-suite.js';

const OPS = 'C0OPS00001';
const DEV = 'C0DEV00001';
const U = { ops: 'U0OPS00001', approver: 'U0APP00001', dev: 'U0DEV00001' } as const;
const WORKER = { id: 'worker', via: 'worker' } as const;

// The ops channel's people may roll back there; the dev channel's people have rules of their own.
const ACCESS_YAML = `rules:
  - channels: ["${OPS}"]
    requesters: ["${U.ops}"]
    approvers: ["${U.approver}"]
    rollback: ["${U.ops}", "${U.approver}"]
  - channels: ["${DEV}"]
    requesters: ["${U.dev}"]
    approvers: ["${U.dev}"]
    rollback: ["${U.dev}"]
`;

describe('rollback: only the latest change, in its own channel', () => {
  const suite = botPerSuite(ACCESS_YAML);
  let clock = Date.now() - 3_600_000;

  /** A finished upgrade, as the worker leaves it (started, succeeded), posted in `channel`. */
  async function finishedUpgrade(release: string, plan: Partial<Plan>, channel = OPS): Promise<UpgradeRequest> {
    const at = (clock += 60_000);
    const r = await suite.store.create(
      { kind: 'upgrade', plan: { ...fakePlan(release, 'default', 'nowhere'), ...plan }, requester: { id: U.ops, via: 'slack' }, place: { channel, messageTs: `1700000${String(at).slice(-3)}.000100` }, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 3_600_000 },
      at,
    );
    await suite.store.approve(r.id, { id: U.approver, via: 'slack' }, at);
    await suite.store.setPhase(r.id, 'running', WORKER, { startedAt: at + 1 });
    return suite.store.setPhase(r.id, 'succeeded', WORKER, { finishedAt: at + 2 });
  }
  const withRollback = { from: '2.4.20', to: '2.5.16', rollback: { path: 'helm' as const, summary: 'helm rollback to revision 1', steps: [] } };
  // Into 2.6 there is no way back (the Milvus docs): its plan carries no rollback.
  const withoutRollback = { from: '2.5.16', to: '2.6.0', rollback: null };

  it('an older card\'s Roll back button answers why and does nothing once a newer change finished', async () => {
    const older = await finishedUpgrade('repro', withRollback);
    const newer = await finishedUpgrade('repro', withoutRollback);
    const r = await suite.bot.click('rollback', older.id, U.ops, OPS, older.place!.messageTs);
    expect(r.status).toBe(200);
    await suite.bot.stub.waitFor(() => suite.bot.repliesTo(U.ops).length > 0, 8000);
    expect(suite.bot.repliesTo(U.ops).join('\n')).toMatch(new RegExp(`${older.id} is not the latest change of repro: ${newer.id} \\(upgrade 2\\.5\\.16 → 2\\.6\\.0`));
    expect((await suite.store.history('nowhere', 'default', 'repro')).map((h) => h.kind)).toEqual(['upgrade', 'upgrade']);
    expect((await suite.store.require(older.id)).rollbackRequest).toBeNull();
    expect(suite.bot.stub.callsTo('chat.postMessage')).toHaveLength(0);
  });

  it('/milvus rollback undoes the latest change or nothing: never an older upgrade that offers a way back', async () => {
    const before = suite.bot.repliesTo(U.approver).length;
    const r = await suite.bot.slash('rollback repro', U.approver, OPS);
    expect(r.status).toBe(200);
    await suite.bot.stub.waitFor(() => suite.bot.repliesTo(U.approver).length > before, 8000);
    expect(suite.bot.repliesTo(U.approver).at(-1)).toMatch(/\(2\.5\.16 → 2\.6\.0\) has no way back: into Milvus 2\.6 there is no way back/);
    expect((await suite.store.history('nowhere', 'default', 'repro')).map((h) => h.kind)).toEqual(['upgrade', 'upgrade']);
    expect(suite.bot.stub.callsTo('chat.postMessage')).toHaveLength(0);
  });

  it('asking from another channel follows the rules of the request\'s own channel', async () => {
    const homed = await finishedUpgrade('homed', withRollback, OPS);
    // U.dev may roll back from the dev channel, but the request (and its thread) is the ops channel's.
    const r = await suite.bot.slash('rollback homed', U.dev, DEV);
    expect(r.status).toBe(200);
    await suite.bot.stub.waitFor(() => suite.bot.repliesTo(U.dev).length > 0, 8000);
    expect(suite.bot.repliesTo(U.dev).at(-1)).toMatch(/Not allowed/);
    expect((await suite.store.history('nowhere', 'default', 'homed')).map((h) => h.kind)).toEqual(['upgrade']);
    expect((await suite.store.require(homed.id)).rollbackRequest).toBeNull();
    const denied = (await suite.store.accessLog()).filter((e) => !e.allowed && e.target.endsWith('/homed'));
    expect(denied.map((e) => e.actor.id)).toEqual([U.dev]);
  });
});
