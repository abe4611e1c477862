import { describe, expect, it } from 'vitest';
import { changesBlocks, changesSummary, planCard } from '../../src/bot/views.js';
import type { ObjectChange } from '../../src/upgrade/objects.js';
import type { Plan } from '../../src/upgrade/plan.js';
import type { UpgradeRequest } from '../../src/upgrade/requests.js';
import { upgradeRequest } from './helpers.js';

const T0 = 1_800_000_000_000;
const change = (i: number, kind: ObjectChange['change'] = 'changed'): ObjectChange => ({
  kind: 'Deployment', name: `rel-milvus-querynode-${i}`, change: kind, detail: `querynode: milvusdb/milvus:v2.3.11 -> milvusdb/milvus:v2.4.23 <@U0EVIL> ${'x'.repeat(i % 7 === 0 ? 200 : 10)}`,
});
const plan = (changes: ObjectChange[]): Plan => ({
  id: 'c/ns/rel@2.4.23', kind: 'upgrade', cluster: 'c', namespace: 'ns', release: 'rel', path: 'helm', from: '2.3.11', to: '2.4.23',
  chart: { ref: 'zilliztech/milvus', version: '4.2.20', appVersion: '2.4.16' }, image: 'milvusdb/milvus:v2.4.23', reasons: [], warnings: [], steps: [],
  rollback: null, observed: { helmRevision: 1, helmStatus: 'deployed', chartVersion: '4.1.24', images: {} },
  changes, messageQueue: { kind: 'pulsar-v2', note: 'message queue: Pulsar v2, kept' }, dataChanges: null,
});
const request = (p: Plan): UpgradeRequest =>
  upgradeRequest({ id: 'req-1', cluster: 'c', namespace: 'ns', release: 'rel', plan: p, requester: { id: 'U0REQ', via: 'slack' }, place: { channel: 'C1' }, createdAt: T0 });
type B = { type: string; text?: { text: string }; elements?: Array<{ action_id?: string; text?: string }> };

describe('the changes on the card', () => {
  it('a short summary with the queue, the first changes, and a button for the rest', () => {
    const p = plan([...Array.from({ length: 9 }, (_, i) => change(i)), change(99, 'removed')]);
    const summary = changesSummary(p);
    expect(summary.split('\n')[0]).toBe('*Changes* 9 changed · 0 added · 1 removed · message queue: Pulsar v2, kept');
    expect(summary).toContain('…and 4 more');
    expect(summary).not.toContain('<@U0EVIL>');
    const blocks = planCard(request(p), 'x', T0).blocks as unknown as B[];
    const actions = blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements!.map((e) => e.action_id));
    expect(actions).toEqual(['show_changes', 'approve', 'reject']);
  });

  it('a plan whose changes are not worked out says so, rather than "none found"', () => {
    const { changes: _none, ...unknown } = plan([]);
    expect(changesSummary(unknown).split('\n')[0]).toBe('*Changes* not listed for this plan · message queue: Pulsar v2, kept');
    expect(changesSummary(plan([])).split('\n')[0]).toBe('*Changes* none found · message queue: Pulsar v2, kept');
  });

  it('the whole list fits Slack: at most 50 blocks of at most 3000 characters, and says what it left out', () => {
    for (const n of [1, 40, 400, 5000]) {
      const blocks = changesBlocks(plan(Array.from({ length: n }, (_, i) => change(i)))) as unknown as B[];
      expect(blocks.length).toBeLessThanOrEqual(50);
      for (const b of blocks) {
        const text = b.text?.text ?? b.elements?.map((e) => e.text).join('') ?? '';
        expect(text.length).toBeLessThanOrEqual(3000);
      }
      const listed = blocks.slice(1).flatMap((b) => (b.type === 'section' ? b.text!.text.split('\n') : [])).length;
      const note = blocks.find((b) => b.type === 'context');
      if (listed < n) expect(JSON.stringify(note)).toContain(`${n - listed} more not shown`);
      else expect(note).toBeUndefined();
    }
  });
});
