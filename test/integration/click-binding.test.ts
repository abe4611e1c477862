/**
 * A vote counts only from the request's own card (issue 25, item 6): the real Bolt app over signed
 * HTTP, real Redis, the Slack API stub. Before, an old card's Approve approved whatever request
 * now had its id (ids restart after Redis loses its data), and a copied button acted anywhere.
 */
import { describe, expect, it } from 'vitest';
import { deriveState, type UpgradeRequest } from '../../src/upgrade/requests.js';
import { fakePlan } from './plans.js';
import { botPerSuite } from './bot-per-suite.js';

const OPS = 'C0OPS00001';
const DEV = 'C0DEV00001';
const U = { ops: 'U0OPS00001', approver: 'U0APP00001' } as const;
const ACCESS_YAML = `rules:
  - channels: ["${OPS}", "${DEV}"]
    requesters: ["${U.ops}"]
    approvers: ["${U.approver}"]
`;

describe('Approve and Reject act only on the request of the card clicked', () => {
  const suite = botPerSuite(ACCESS_YAML);

  const pending = (release: string, messageTs: string): Promise<UpgradeRequest> =>
    suite.store.create({ kind: 'upgrade', plan: fakePlan(release, 'default', 'nowhere'), requester: { id: U.ops, via: 'slack' }, place: { channel: OPS, messageTs }, approvalsNeeded: 2, allowSelfApproval: false, ttlMs: 3_600_000 });

  async function answerTo(user: string, since: number): Promise<string> {
    await suite.bot.stub.waitFor(() => suite.bot.repliesTo(user).length > since, 8000);
    return suite.bot.repliesTo(user).at(-1)!;
  }

  it('a button of another card, or of the right card in another channel, decides nothing; its own card does', async () => {
    const a = await pending('alpha', '1700000001.000100');
    const b = await pending('beta', '1700000002.000100');
    for (const action of ['approve', 'reject']) {
      // B's id on A's card (an old card whose id came round again).
      let since = suite.bot.repliesTo(U.approver).length;
      await suite.bot.click(action, b.id, U.approver, OPS, a.place!.messageTs);
      expect(await answerTo(U.approver, since)).toMatch(new RegExp(`this button is not on the card of ${b.id} \\(beta, 2\\.2\\.13 → 2\\.4\\.23\\): nothing was done`));
      // B's own card ts, but clicked in another channel.
      since = suite.bot.repliesTo(U.approver).length;
      await suite.bot.click(action, b.id, U.approver, DEV, b.place!.messageTs);
      expect(await answerTo(U.approver, since)).toMatch(/this button is not on the card of/);
    }
    const untouched = await suite.store.require(b.id);
    expect(untouched.approvals).toEqual([]);
    expect(untouched.rejection).toBeNull();
    expect(deriveState(untouched, Date.now())).toBe('pending-approval');
    // Its own card: the vote counts.
    await suite.bot.click('approve', b.id, U.approver, OPS, b.place!.messageTs);
    for (const deadline = Date.now() + 8000; (await suite.store.require(b.id)).approvals.length === 0; await new Promise((r) => setTimeout(r, 50))) {
      if (Date.now() > deadline) throw new Error('the vote on its own card did not count');
    }
    expect((await suite.store.require(a.id)).approvals).toEqual([]);
  });

  it('a click on a card whose ts is recorded a moment after it was posted still counts', async () => {
    const r = await suite.store.create({ kind: 'upgrade', plan: fakePlan('gamma', 'default', 'nowhere'), requester: { id: U.ops, via: 'slack' }, place: { channel: OPS }, approvalsNeeded: 2, allowSelfApproval: false, ttlMs: 3_600_000 });
    await suite.bot.click('approve', r.id, U.approver, OPS, '1700000003.000100');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await suite.store.setPlace(r.id, { channel: OPS, messageTs: '1700000003.000100' });
    for (const deadline = Date.now() + 8000; (await suite.store.require(r.id)).approvals.length === 0; await new Promise((resolve) => setTimeout(resolve, 50))) {
      if (Date.now() > deadline) throw new Error('the vote did not count');
    }
  });
});
