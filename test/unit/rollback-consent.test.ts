/** The rules that say which request may be rolled back (the Roll back button, /milvus rollback). */
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/upgrade/plan.js';
import { differencesSince, latestChange, rollbackRefusal } from '../../src/upgrade/planner/rollback-consent.js';
import type { UpgradeRequest } from '../../src/upgrade/requests.js';
import { releaseState, upgradeRequest } from './helpers.js';

const T0 = 1_800_000_000_000;
const WAY_BACK = { path: 'helm' as const, summary: 'helm rollback to revision 1', steps: [] };

function plan(over: Partial<Plan> = {}): Plan {
  return {
    id: 'c/ns/rel@2.4.23', kind: 'upgrade', cluster: 'c', namespace: 'ns', release: 'rel', path: 'helm', from: '2.3.11', to: '2.4.23',
    chart: null, image: 'milvusdb/milvus:v2.4.23', reasons: [], warnings: [], steps: [], rollback: WAY_BACK,
    observed: { helmRevision: 1, helmStatus: 'deployed', chartVersion: '4.1.24', images: {} },
    ...over,
  };
}

function request(id: string, over: Partial<UpgradeRequest> = {}): UpgradeRequest {
  return upgradeRequest({
    id, cluster: 'c', namespace: 'ns', release: 'rel', plan: plan(), requester: { id: 'U1', via: 'slack' }, createdAt: T0,
    approvals: [{ by: { id: 'U2', via: 'slack' }, at: T0 + 1 }], phase: 'succeeded', startedAt: T0 + 2, finishedAt: T0 + 3,
    ...over,
  });
}

const NOW = T0 + 60_000;

describe('rollbackRefusal', () => {
  it('the latest finished upgrade with a way back may be rolled back', () => {
    const up = request('r1');
    expect(rollbackRefusal(up, [up], null, NOW)).toBeNull();
    // A failed one too: it changed the release.
    const failed = request('r2', { phase: 'failed' });
    expect(rollbackRefusal(failed, [failed], null, NOW)).toBeNull();
  });

  it('a rollback is not rolled back', () => {
    const rb = request('r1', { kind: 'rollback' });
    expect(rollbackRefusal(rb, [rb], null, NOW)).toBe('r1 is a rollback: it cannot be rolled back (ask for an upgrade instead)');
  });

  it('one that never ran, or still runs, cannot be', () => {
    const pending = request('r1', { approvals: [], phase: null, startedAt: null, finishedAt: null });
    expect(rollbackRefusal(pending, [pending], null, NOW)).toBe('r1 cannot be rolled back now (pending approval)');
    const running = request('r2', { phase: 'running', finishedAt: null });
    expect(rollbackRefusal(running, [running], null, NOW)).toBe('r2 cannot be rolled back now (running)');
    const rejected = request('r3', { approvals: [], rejection: { by: { id: 'U2', via: 'slack' }, at: T0 + 1 }, phase: null, startedAt: null });
    expect(rollbackRefusal(rejected, [rejected], null, NOW)).toBe('r3 cannot be rolled back now (rejected)');
  });

  it('one rolled back already cannot be again', () => {
    const up = request('r1', { phase: 'rolled-back' });
    expect(rollbackRefusal(up, [up], null, NOW)).toBe('r1 was rolled back already');
  });

  it('one with no way back says why (into 2.6)', () => {
    const up = request('r1', { plan: plan({ from: '2.5.16', to: '2.6.15', rollback: null }) });
    expect(rollbackRefusal(up, [up], null, NOW)).toMatch(/^r1 \(2\.5\.16 → 2\.6\.15\) has no way back: into Milvus 2\.6 there is no way back/);
  });

  it('a rollback already asked and not ended, or that ran, blocks another', () => {
    const up = request('r1');
    const asked = request('r9', { kind: 'rollback', approvals: [], phase: null, startedAt: null, finishedAt: null, createdAt: T0 + 10 });
    expect(rollbackRefusal(up, [up, asked], asked, NOW)).toBe('a rollback of r1 was already asked: r9 (pending approval)');
    const ran = request('r9', { kind: 'rollback', phase: 'failed', startedAt: T0 + 20 });
    expect(rollbackRefusal(up, [up, ran], ran, NOW)).toBe('a rollback of r1 was already asked: r9 (failed)');
    // One that ended without running (rejected) does not.
    const rejected = request('r9', { kind: 'rollback', approvals: [], rejection: { by: { id: 'U2', via: 'slack' }, at: T0 + 11 }, phase: null, startedAt: null });
    expect(rollbackRefusal(up, [up, rejected], rejected, NOW)).toBeNull();
  });

  it('only the latest change may be undone', () => {
    const older = request('r1');
    const newer = request('r2', { plan: plan({ from: '2.4.23', to: '2.5.16' }), startedAt: T0 + 100, finishedAt: T0 + 200 });
    expect(rollbackRefusal(older, [older, newer], null, NOW)).toBe(
      'r1 is not the latest change of rel: r2 (upgrade 2.4.23 → 2.5.16, succeeded) came after it; only the latest change can be rolled back',
    );
    expect(rollbackRefusal(newer, [older, newer], null, NOW)).toBeNull();
    // A newer request that never ran is no change.
    const unrun = request('r3', { approvals: [], phase: null, startedAt: null, finishedAt: null, createdAt: T0 + 300 });
    expect(rollbackRefusal(newer, [older, newer, unrun], null, NOW)).toBeNull();
  });
});

describe('latestChange', () => {
  it('the newest that started running, ties broken by creation; none when nothing ran', () => {
    const a = request('a', { startedAt: T0 + 5, createdAt: T0 });
    const b = request('b', { startedAt: T0 + 5, createdAt: T0 + 1 });
    const c = request('c', { startedAt: T0 + 4, createdAt: T0 + 9 });
    expect(latestChange([a, b, c])?.id).toBe('b');
    expect(latestChange([c, b, a])?.id).toBe('b');
    expect(latestChange([request('d', { startedAt: null, phase: null })])).toBeNull();
  });
});

describe('differencesSince', () => {
  it('nothing recorded: no difference claimed; otherwise what changed', () => {
    const now = releaseState({ version: '2.4.23' });
    expect(differencesSince(null, now)).toEqual([]);
    expect(differencesSince(undefined, now)).toEqual([]);
    const left = { helmRevision: now.helm.revision + 1, helmStatus: now.helm.status, chartVersion: now.helm.chartVersion, images: {} };
    const diffs = differencesSince(left, now);
    expect(diffs[0]).toBe(`helm revision ${now.helm.revision + 1} -> ${now.helm.revision}`);
    expect(diffs.length).toBeGreaterThan(1);
  });
});
