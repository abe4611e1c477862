/**
 * `fleet status` (issue 28): a fleet as a person reads it in a terminal or a private answer:
 * where it stands, each wave's releases with their state, the halt, the left out. Pure.
 */
import type { UpgradeRequest } from '../requests.js';
import { memberState } from '../lifecycle/fleet-lifecycle.js';
import { deriveFleetState, waveApproved, type FleetRecord } from './fleet-record.js';

export interface FleetStatusMember {
  readonly id: string;
  readonly wave: number;
  readonly cluster?: string;
  readonly namespace?: string;
  readonly release?: string;
  readonly from?: string;
  readonly to?: string;
  readonly state: string;
  readonly error: string | null;
  readonly scheduled: string | null;
}

export function fleetStatusMembers(f: FleetRecord, members: ReadonlyMap<string, UpgradeRequest | null>, now: number): FleetStatusMember[] {
  return f.waves.flatMap((wave, w) =>
    wave.map((id) => {
      const r = members.get(id) ?? null;
      return {
        id,
        wave: w + 1,
        ...(r ? { cluster: r.cluster, namespace: r.namespace, release: r.release, from: r.plan.from, to: r.plan.to } : {}),
        state: memberState(r, now),
        error: r?.error ?? null,
        scheduled: r?.scheduled?.text ?? null,
      };
    }),
  );
}

export function fleetStatusJson(f: FleetRecord, members: ReadonlyMap<string, UpgradeRequest | null>, now: number): object {
  return {
    fleet: f.id,
    state: deriveFleetState(f, now),
    version: f.version,
    selector: f.selector,
    waves: f.waveMarks,
    maxInFlight: f.maxInFlight,
    approvals: f.approvals.map((v) => v.by.id),
    halted: f.halted?.reason ?? null,
    members: fleetStatusMembers(f, members, now),
    refused: f.refused,
  };
}

export function fleetStatusText(f: FleetRecord, members: ReadonlyMap<string, UpgradeRequest | null>, now: number): string {
  const state = deriveFleetState(f, now);
  const all = fleetStatusMembers(f, members, now);
  const done = all.filter((m) => m.state === 'succeeded').length;
  const lines = [`Fleet ${f.id}: ${f.selector} to Milvus ${f.version}, ${state.replace(/-/g, ' ')} (${done} of ${all.length} succeeded; waves ${f.waveMarks}, at most ${f.maxInFlight} at once)`];
  for (let w = 1; w <= f.waves.length; w++) {
    lines.push(`  wave ${w}${w === 1 ? ' (canary)' : ''}${f.approvalPerWave && w > 1 && !waveApproved(f, w - 1) ? ' (needs its own approval)' : ''}:`);
    for (const m of all.filter((x) => x.wave === w)) {
      const detail = m.scheduled && (m.state === 'queued' || m.state === 'running') ? `: ${m.scheduled}` : m.error && (m.state === 'failed' || m.state === 'cancelled') ? `: ${m.error.split('\n')[0]}` : '';
      lines.push(`    ${m.namespace ?? '?'}/${m.release ?? m.id} ${m.from ?? '?'} -> ${m.to ?? '?'}: ${m.state}${detail} (${m.id})`);
    }
  }
  if (f.halted) lines.push(`  halted: ${f.halted.reason}`);
  if (f.refused.length > 0) lines.push('  left out:', ...f.refused.map((r) => `    ${r.namespace}/${r.release}: ${r.reason.split('\n')[0]}`));
  return lines.join('\n');
}
