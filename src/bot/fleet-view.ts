/**
 * The fleet card (issue 28): the waves and each member's state, the refused, the buttons for
 * the stage the fleet is at (Approve and Reject, then Cancel), and a Roll back button for each
 * member that failed after it changed its release. One message, edited as the fleet moves; each
 * member's own record keeps its steps and audit trail. Pure.
 */
import type { KnownBlock } from '@slack/web-api';
import { deriveFleetState, waveApproved, waveAwaitingVotes, type FleetRecord, type FleetState } from '../upgrade/fleet/fleet-record.js';
import { memberState } from '../upgrade/lifecycle/fleet-lifecycle.js';
import type { UpgradeRequest } from '../upgrade/requests.js';
import { actions, button, confirmDialog, context, header, section, slackDate } from './blocks.js';
import { ACTIONS, esc, offersRollback, type MessageView } from './views.js';

const MEMBER_ICON: Record<string, string> = {
  'pending-approval': ':white_circle:',
  approved: ':white_circle:',
  queued: ':inbox_tray:',
  running: ':arrows_counterclockwise:',
  'rolling-back': ':rewind:',
  succeeded: ':large_green_circle:',
  failed: ':red_circle:',
  cancelled: ':heavy_minus_sign:',
  'rolled-back': ':leftwards_arrow_with_hook:',
  rejected: ':no_entry:',
  expired: ':hourglass:',
  missing: ':grey_question:',
};

const FLEET_WORDS: Record<FleetState, string> = {
  'pending-approval': 'waiting for approval',
  running: 'running',
  succeeded: 'succeeded',
  halted: 'halted',
  cancelled: 'cancelled',
  rejected: 'rejected',
  expired: 'expired without approval',
};

/** At most this many Roll back buttons (an actions block holds 25; a long list helps nobody). */
const MAX_ROLLBACK_BUTTONS = 5;

const user = (id: string) => (/^[UW][A-Z0-9]+$/.test(id) ? `<@${id}>` : esc(id));

function memberLine(id: string, r: UpgradeRequest | null, now: number): string {
  const state = memberState(r, now);
  if (!r) return `${MEMBER_ICON.missing} ${esc(id)}: no record any more`;
  const words =
    (state === 'queued' || state === 'running') && r.scheduled && r.scheduled.beforeStep === r.completedSteps
      ? `held: ${esc(r.scheduled.text)}`
      : state === 'pending-approval' || state === 'approved'
      ? 'waiting'
      : state === 'cancelled' && r.startedAt === null
        ? `not run${r.error ? `: ${esc(r.error.replace(/^not run: /, '').split('\n')[0]!)}` : ''}`
        : `${state.replace(/-/g, ' ')}${state === 'failed' && r.error ? `: ${esc(r.error.split('\n')[0]!)}` : ''}`;
  return `${MEMBER_ICON[state] ?? ''} *${esc(r.namespace)}/${esc(r.release)}* ${esc(r.plan.from)} → ${esc(r.plan.to)} (${r.plan.path}): ${words}`;
}

export function fleetCard(f: FleetRecord, members: ReadonlyMap<string, UpgradeRequest | null>, approversText: string, now: number): MessageView {
  const state = deriveFleetState(f, now);
  const total = f.waves.flat().length;
  const blocks: KnownBlock[] = [
    header(`Milvus fleet upgrade: ${f.selector} → ${f.version}`),
    section(`*${total} release(s) in ${f.waves.length} wave(s)* (${esc(f.waveMarks)}), at most ${f.maxInFlight} at once · cluster ${esc(f.cluster)}\nEach wave starts once every release of the one before succeeded; a failure halts the fleet.`),
  ];
  f.waves.forEach((wave, w) => {
    const own = f.approvalPerWave && w > 0 ? (waveApproved(f, w) ? ` (approved by ${f.waveApprovals![w]!.map((v) => user(v.by.id)).join(', ')})` : ' (needs its own approval)') : '';
    blocks.push(section([`*Wave ${w + 1}*${w === 0 ? ' (canary)' : ''}${own}`, ...wave.map((id) => memberLine(id, members.get(id) ?? null, now))].join('\n')));
  });
  if (f.refused.length > 0) blocks.push(section([`*Left out* (the others go on):`, ...f.refused.map((r) => `• ${esc(r.namespace)}/${esc(r.release)}: ${esc(r.reason.split('\n')[0]!)}`)].join('\n')));
  if (f.halted) blocks.push(section(`:octagonal_sign: *Halted:* ${esc(f.halted.reason)}. Nothing after it starts.`));
  blocks.push(context(`Requested by ${user(f.requester.id)} · ${esc(f.id)}`));
  if (state === 'pending-approval') {
    blocks.push(context(`Needs ${f.approvalsNeeded - f.approvals.length} approval(s) from ${approversText}: one approval runs every wave; expires ${slackDate(f.expiresAt)}.`));
    blocks.push(actions('fleet_decision', button(ACTIONS.fleetApprove, 'Approve the fleet', f.id, 'primary'), button(ACTIONS.fleetReject, 'Reject', f.id, 'danger')));
  } else {
    const by = f.approvals.map((v) => user(v.by.id)).join(', ');
    const decided = f.rejection ? `:no_entry: Rejected by ${user(f.rejection.by.id)}` : f.approvals.length > 0 ? `:white_check_mark: Approved by ${by}` : ':white_check_mark: No approval needed';
    blocks.push(context(`${decided} · fleet ${FLEET_WORDS[state]}${f.cancelRequested ? ` (cancel asked by ${user(f.cancelRequested.by.id)})` : ''}`));
  }
  const buttons = [];
  const awaiting = state === 'running' && !f.cancelRequested && !f.halted ? waveAwaitingVotes(f) : null;
  if (awaiting !== null) {
    blocks.push(context(`The policy asks one approval per wave: wave ${awaiting + 1} starts once ${f.approvalsNeeded - (f.waveApprovals?.[awaiting]?.length ?? 0)} more approval(s) from ${approversText} are given and the wave before succeeded.`));
    buttons.push(button(ACTIONS.fleetApproveWave, `Approve wave ${awaiting + 1}`, `${f.id}:${awaiting}`, 'primary'));
  }
  if (state === 'running' && !f.cancelRequested) {
    buttons.push(button(ACTIONS.fleetCancel, 'Cancel the fleet', f.id, 'danger', confirmDialog('Cancel the fleet?', 'Releases not started are left as they are; those upgrading now stop (what they paused is resumed).', 'Cancel it', 'Keep going')));
  }
  const failed = f.waves.flat().map((id) => members.get(id)).filter((r): r is UpgradeRequest => r !== null && r !== undefined && memberState(r, now) === 'failed' && offersRollback(r, now));
  for (const r of failed.slice(0, MAX_ROLLBACK_BUTTONS)) {
    buttons.push(button(ACTIONS.rollback, `Roll back ${r.release}`, r.id, 'danger', confirmDialog(`Roll back ${r.release}?`, `${r.release} goes back to Milvus ${r.plan.from}; the rollback is a request of its own, approved in this thread.`, 'Roll back', 'Keep it')));
  }
  if (buttons.length > 0) blocks.push(actions('fleet_after', ...buttons));
  return { text: `Fleet upgrade ${f.id} of ${f.selector} to ${f.version}: ${FLEET_WORDS[state]}`, blocks };
}
