/**
 * What a fleet does next, from its record and its members' states (issue 28). Pure, and a
 * function of what is stored only: whoever advances the fleet (the worker after a member ends,
 * the reconciler's pass, the approval) decides the same, so a worker killed mid-wave loses
 * nothing (the next advance picks up where the record stands).
 *
 * A member counts as approved only once the bot sealed it (the caller reports an approved but
 * unsealed member as pending): whoever advances never seals, so a record written into Redis
 * cannot make a worker vouch for it.
 *
 * Waves run in order: a wave starts when every member of the one before succeeded, at most
 * `maxInFlight` of its members at once. A member that ends in any other way (failed, cancelled,
 * rolled back, its record gone) halts the fleet: its wave's members already running finish,
 * nothing else starts, and the members never started are ended with the reason.
 */
import type { RequestState } from '../requests.js';
import { deriveFleetState, waveApproved, type FleetOutcome, type FleetRecord } from './fleet-record.js';

export interface FleetMoves {
  /** Members of the current wave to hand to the workers now. */
  readonly start: readonly string[];
  /** The wave `start` belongs to (0-based), or null. */
  readonly wave: number | null;
  /** Members never started, to be ended (not run) with the reason. */
  readonly end: { readonly ids: readonly string[]; readonly reason: string } | null;
  /** Members running, to be cancelled (the fleet was cancelled). */
  readonly cancel: readonly string[];
  /** The halt to record (the first time a member of a wave fails). */
  readonly halt: { readonly wave: number; readonly reason: string } | null;
  /** The fleet is over: no member is running any more. */
  readonly finish: FleetOutcome | null;
  /** The wave that would start next but waits for votes of its own (per-wave approval), or null. */
  readonly awaitingVotes: number | null;
}

const NOTHING: FleetMoves = { start: [], wave: null, end: null, cancel: [], halt: null, finish: null, awaitingVotes: null };

type MemberState = RequestState | 'missing';

function notStarted(s: MemberState): boolean {
  return s === 'pending-approval' || s === 'approved';
}

function inFlight(s: MemberState): boolean {
  return s === 'queued' || s === 'running' || s === 'rolling-back';
}

/** A member's name for the reasons (its release), given by the caller. */
export type MemberName = (id: string) => string;

export function fleetMoves(f: FleetRecord, states: ReadonlyMap<string, MemberState>, now: number, nameOf: MemberName = (id) => id): FleetMoves {
  const state = deriveFleetState(f, now);
  if (f.ended || state === 'pending-approval') return NOTHING;
  const ids = f.waves.flat();
  const stateOf = (id: string): MemberState => states.get(id) ?? 'missing';
  const running = ids.filter((id) => inFlight(stateOf(id)));
  const waiting = ids.filter((id) => notStarted(stateOf(id)));
  const stop = (outcome: FleetOutcome, reason: string, halt: FleetMoves['halt'] = null, cancel: readonly string[] = []): FleetMoves => ({
    ...NOTHING,
    end: waiting.length > 0 ? { ids: waiting, reason } : null,
    cancel,
    halt,
    finish: running.length === 0 ? outcome : null,
  });
  if (state === 'rejected' || state === 'expired') return stop(state, `not run: the fleet ${f.id} was ${state}`);
  if (f.cancelRequested) return stop('cancelled', `not run: the fleet ${f.id} was cancelled by ${f.cancelRequested.by.name ?? f.cancelRequested.by.id}`, null, running);
  if (f.halted) return stop('halted', `not run: ${f.halted.reason}`);

  for (let w = 0; w < f.waves.length; w++) {
    const wave = f.waves[w]!;
    const bad = wave.filter((id) => {
      const s = stateOf(id);
      return !notStarted(s) && !inFlight(s) && s !== 'succeeded';
    });
    if (bad.length > 0) {
      const reason = `the fleet halted in wave ${w + 1}${w === 0 ? ' (the canary)' : ''}: ${bad.map((id) => `${nameOf(id)} ${stateOf(id) === 'missing' ? 'has no record any more' : stateOf(id)}`).join(', ')}`;
      return stop('halted', `not run: ${reason}`, { wave: w, reason });
    }
    if (wave.every((id) => stateOf(id) === 'succeeded')) continue;
    if (!waveApproved(f, w)) return { ...NOTHING, awaitingVotes: w };
    const free = Math.max(0, f.maxInFlight - wave.filter((id) => inFlight(stateOf(id))).length);
    const start = wave.filter((id) => stateOf(id) === 'approved').slice(0, free);
    return { ...NOTHING, start, wave: start.length > 0 ? w : null };
  }
  return { ...NOTHING, finish: 'succeeded' };
}

/** The wave a fleet is in: the first not all succeeded (0-based), or null when every wave is done. */
export function currentWave(f: FleetRecord, states: ReadonlyMap<string, MemberState>): number | null {
  const w = f.waves.findIndex((wave) => !wave.every((id) => states.get(id) === 'succeeded'));
  return w < 0 ? null : w;
}
