/**
 * A fleet upgrade's life (issue 28): asked (one member request per planned release, each
 * holding its release), approved once (the fleet's votes become each member's, and the bot
 * seals every member), advanced wave by wave (fleet-moves.ts decides; this carries it out),
 * cancelled or rejected. One use case for Slack and the CLI.
 *
 * Advancing is idempotent and decided from what is stored, so anyone may advance at any time:
 * the worker after a member's job ends, the reconciler's periodic pass (a worker killed between
 * a member's end and the next start), the approval itself.
 */
import { InputError, UpgradeError, explainError } from '../errors.js';
import type { FleetStore, JobQueue, RequestStore } from '../ports.js';
import { deriveState, type Actor, type NewRequest, type Place, type RequestState, type UpgradeRequest, type Vote } from '../requests.js';
import { approvalContent, type Sealer } from '../seal.js';
import { refuseUncheckedData } from '../planner/data-gate.js';
import { refuseMissingBackup } from '../planner/backup-plan.js';
import type { FleetPlan, FleetRefused } from '../fleet/fleet-plan.js';
import { deriveFleetState, fleetMemberIds, newFleet, waveApproved, waveVotes, withFleetApproval, withFleetCancel, withFleetRejection, withWaveApproval, type FleetRecord } from '../fleet/fleet-record.js';
import { fleetMoves, type FleetMoves } from '../fleet/fleet-moves.js';
import { auditAsked } from './request-change.js';
import type { Plan } from '../plan.js';

export interface FleetDeps {
  readonly store: RequestStore;
  readonly fleets: FleetStore;
  /** Where started members go (the workers' queue, or the CLI's own runner). */
  readonly queue: JobQueue;
  readonly now?: () => number;
}

export interface FleetAsk {
  readonly plan: FleetPlan;
  readonly waveMarks: string;
  readonly requester: Actor;
  readonly place: Place | null;
  readonly approvalsNeeded: number;
  readonly allowSelfApproval: boolean;
  readonly ttlMs: number;
  /** The policy asks one approval per wave (fleet-policy.ts). */
  readonly approvalPerWave?: boolean;
  /** Refuses a member's plan by throwing (a freeze that refuses new runs): it joins the left out. */
  readonly gate?: (plan: Plan) => void;
}

const ADVANCER: Actor = { id: 'fleet', via: 'worker' };
/** How long one advance may hold the fleet; it takes far less (a few Redis writes per member). */
const ADVANCE_LOCK_MS = 30_000;

/**
 * Records a member request for each planned release, in wave order, and the fleet over them.
 * A release another request holds, a plan the data checks refuse, or one the gate refuses joins
 * the refused (the others go on); with none left the fleet is refused as a whole (no member was
 * made then).
 */
export async function requestFleet(d: Pick<FleetDeps, 'store' | 'fleets' | 'now'>, ask: FleetAsk): Promise<FleetRecord> {
  const now = d.now ?? Date.now;
  const id = await d.fleets.newId(now());
  const refused: FleetRefused[] = [...ask.plan.refused];
  const waves: string[][] = [];
  for (const wave of ask.plan.waves) {
    const ids: string[] = [];
    for (const m of wave) {
      const input: NewRequest = { kind: 'upgrade', plan: m.plan, requester: ask.requester, place: ask.place, approvalsNeeded: ask.approvalsNeeded, allowSelfApproval: ask.allowSelfApproval, ttlMs: ask.ttlMs, fleet: { id } };
      try {
        refuseUncheckedData(m.plan);
        refuseMissingBackup(m.plan);
        ask.gate?.(m.plan);
        const request = await d.store.create(input, now());
        await auditAsked(d.store, request, input, now());
        ids.push(request.id);
      } catch (err) {
        if (!(err instanceof UpgradeError)) throw err;
        refused.push({ cluster: m.cluster, namespace: m.namespace, release: m.release, reason: err.explain() });
      }
    }
    if (ids.length > 0) waves.push(ids);
  }
  if (waves.length === 0) {
    throw new InputError(`nothing to upgrade in ${ask.plan.selector}: every release it names was left out`, refused.map((r) => `${r.namespace}/${r.release}: ${r.reason.split('\n')[0]}`));
  }
  const fleet = newFleet(
    id,
    {
      cluster: ask.plan.waves.flat()[0]!.cluster,
      version: ask.plan.version,
      selector: ask.plan.selector,
      waveMarks: ask.waveMarks,
      maxInFlight: ask.plan.maxInFlight,
      waves,
      refused,
      requester: ask.requester,
      place: ask.place,
      approvalsNeeded: ask.approvalsNeeded,
      allowSelfApproval: ask.allowSelfApproval,
      ttlMs: ask.ttlMs,
      ...(ask.approvalPerWave && waves.length > 1 ? { approvalPerWave: true } : {}),
    },
    now(),
  );
  await d.fleets.create(fleet);
  return fleet;
}

/**
 * A vote on the fleet. Once it is approved, every member gets the fleet's votes and is sealed
 * (by the bot, holding the key: an advance never seals), then the fleet is advanced. A second
 * click by the same person does that again, which mends an approval cut short.
 */
export async function approveFleet(d: FleetDeps & { readonly sealer: Sealer }, id: string, by: Actor): Promise<{ fleet: FleetRecord; changed: boolean }> {
  const now = d.now ?? Date.now;
  const { fleet, changed, refusal } = await d.fleets.decide(id, (f) => withFleetApproval(f, by, now()));
  if (refusal) {
    await d.fleets.audit(id, by, 'approval refused', refusal.message, now());
    throw refusal;
  }
  if (changed) await d.fleets.audit(id, by, 'approved', `${fleet.approvals.length}/${fleet.approvalsNeeded}`, now());
  if (deriveFleetState(fleet, now()) === 'running') {
    await sealMembers(d, fleet, by);
    await advanceFleet(d, id);
  }
  return { fleet, changed };
}

/** Each member of an approved wave voted as its wave was (the fleet's votes, or the wave's own), and sealed once approved. */
export async function sealMembers(d: Pick<FleetDeps, 'store' | 'now'> & { readonly sealer: Sealer }, fleet: FleetRecord, actor: Actor): Promise<void> {
  const now = d.now ?? Date.now;
  for (const [w, wave] of fleet.waves.entries()) {
    if (!waveApproved(fleet, w)) continue;
    for (const memberId of wave) await sealMember(d, memberId, waveVotes(fleet, w), actor, now);
  }
}

async function sealMember(d: Pick<FleetDeps, 'store'> & { readonly sealer: Sealer }, memberId: string, votes: readonly Vote[], actor: Actor, now: () => number): Promise<void> {
  let member = await d.store.get(memberId);
  if (!member) return;
  for (const vote of votes) {
    if (deriveState(member, now()) !== 'pending-approval') break;
    member = (await d.store.approve(memberId, vote.by, now())).request;
  }
  if (deriveState(member, now()) === 'approved' && !member.approvalSeal) await d.store.sealApproved(memberId, actor, (r) => d.sealer.seal(approvalContent(r)), now());
}

/** A vote on the next wave that needs its own (per-wave approval); once it has enough, its members are sealed and the fleet advances. */
export async function approveWave(d: FleetDeps & { readonly sealer: Sealer }, id: string, wave: number, by: Actor): Promise<{ fleet: FleetRecord; changed: boolean }> {
  const now = d.now ?? Date.now;
  const { fleet, changed, refusal } = await d.fleets.decide(id, (f) => withWaveApproval(f, wave, by, now()));
  if (refusal) {
    await d.fleets.audit(id, by, `wave ${wave + 1} approval refused`, refusal.message, now());
    throw refusal;
  }
  if (changed) await d.fleets.audit(id, by, `approved wave ${wave + 1}`, `${waveVotes(fleet, wave).length}/${fleet.approvalsNeeded}`, now());
  if (waveApproved(fleet, wave)) {
    await sealMembers(d, fleet, by);
    await advanceFleet(d, id);
  }
  return { fleet, changed };
}

export async function rejectFleet(d: FleetDeps, id: string, by: Actor): Promise<FleetRecord> {
  const now = d.now ?? Date.now;
  const { fleet, changed, refusal } = await d.fleets.decide(id, (f) => withFleetRejection(f, by, now()));
  if (refusal) throw refusal;
  if (changed) await d.fleets.audit(id, by, 'rejected', undefined, now());
  await advanceFleet(d, id);
  return fleet;
}

/** Nothing more starts; members not started are ended, those running are cancelled (each resumes what it paused). */
export async function cancelFleet(d: FleetDeps, id: string, by: Actor): Promise<FleetRecord> {
  const now = d.now ?? Date.now;
  const { fleet, changed, refusal } = await d.fleets.decide(id, (f) => withFleetCancel(f, by, now()));
  if (refusal) throw refusal;
  if (changed) await d.fleets.audit(id, by, 'cancel requested', undefined, now());
  await advanceFleet(d, id);
  return fleet;
}

/** The fleet's member requests as stored now, by id (null: the record is gone). */
export async function readMembers(store: Pick<RequestStore, 'get'>, fleet: Pick<FleetRecord, 'waves'>): Promise<Map<string, UpgradeRequest | null>> {
  const members = new Map<string, UpgradeRequest | null>();
  for (const memberId of fleetMemberIds(fleet)) members.set(memberId, await store.get(memberId));
  return members;
}

/** The fleets not ended yet, as stored. */
export async function activeFleets(fleets: Pick<FleetStore, 'active' | 'get'>): Promise<FleetRecord[]> {
  return (await Promise.all((await fleets.active()).map((id) => fleets.get(id)))).filter((f): f is FleetRecord => f !== null);
}

/** A member's state as the fleet counts it: approved but not yet sealed is still waiting for its votes. */
export function memberState(r: UpgradeRequest | null, now: number): RequestState | 'missing' {
  if (!r) return 'missing';
  const state = deriveState(r, now);
  return state === 'approved' && !r.approvalSeal ? 'pending-approval' : state;
}

/**
 * Carries out what the fleet does next. Another advance holding the fleet is waited for a
 * moment (so a member's end is acted on at once), then left to it; null then.
 */
export async function advanceFleet(d: FleetDeps, id: string, o: { readonly waitMs?: number; readonly log?: (msg: string) => void } = {}): Promise<FleetMoves | null> {
  const now = d.now ?? Date.now;
  let unlock = await d.fleets.tryLock(id, ADVANCE_LOCK_MS);
  for (let waited = 0; !unlock && waited < (o.waitMs ?? 3000); waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    unlock = await d.fleets.tryLock(id, ADVANCE_LOCK_MS);
  }
  if (!unlock) return null;
  try {
    const fleet = await d.fleets.get(id);
    if (!fleet || fleet.ended) return null;
    const members = await readMembers(d.store, fleet);
    const states = new Map([...members].map(([memberId, r]) => [memberId, memberState(r, now())] as const));
    const moves = fleetMoves(fleet, states, now(), (memberId) => members.get(memberId)?.release ?? memberId);
    if (moves.halt) {
      const halt = moves.halt;
      const { changed } = await d.fleets.decide(id, (f) => (f.halted ? null : { ...f, halted: { at: now(), ...halt } }));
      if (changed) await d.fleets.audit(id, ADVANCER, 'halted', halt.reason, now());
    }
    if (moves.end) for (const memberId of moves.end.ids) await d.store.endNotStarted(memberId, moves.end.reason, ADVANCER, now());
    for (const memberId of moves.cancel) await d.store.requestCancel(memberId, fleet.cancelRequested?.by ?? ADVANCER, now());
    // A member marked queued whose enqueue was lost (the advance died between the two) is handed over again: the job id is the request id.
    for (const [memberId, state] of states) if (state === 'queued') await d.queue.enqueue(memberId);
    if (moves.wave !== null && moves.start.length > 0) {
      const wave = moves.wave;
      const { changed } = await d.fleets.decide(id, (f) => (typeof f.waveStarts[wave] === 'number' ? null : { ...f, waveStarts: Array.from({ length: Math.max(f.waveStarts.length, wave + 1) }, (_, i) => (i === wave ? now() : (f.waveStarts[i] ?? null))) }));
      if (changed) await d.fleets.audit(id, ADVANCER, `wave ${wave + 1} started`, moves.start.map((m) => members.get(m)?.release ?? m).join(', '), now());
      for (const memberId of moves.start) {
        try {
          await d.store.markQueued(memberId, ADVANCER, `${id}, wave ${wave + 1} of ${fleet.waves.length}`, now());
          await d.queue.enqueue(memberId);
        } catch (err) {
          o.log?.(`could not start ${memberId}: ${explainError(err)}`);
        }
      }
    }
    if (moves.finish) {
      const outcome = moves.finish;
      const { changed } = await d.fleets.decide(id, (f) => (f.ended ? null : { ...f, ended: { at: now(), outcome } }));
      if (changed) await d.fleets.audit(id, ADVANCER, `fleet ${outcome}`, undefined, now());
    }
    return moves;
  } finally {
    await unlock();
  }
}

/** Advances every fleet not ended (the reconciler's pass); a fleet that fails is left for the next pass. */
export async function advanceAllFleets(d: FleetDeps, log: (id: string, err: unknown) => void): Promise<void> {
  for (const id of await d.fleets.active()) {
    try {
      await advanceFleet(d, id, { waitMs: 0 });
    } catch (err) {
      log(id, err);
    }
  }
}
