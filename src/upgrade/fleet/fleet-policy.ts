/**
 * How fleets are approved, from the policy file's `fleets` section (issue 28):
 *
 *   fleets:
 *     approval: per-wave      # or once (the default): one approval covers every wave
 *
 * Per wave: the fleet's approval runs the canary's wave; each later wave waits for votes of its
 * own (as many as a request needs, never the requester's own unless allowed), given on the card
 * once the wave before is under way or done. Pure.
 */
import { z } from 'zod';
import { InputError } from '../errors.js';

const section = z.object({ approval: z.enum(['once', 'per-wave']).default('once') }).strict();

export interface FleetPolicy {
  readonly approvalPerWave: boolean;
}

export const DEFAULT_FLEET_POLICY: FleetPolicy = { approvalPerWave: false };

export function parseFleetPolicy(raw: unknown, source = 'the policy file'): FleetPolicy {
  const obj = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  if (obj.fleets === undefined || obj.fleets === null) return DEFAULT_FLEET_POLICY;
  const parsed = section.safeParse(obj.fleets);
  if (!parsed.success) throw new InputError(`${source}: fleets: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`);
  return { approvalPerWave: parsed.data.approval === 'per-wave' };
}
