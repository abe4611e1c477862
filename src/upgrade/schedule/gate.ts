/**
 * Whether an approved upgrade may take its next step now (issue 28): asked by the worker before
 * a run's first step and before each later hop. Only where a hop begins: a hop once started is
 * never cut by its window closing (stopping between a helm upgrade and its health gate would
 * leave the release half checked); the hop's expected duration must fit in the window instead.
 *
 * Upgrades only. A rollback and a restore undo damage: no window or freeze holds them back.
 * Between the hops of a started route a refusing freeze holds (the route is not a new run): the
 * release is left on the version the last hop reached until the freeze ends. Pure.
 */
import { hopViews, type Plan } from '../plan.js';
import { scheduleFor, type SchedulePolicy } from './policy.js';
import { whenToRun, type RunSlot } from './when.js';

export interface ScheduleSettings {
  readonly policy: SchedulePolicy;
  /** How long one hop is expected to take, for "does it still fit in the window". */
  readonly expectedHopSeconds: number;
}

/** A run slot, or null when nothing is checked before this step (not an upgrade, not a hop's first step). */
export function slotBeforeStep(s: ScheduleSettings, plan: Plan, nextStep: number, now: number): RunSlot | null {
  if (plan.kind !== 'upgrade') return null;
  if (!hopViews(plan).some((h) => h.firstStep === nextStep)) return null;
  const { windows, freezes } = scheduleFor(s.policy, plan);
  if (windows.length === 0 && freezes.length === 0) return null;
  const slot = whenToRun(windows, freezes, now, s.expectedHopSeconds);
  if (slot.kind === 'refused' && nextStep > 0) {
    return { kind: 'later', at: slot.until, why: `${slot.why.replace(/^frozen/, 'held by a freeze')} (the route stays where its last hop left it)`, opening: null };
  }
  return slot;
}

/** The zone a slot is best said in: the first window's that applies, else UTC. */
export function zoneFor(s: Pick<ScheduleSettings, 'policy'>, target: { cluster: string; namespace: string; release: string }): string {
  return scheduleFor(s.policy, target).windows[0]?.zone ?? 'UTC';
}
