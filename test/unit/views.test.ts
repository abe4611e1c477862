import { describe, expect, it } from 'vitest';
import { esc, offersRollback, planCard, progressMessage, progressOf } from '../../src/bot/views.js';
import type { LogEntry, UpgradeRequest } from '../../src/upgrade/requests.js';
import { upgradeRequest } from './helpers.js';
import type { Plan } from '../../src/upgrade/plan.js';

const T0 = 1_800_000_000_000;
const plan: Plan = {
  id: 'c/ns/rel@2.4.23', kind: 'upgrade', cluster: 'c', namespace: 'ns', release: 'rel', path: 'rolling', from: '2.2.13', to: '2.4.23', chart: null,
  image: 'milvusdb/milvus:v2.4.23', reasons: [], warnings: ['careful <@U0EVIL> & <!channel>'],
  steps: [
    { kind: 'enable-active-standby', configMap: 'rel-milvus', key: 'user.yaml', description: 'active-standby' },
    { kind: 'wait-rollout', deployments: [], timeoutSeconds: 1, description: 'check' },
  ],
  rollback: { path: 'rolling', summary: 'put back the images', steps: [] },
  observed: { helmRevision: 1, helmStatus: 'deployed', chartVersion: '4.0.31', images: {} },
};
const request = (over: Partial<UpgradeRequest> = {}): UpgradeRequest =>
  upgradeRequest({ id: 'req-1', cluster: 'c', namespace: 'ns', release: 'rel', plan, requester: { id: 'U0REQ', via: 'slack' }, place: { channel: 'C1' }, createdAt: T0, ...over });
const run = (event: Extract<LogEntry, { type: 'run' }>['event']): LogEntry => ({ at: T0, type: 'run', event });
const actionIds = (blocks: unknown[]) => (blocks as Array<{ type: string; elements?: Array<{ action_id: string }> }>).filter((b) => b.type === 'actions').flatMap((b) => b.elements!.map((e) => e.action_id));

describe('Slack views', () => {
  it('escapes text from outside so it cannot ping or link', () => {
    expect(esc('<!channel> & <@U1>')).toBe('&lt;!channel&gt; &amp; &lt;@U1&gt;');
    const card = planCard(request(), '<@U0APP>', T0);
    expect(JSON.stringify(card.blocks)).toContain('careful &lt;@U0EVIL&gt; &amp; &lt;!channel&gt;');
  });

  it('a pending card has Approve and Reject; a decided one has none and says who decided', () => {
    expect(actionIds(planCard(request(), 'x', T0).blocks)).toEqual(['approve', 'reject']);
    const approved = planCard(request({ approvals: [{ by: { id: 'U0APP', via: 'slack' }, at: T0 }], phase: 'running' }), 'x', T0);
    expect(actionIds(approved.blocks)).toEqual([]);
    expect(JSON.stringify(approved.blocks)).toContain('Approved by <@U0APP>');
    const rejected = planCard(request({ rejection: { by: { id: 'U0NO', via: 'slack' }, at: T0 } }), 'x', T0);
    expect(JSON.stringify(rejected.blocks)).toContain('Rejected by <@U0NO>');
    expect(planCard(request(), 'x', T0 + 3_600_000).text).toMatch(/expired/);
  });

  it('the progress message tells the step, what happens now and the elapsed time', () => {
    const log = [
      run({ type: 'step-started', index: 0, total: 2, description: 'active-standby' }),
      run({ type: 'step-finished', index: 0, total: 2, skipped: false, detail: 'done' }),
      run({ type: 'step-started', index: 1, total: 2, description: 'check' }),
      run({ type: 'step-progress', index: 1, total: 2, message: 'querynode: 2/3 pods on v2.4.23' }),
    ];
    expect(progressOf(log)).toMatchObject({ finished: 1, lastMessage: 'querynode: 2/3 pods on v2.4.23', current: { index: 1 } });
    const view = progressMessage(request({ phase: 'running', startedAt: T0 }), log, T0 + 72_000, { canRollBack: false });
    expect(view.text).toBe('Upgrade: step 2 of 2: check — Now: querynode: 2/3 pods on v2.4.23');
    expect(JSON.stringify(view.blocks)).toContain('1/2 steps done · elapsed 1m12s');
  });

  it('offers Rollback once an upgrade that ran has ended, and not twice', () => {
    expect(offersRollback(request({ phase: 'succeeded', startedAt: T0 }), T0)).toBe(true);
    expect(offersRollback(request({ phase: 'failed', startedAt: T0 }), T0)).toBe(true);
    expect(offersRollback(request({ phase: 'running', startedAt: T0 }), T0)).toBe(false);
    expect(offersRollback(request({ phase: 'cancelled', startedAt: null }), T0)).toBe(false);
    expect(offersRollback(request({ phase: 'succeeded', startedAt: T0, rollbackRequest: 'req-2' }), T0)).toBe(false);
    expect(offersRollback(request({ phase: 'succeeded', startedAt: T0, plan: { ...plan, rollback: null } }), T0)).toBe(false);
    const done = progressMessage(request({ phase: 'succeeded', startedAt: T0, finishedAt: T0 + 5000 }), [], T0 + 9000, { canRollBack: true });
    expect(actionIds(done.blocks)).toEqual(['rollback']);
    expect(JSON.stringify(done.blocks)).toContain('"confirm"');
  });
});
