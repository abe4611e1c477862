import { describe, expect, it } from 'vitest';
import { fleetMoves, currentWave } from '../../src/upgrade/fleet/fleet-moves.js';
import { newFleet, withFleetApproval, withFleetCancel, withFleetRejection, withWaveApproval, waveApproved, waveAwaitingVotes, deriveFleetState, type FleetRecord } from '../../src/upgrade/fleet/fleet-record.js';
import { parseFleetPolicy } from '../../src/upgrade/fleet/fleet-policy.js';
import type { RequestState } from '../../src/upgrade/requests.js';
import { memberState } from '../../src/upgrade/lifecycle/fleet-lifecycle.js';

const alice = { id: 'U1', via: 'slack' as const };
const bob = { id: 'U2', via: 'slack' as const };

function fleet(waves: string[][], maxInFlight = 2, approved = true): FleetRecord {
  const f = newFleet('fleet-1', { cluster: 'c', version: '2.6.15', selector: 'ns/*', waveMarks: '1,50%,100%', maxInFlight, waves, refused: [], requester: alice, place: null, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 1000 }, 0);
  return approved ? { ...f, approvals: [{ by: bob, at: 1 }] } : f;
}

type S = RequestState | 'missing';
const states = (o: Record<string, S>) => new Map(Object.entries(o));

describe('fleet moves (issue 28)', () => {
  const waves = [['a'], ['b', 'c', 'd'], ['e', 'f']];

  it('starts nothing before approval, then the canary alone', () => {
    const all = states({ a: 'pending-approval', b: 'pending-approval', c: 'pending-approval', d: 'pending-approval', e: 'pending-approval', f: 'pending-approval' });
    expect(fleetMoves(fleet(waves, 2, false), all, 10).start).toEqual([]);
    const approved = states({ a: 'approved', b: 'approved', c: 'approved', d: 'approved', e: 'approved', f: 'approved' });
    expect(fleetMoves(fleet(waves), approved, 10)).toMatchObject({ start: ['a'], wave: 0, finish: null, halt: null });
  });

  it('the next wave starts only when the whole wave before succeeded, at most maxInFlight at once', () => {
    const f = fleet(waves);
    expect(fleetMoves(f, states({ a: 'running', b: 'approved', c: 'approved', d: 'approved', e: 'approved', f: 'approved' }), 10).start).toEqual([]);
    expect(fleetMoves(f, states({ a: 'succeeded', b: 'approved', c: 'approved', d: 'approved', e: 'approved', f: 'approved' }), 10)).toMatchObject({ start: ['b', 'c'], wave: 1 });
    // One running, one finished: one slot is free.
    expect(fleetMoves(f, states({ a: 'succeeded', b: 'succeeded', c: 'running', d: 'approved', e: 'approved', f: 'approved' }), 10)).toMatchObject({ start: ['d'], wave: 1 });
    // Wave 3 waits for d.
    expect(fleetMoves(f, states({ a: 'succeeded', b: 'succeeded', c: 'succeeded', d: 'queued', e: 'approved', f: 'approved' }), 10).start).toEqual([]);
    const done = states({ a: 'succeeded', b: 'succeeded', c: 'succeeded', d: 'succeeded', e: 'succeeded', f: 'succeeded' });
    expect(fleetMoves(f, done, 10)).toMatchObject({ start: [], finish: 'succeeded' });
    expect(currentWave(f, done)).toBeNull();
    expect(currentWave(f, states({ a: 'succeeded', b: 'running' }))).toBe(1);
  });

  it('a failed canary halts the fleet: nothing else starts, the never started are ended with the reason', () => {
    const m = fleetMoves(fleet(waves), states({ a: 'failed', b: 'approved', c: 'approved', d: 'approved', e: 'approved', f: 'approved' }), 10, (id) => `milvus-${id}`);
    expect(m.start).toEqual([]);
    expect(m.halt).toEqual({ wave: 0, reason: 'the fleet halted in wave 1 (the canary): milvus-a failed' });
    expect(m.end).toEqual({ ids: ['b', 'c', 'd', 'e', 'f'], reason: 'not run: the fleet halted in wave 1 (the canary): milvus-a failed' });
    expect(m.finish).toBe('halted');
  });

  it('a failure mid-wave lets its wave mates finish before the fleet ends halted; a lost record halts too', () => {
    const f = fleet(waves);
    const m = fleetMoves(f, states({ a: 'succeeded', b: 'rolled-back', c: 'running', d: 'approved', e: 'approved', f: 'approved' }), 10);
    expect(m).toMatchObject({ start: [], finish: null, halt: { wave: 1 } });
    expect(m.end!.ids).toEqual(['d', 'e', 'f']);
    const halted = { ...f, halted: { at: 5, wave: 1, reason: m.halt!.reason } };
    // Recorded halt: the rest stays ended even though b's state no longer decides it.
    expect(fleetMoves(halted, states({ a: 'succeeded', b: 'rolled-back', c: 'succeeded', d: 'cancelled', e: 'cancelled', f: 'cancelled' }), 10)).toMatchObject({ finish: 'halted', end: null });
    expect(fleetMoves(f, states({ a: 'missing' }), 10).halt!.reason).toMatch(/a has no record any more/);
  });

  it('cancel ends the waiting and cancels the running; the fleet ends cancelled once nothing runs', () => {
    const f = withFleetCancel(fleet(waves), alice, 20) as FleetRecord;
    const m = fleetMoves(f, states({ a: 'succeeded', b: 'running', c: 'approved', d: 'approved', e: 'approved', f: 'approved' }), 30);
    expect(m).toMatchObject({ cancel: ['b'], start: [], finish: null });
    expect(m.end!.ids).toEqual(['c', 'd', 'e', 'f']);
    expect(fleetMoves(f, states({ a: 'succeeded', b: 'cancelled', c: 'cancelled', d: 'cancelled', e: 'cancelled', f: 'cancelled' }), 30).finish).toBe('cancelled');
    expect(withFleetCancel(f, bob, 40)).toBeNull();
  });

  it('votes: not the requester\'s own, not twice, not after the deadline; a rejection ends the members', () => {
    const f = fleet(waves, 2, false);
    expect(withFleetApproval(f, alice, 5)).toBeInstanceOf(Error);
    expect(withFleetApproval(f, bob, 5000)).toBeInstanceOf(Error);
    const approved = withFleetApproval(f, bob, 5) as FleetRecord;
    expect(deriveFleetState(approved, 5)).toBe('running');
    expect(withFleetApproval(approved, bob, 6)).toBeNull();
    const rejected = withFleetRejection(f, bob, 5) as FleetRecord;
    expect(fleetMoves(rejected, states({ a: 'pending-approval', b: 'pending-approval', c: 'pending-approval', d: 'pending-approval', e: 'pending-approval', f: 'pending-approval' }), 6)).toMatchObject({ finish: 'rejected', end: { ids: ['a', 'b', 'c', 'd', 'e', 'f'] } });
    expect(fleetMoves(f, states({}), 5000).finish).toBe('expired');
  });

  it('an approved member the bot has not sealed yet is still waiting: an advance never starts it', () => {
    const r = { phase: null, rejection: null, approvals: [{ by: bob, at: 1 }], approvalsNeeded: 1, expiresAt: 100, approvalSeal: null } as never;
    expect(memberState(r, 5)).toBe('pending-approval');
    expect(memberState({ ...(r as object), approvalSeal: 'hmac' } as never, 5)).toBe('approved');
    expect(memberState(null, 5)).toBe('missing');
  });
});

describe('per-wave approval (the policy file\'s fleets.approval: per-wave)', () => {
  const waves = [['a'], ['b', 'c'], ['d']];
  const perWave = (): FleetRecord => ({ ...fleet(waves), approvalPerWave: true });

  it('the fleet\'s approval runs the canary; the next wave waits for votes of its own even after the canary succeeded', () => {
    const f = perWave();
    expect(fleetMoves(f, states({ a: 'approved', b: 'pending-approval', c: 'pending-approval', d: 'pending-approval' }), 10)).toMatchObject({ start: ['a'], awaitingVotes: null });
    expect(fleetMoves(f, states({ a: 'succeeded', b: 'pending-approval', c: 'pending-approval', d: 'pending-approval' }), 10)).toMatchObject({ start: [], awaitingVotes: 1, finish: null, halt: null });
    expect(waveAwaitingVotes(f)).toBe(1);
    const voted = withWaveApproval(f, 1, bob, 11) as FleetRecord;
    expect(waveApproved(voted, 1)).toBe(true);
    expect(waveAwaitingVotes(voted)).toBe(2);
    expect(fleetMoves(voted, states({ a: 'succeeded', b: 'approved', c: 'approved', d: 'pending-approval' }), 12)).toMatchObject({ start: ['b', 'c'], wave: 1 });
  });

  it('refuses the requester\'s own vote, a wave out of turn, and a fleet approved once; a second vote changes nothing', () => {
    const f = perWave();
    expect(withWaveApproval(f, 1, alice, 11)).toBeInstanceOf(Error);
    expect((withWaveApproval(f, 2, bob, 11) as Error).message).toBe('wave 3 is not the next to approve: wave 2 is');
    expect((withWaveApproval(fleet(waves), 1, bob, 11) as Error).message).toMatch(/approved once for every wave/);
    const voted = withWaveApproval(f, 1, bob, 11) as FleetRecord;
    expect(withWaveApproval(voted, 1, bob, 12)).toBeNull();
    expect(withWaveApproval({ ...f, halted: { at: 1, wave: 0, reason: 'x' } }, 1, bob, 11)).toBeInstanceOf(Error);
  });

  it('the policy file says it; anything else there is refused', () => {
    expect(parseFleetPolicy({ fleets: { approval: 'per-wave' } })).toEqual({ approvalPerWave: true });
    expect(parseFleetPolicy({ rules: [] })).toEqual({ approvalPerWave: false });
    expect(() => parseFleetPolicy({ fleets: { approval: 'twice' } })).toThrow(/fleets: approval/);
    expect(() => parseFleetPolicy({ fleets: { approvals: 'once' } })).toThrow(/fleets/);
  });
});
