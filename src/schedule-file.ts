/**
 * The policy file's windows and freezes, and how fleets are approved (issue 28), read once at
 * start: a file that cannot be read or parsed stops the start, as a bad access file does,
 * rather than running unheld.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './config.js';
import { explainError } from './upgrade/errors.js';
import { NO_SCHEDULE, parseSchedulePolicy, type SchedulePolicy } from './upgrade/schedule/policy.js';
import { DEFAULT_FLEET_POLICY, parseFleetPolicy, type FleetPolicy } from './upgrade/fleet/fleet-policy.js';

export function readPolicyFile(path: string | null): { readonly schedule: SchedulePolicy; readonly fleets: FleetPolicy } {
  if (path === null) return { schedule: NO_SCHEDULE, fleets: DEFAULT_FLEET_POLICY };
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError([`SCHEDULE_CONFIG: cannot read the windows and freezes of ${path}: ${(err as NodeJS.ErrnoException).code ?? explainError(err)}`]);
  }
  try {
    return { schedule: parseSchedulePolicy(raw, path), fleets: parseFleetPolicy(raw, path) };
  } catch (err) {
    throw new ConfigError([`SCHEDULE_CONFIG: ${explainError(err)}`]);
  }
}
