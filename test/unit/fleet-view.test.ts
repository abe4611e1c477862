/**
 * The fleet card (issue 28) in each stage, checked with the rules the Slack stub answers
 * invalid_blocks with: waiting for approval (Approve/Reject), running (Cancel), halted with a
 * failed canary (its Roll back button, the others "not run"), and a fleet of 100 members.
 */
import { describe, expect, it } from 'vitest';
import { fleetCard } from '../../src/bot/fleet-view.js';
import { newFleet, type FleetRecord } from '../../src/upgrade/fleet/fleet-record.js';
import { planUpgrade } from '../../src/upgrade/planner/upgrade.js';
import type { UpgradeRequest } from '../../src/upgrade/requests.js';
import { parseVersion } from '../../src/upgrade/milvus/version.js';
import { validateBlocks } from '../harness/block-kit-rules.js';
import { milvusIndex, planSettings, releaseState, tooling, upgradeRequest } from './helpers.js';

const T0 = Date.UTC(2026, 11, 8, 1, 0);
const REQ = { id: 'U0REQ00001', via: 'slack' as const };
const APP = { id: 'U0APP00001', via: 'slack' as const };

function member(i: number, over: Partial<UpgradeRequest> = {}): UpgradeRequest {
  const state = releaseState({ release: `milvus-${i}`, namespace: 'team-a' });
  const plan = planUpgrade({ request: { cluster: 'main', namespace: 'team-a', release: `milvus-${i}`, target: parseVersion('2.4.23') }, state, tooling: tooling(), charts: milvusIndex(), settings: planSettings() });
  return upgradeRequest({ id: `req-${i}`, cluster: 'main', namespace: 'team-a', release: `milvus-${i}`, plan, requester: REQ, createdAt: T0, fleet: { id: 'fleet-9' }, ...over });
}

function fleetOf(n: number, over: Partial<FleetRecord> = {}): FleetRecord {
  const ids = Array.from({ length: n }, (_, i) => `req-${i}`);
  const waves = [ids.slice(0, 1), ids.slice(1, Math.ceil(n / 2)), ids.slice(Math.ceil(n / 2))].filter((w) => w.length > 0);
  const f = newFleet('fleet-9', { cluster: 'main', version: '2.4.23', selector: 'team-*/milvus-*', waveMarks: '1,50%,100%', maxInFlight: 5, waves, refused: [{ cluster: 'main', namespace: 'team-b', release: 'old', reason: 'Milvus 2.4.23 is not newer than the running 2.5.16' }], requester: REQ, place: { channel: 'C1', messageTs: '1.1' }, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 3_600_000 }, T0);
  return { ...f, ...over };
}

const buttonsOf = (blocks: unknown[]) => JSON.stringify(blocks).match(/"action_id":"[a-z_]+"/g) ?? [];

describe('fleet card', () => {
  it('waiting: the waves, the left out, Approve and Reject; valid Block Kit', () => {
    const f = fleetOf(6);
    const card = fleetCard(f, new Map(f.waves.flat().map((id, i) => [id, member(i)])), '<@U0APP00001>', T0 + 1000);
    expect(validateBlocks(card.blocks, 'message')).toEqual([]);
    expect(card.text).toBe('Fleet upgrade fleet-9 of team-*/milvus-* to 2.4.23: waiting for approval');
    expect(JSON.stringify(card.blocks)).toMatch(/\*Wave 1\* \(canary\)/);
    expect(JSON.stringify(card.blocks)).toMatch(/team-b\/old: Milvus 2.4.23 is not newer/);
    expect(buttonsOf(card.blocks)).toEqual(['"action_id":"fleet_approve"', '"action_id":"fleet_reject"']);
  });

  it('halted by a failed canary: its Roll back button, the rest "not run"; no Cancel once halted and over', () => {
    const f = fleetOf(6, { approvals: [{ by: APP, at: T0 + 1 }], halted: { at: T0 + 5, wave: 0, reason: 'the fleet halted in wave 1 (the canary): milvus-0 failed' }, ended: { at: T0 + 6, outcome: 'halted' } });
    const members = new Map<string, UpgradeRequest>(f.waves.flat().map((id, i) => [id, i === 0 ? member(i, { phase: 'failed', startedAt: T0 + 2, completedSteps: 2, error: 'querynode is not healthy', approvals: [{ by: APP, at: T0 + 1 }] }) : member(i, { phase: 'cancelled', error: 'not run: the fleet halted in wave 1 (the canary): milvus-0 failed', approvals: [{ by: APP, at: T0 + 1 }] })]));
    const card = fleetCard(f, members, 'x', T0 + 10);
    expect(validateBlocks(card.blocks, 'message')).toEqual([]);
    const text = JSON.stringify(card.blocks);
    expect(text).toMatch(/milvus-0\* [^"]*: failed: querynode is not healthy/);
    expect(text).toMatch(/milvus-3\* [^"]*: not run: the fleet halted in wave 1/);
    expect(text).toMatch(/Halted:\* the fleet halted in wave 1/);
    expect(buttonsOf(card.blocks)).toEqual(['"action_id":"rollback"']);
    expect(card.text).toMatch(/: halted$/);
  });

  it('running: Cancel; a fleet of 100 members still fits Slack\'s limits', () => {
    const f = fleetOf(100, { approvals: [{ by: APP, at: T0 + 1 }] });
    const card = fleetCard(f, new Map(f.waves.flat().map((id, i) => [id, member(i, { phase: i === 0 ? 'succeeded' : i < 5 ? 'running' : null, approvalSeal: 's', approvals: [{ by: APP, at: T0 + 1 }] })])), 'x', T0 + 10);
    expect(validateBlocks(card.blocks, 'message')).toEqual([]);
    expect(buttonsOf(card.blocks)).toEqual(['"action_id":"fleet_cancel"']);
  });

  it('per-wave approval: the next wave says it needs its own approval and has its button', () => {
    const f = fleetOf(6, { approvals: [{ by: APP, at: T0 + 1 }], approvalPerWave: true });
    const card = fleetCard(f, new Map(f.waves.flat().map((id, i) => [id, member(i, { phase: i === 0 ? 'succeeded' : null })])), 'x', T0 + 10);
    expect(validateBlocks(card.blocks, 'message')).toEqual([]);
    expect(JSON.stringify(card.blocks)).toMatch(/\*Wave 2\* \(needs its own approval\)/);
    expect(buttonsOf(card.blocks)).toEqual(['"action_id":"fleet_approve_wave"', '"action_id":"fleet_cancel"']);
    expect(JSON.stringify(card.blocks)).toContain('"value":"fleet-9:1"');
  });
});
