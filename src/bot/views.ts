/**
 * Block Kit for the plan card, the progress message and the final summary. Pure functions of
 * the request and its log: a restarted bot renders exactly what the old one would have.
 */
import type { KnownBlock } from '@slack/web-api';
import { changeCounts, type ObjectChange } from '../upgrade/objects.js';
import type { Plan } from '../upgrade/plan.js';
import { backupLines, restoreOfferAt, restoreSourceLine, wayBack } from '../upgrade/backup-lines.js';
import { planDataLines, type PlanData } from '../upgrade/data-snapshot.js';
import { deriveState, isTerminal, type LogEntry, type RequestState, type UpgradeRequest } from '../upgrade/requests.js';
import { availabilityText } from '../upgrade/runner/availability.js';
import { noRollbackReason, rollbackAt, routeVersions } from '../upgrade/plan.js';
import { actions, button, confirmDialog, context, plainText, section } from './blocks.js';

export const ACTIONS = { approve: 'approve', reject: 'reject', rollback: 'rollback', restore: 'restore', showChanges: 'show_changes', fleetApprove: 'fleet_approve', fleetReject: 'fleet_reject', fleetCancel: 'fleet_cancel', fleetApproveWave: 'fleet_approve_wave' } as const;

const KIND_TITLE = { upgrade: 'Upgrade', rollback: 'Rollback', restore: 'Restore' } as const;

export interface MessageView {
  readonly text: string;
  readonly blocks: KnownBlock[];
}

/** Slack mrkdwn treats &, < and > specially; text from outside must not be able to ping or link. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const user = (id: string) => (/^[UW][A-Z0-9]+$/.test(id) ? `<@${id}>` : esc(id));

export function planSummaryLines(plan: Plan): string[] {
  const lines = [
    `*Release* \`${esc(plan.release)}\` · namespace \`${esc(plan.namespace)}\` · cluster \`${esc(plan.cluster)}\``,
    `*Milvus* ${esc(plan.from)} → *${esc(plan.to)}* · path *${plan.path}*`,
  ];
  const restoring = restoreSourceLine(plan);
  if (restoring) lines.push(`*Restore* ${esc(restoring)}`);
  if (plan.chart) lines.push(`*Chart* ${esc(plan.chart.ref)} ${esc(plan.chart.version)} (built for ${esc(plan.chart.appVersion)})${plan.image ? ` · *image* \`${esc(plan.image)}\`` : ''}`);
  else if (plan.image) lines.push(`*Image* \`${esc(plan.image)}\``);
  if (plan.hops && plan.hops.length > 0) {
    lines.push(`*Route* ${routeVersions(plan).map(esc).join(' → ')} · one approval covers every hop; each is checked (rolled out) before the next`);
    plan.hops.forEach((h, i) => lines.push(`  hop ${i + 1}: ${esc(h.from)} → ${esc(h.to)} by ${h.path}${h.chart ? ` (chart ${esc(h.chart.version)})` : ''}`));
  }
  return lines;
}

const CHANGE_MARK = { added: ':heavy_plus_sign:', removed: ':heavy_minus_sign:', changed: ':pencil2:' } as const;
/** How many changes the card lists itself; the rest is one click away. */
const CARD_CHANGES = 6;

const changeLine = (c: ObjectChange) => `${CHANGE_MARK[c.change]} ${esc(c.kind)} \`${esc(c.name)}\`: ${esc(c.detail)}`;

/** The card's short account of what the plan changes, and of the message queue. */
export function changesSummary(plan: Plan): string {
  const changes = plan.changes ?? [];
  const counts = changeCounts(changes);
  const head = `*Changes* ${plan.changes === undefined ? 'not listed for this plan' : changes.length === 0 ? 'none found' : `${counts.changed} changed · ${counts.added} added · ${counts.removed} removed`}${plan.messageQueue ? ` · ${esc(plan.messageQueue.note)}` : ''}`;
  const shown = changes.slice(0, CARD_CHANGES).map(changeLine);
  const more = changes.length > CARD_CHANGES ? [`…and ${changes.length - CARD_CHANGES} more: *Show all changes*`] : [];
  const data = plan.dataChanges ? [`:rotating_light: *Data changes allowed by ${user(plan.dataChanges.allowedBy)}*: ${esc(plan.dataChanges.risks.map((r) => `${r.subject} ${r.reason}`).join('; '))}`] : [];
  return [head, ...data, ...shown, ...more].join('\n').slice(0, 2900);
}

/** The card's data: Milvus's own view when planned, or a warning that it was not read. */
export function dataSection(data: PlanData): string {
  const [head, ...rest] = planDataLines(data);
  const first = data.notChecked ? `:warning: *Data not checked*: ${esc(head!.replace(/^data not checked: /, ''))}` : `*Data* ${esc(head!.replace(/^data: /, ''))}`;
  return [first, ...rest.map(esc)].join('\n').slice(0, 2900);
}

/** The card's backups (issue 27): each hop's, the way back by restore, or a loud warning when none can be taken. */
export function backupSection(plan: Plan): KnownBlock[] {
  const lines = backupLines(plan);
  if (lines.length === 0) return [];
  const marked = lines.map((l) => (/^backup: (NONE|REQUIRED)/.test(l) ? `:rotating_light: *${esc(l)}*` : esc(l)));
  return [section(`*Backup*\n${marked.join('\n')}`.slice(0, 2900))];
}

/** Every change, in sections that fit Slack's limits (3000 characters each, 50 blocks). */
export function changesBlocks(plan: Plan): KnownBlock[] {
  const lines = (plan.changes ?? []).map(changeLine);
  const blocks: KnownBlock[] = [section(`*All changes of ${esc(plan.id)}* (${lines.length})`)];
  let chunk = '';
  let dropped = 0;
  for (const line of lines) {
    const l = line.slice(0, 2900);
    // A first line that fills a section alone starts it: no empty section before it.
    if (chunk && chunk.length + l.length + 1 > 2900) {
      if (blocks.length >= 48) {
        dropped += 1;
        continue;
      }
      blocks.push(section(chunk));
      chunk = '';
    }
    chunk = chunk ? `${chunk}\n${l}` : l;
  }
  if (chunk && blocks.length < 49) blocks.push(section(chunk));
  else if (chunk) dropped += chunk.split('\n').length;
  if (dropped > 0) blocks.push(context(`${dropped} more not shown: \`milvus-upgrade plan ${esc(plan.release)} ${esc(plan.to)} -n ${esc(plan.namespace)} --json\` lists them all`));
  return blocks;
}

export function planCard(request: UpgradeRequest, approversText: string, now: number): MessageView {
  const { plan } = request;
  const state = deriveState(request, now);
  const title = `Milvus ${KIND_TITLE[request.kind].toLowerCase()}`;
  const head = request.kind === 'restore' ? `${title}: ${plan.restoreOf?.release ?? '?'} → new release ${plan.release} at ${plan.to}` : `${title}: ${plan.release} ${plan.from} → ${plan.to}`;
  const blocks: KnownBlock[] = [
    { type: 'header', text: plainText(head.slice(0, 150)) },
    section(planSummaryLines(plan).join('\n')),
    section(`*Steps*\n${plan.steps.map((s, i) => `${i + 1}. ${esc(s.description)}`).join('\n')}`.slice(0, 2900)),
    section(changesSummary(plan)),
    ...(plan.data ? [section(dataSection(plan.data))] : []),
    ...backupSection(plan),
  ];
  if ((plan.changes ?? []).length > 0) {
    blocks.push(actions('changes', button(ACTIONS.showChanges, 'Show all changes', request.id)));
  }
  if (plan.warnings.length > 0) blocks.push(section(`*Warnings*\n${plan.warnings.map((w) => `:warning: ${esc(w)}`).join('\n')}`.slice(0, 2900)));
  blocks.push(context(`Requested by ${user(request.requester.id)} · ${esc(request.id)} · ${esc(rollbackLine(plan))}`));
  if (state === 'pending-approval') {
    blocks.push(context(`Needs ${request.approvalsNeeded - request.approvals.length} approval(s) from ${approversText}; expires <!date^${Math.floor(request.expiresAt / 1000)}^{time}|in time>.`));
    blocks.push(actions('decision', button(ACTIONS.approve, 'Approve', request.id, 'primary'), button(ACTIONS.reject, 'Reject', request.id, 'danger')));
  } else {
    blocks.push(context(decisionText(request, state)));
  }
  return { text: `${title} of ${plan.release}: ${plan.from} → ${plan.to} (${plan.path}), ${stateWords(state)}`, blocks };
}

function decisionText(r: UpgradeRequest, state: RequestState): string {
  if (r.rejection) return `:no_entry: Rejected by ${user(r.rejection.by.id)}${r.rejection.reason ? `: ${esc(r.rejection.reason)}` : ''}`;
  if (state === 'expired') return ':hourglass: Expired without approval';
  if (state === 'cancelled' && r.approvals.length === 0) return `:octagonal_sign: Cancelled by ${user(r.cancelRequested?.by.id ?? r.requester.id)}`;
  const by = r.approvals.map((v) => user(v.by.id)).join(', ');
  return r.approvals.length > 0 ? `:white_check_mark: Approved by ${by}` : ':white_check_mark: No approval needed';
}

export function stateWords(state: RequestState): string {
  return state.replace(/-/g, ' ');
}

interface Progress {
  readonly current: { index: number; total: number; description: string } | null;
  readonly lastMessage: string | null;
  readonly finished: number;
  readonly failure: string | null;
}

export function progressOf(log: readonly LogEntry[]): Progress {
  let current: Progress['current'] = null;
  let lastMessage: string | null = null;
  let failure: string | null = null;
  const done = new Set<number>();
  for (const e of log) {
    if (e.type !== 'run') continue;
    const ev = e.event;
    if (ev.type === 'step-started') {
      current = { index: ev.index, total: ev.total, description: ev.description };
      lastMessage = null;
    } else if (ev.type === 'step-progress') lastMessage = ev.message;
    else if (ev.type === 'step-finished') {
      done.add(ev.index);
      lastMessage = ev.detail;
    } else if (ev.type === 'step-failed') failure = ev.error;
  }
  return { current, lastMessage, finished: done.size, failure };
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

const ICON: Partial<Record<RequestState, string>> = {
  'pending-approval': ':hourglass_flowing_sand:',
  approved: ':white_check_mark:',
  queued: ':inbox_tray:',
  running: ':arrows_counterclockwise:',
  'rolling-back': ':rewind:',
  succeeded: ':large_green_circle:',
  'rolled-back': ':leftwards_arrow_with_hook:',
  failed: ':red_circle:',
  cancelled: ':octagonal_sign:',
  rejected: ':no_entry:',
  expired: ':hourglass:',
};

/** The one progress message of a request, edited in place as it runs; the summary at the end. */
export function progressMessage(request: UpgradeRequest, log: readonly LogEntry[], now: number, options: { canRollBack: boolean; canRestore?: boolean }): MessageView {
  const state = deriveState(request, now);
  const p = progressOf(log);
  const what = KIND_TITLE[request.kind];
  const total = request.plan.steps.length;
  const elapsed = request.startedAt ? duration((request.finishedAt ?? now) - request.startedAt) : null;
  const lines: string[] = [];
  let headline: string;
  switch (state) {
    case 'pending-approval':
      headline = `${what} waiting for approval`;
      break;
    case 'approved':
    case 'queued':
      headline = request.scheduled ? `${what} approved, held by the maintenance window` : `${what} approved, waiting for a worker`;
      if (request.scheduled) lines.push(`:calendar: ${esc(request.scheduled.text)} · \`/milvus cancel ${esc(request.release)}\` drops it`);
      break;
    case 'running':
    case 'rolling-back': {
      const c = p.current;
      headline = c ? `${what}: step ${c.index + 1} of ${total}: ${c.description}` : `${what} starting`;
      // Held between hops: the last hop done, the next waiting for its window.
      if (request.scheduled && request.scheduled.beforeStep === request.completedSteps) lines.push(`:calendar: Next hop held: ${esc(request.scheduled.text)}`);
      if (p.lastMessage) lines.push(`Now: ${esc(p.lastMessage)}`);
      if (request.cancelRequested) lines.push(`Cancel requested by ${user(request.cancelRequested.by.id)}: stopping`);
      break;
    }
    case 'succeeded':
      headline =
        request.kind === 'restore'
          ? `Restore succeeded: ${request.release} runs Milvus ${request.plan.to} with backup ${request.plan.restoreOf?.backup ?? '?'} restored`
          : `${what} succeeded: ${request.release} runs Milvus ${request.plan.to}`;
      break;
    case 'rolled-back':
      headline = request.kind === 'rollback' ? `Rollback succeeded: ${request.release} is back on ${request.plan.to}` : `${what} was rolled back`;
      break;
    case 'failed':
      headline = `${what} failed${p.current ? ` at step ${p.current.index + 1} of ${total}` : ''}`;
      if (request.error) lines.push(esc(request.error));
      break;
    case 'cancelled':
      headline = `${what} cancelled${p.current ? ` during step ${p.current.index + 1} of ${total}` : ''}`;
      break;
    default:
      headline = `${what} ${stateWords(state)}`;
  }
  if (isTerminal(state)) lines.push(...backupOutcomeLines(request, log), ...dataOutcomeLines(request, log), ...wayBackLines(request, state));
  const meta = [`${p.finished}/${total} steps done`, ...(elapsed ? [`elapsed ${elapsed}`] : []), esc(request.id)];
  // Lines are mrkdwn already (escaped where they carry text from elsewhere): a mention in them stays one.
  const blocks: KnownBlock[] = [section(`${ICON[state] ?? ''} *${esc(headline)}*${lines.length ? `\n${lines.join('\n')}` : ''}`.slice(0, 2900)), context(meta.join(' · '))];
  if (options.canRollBack) {
    const undo = `Undo ${esc(request.id)} on ${esc(request.release)}: ${esc(rollbackAt(request.plan, request.completedSteps)?.summary ?? '')}`.slice(0, 300);
    blocks.push(actions('after', button(ACTIONS.rollback, 'Roll back', request.id, 'danger', confirmDialog('Roll back?', undo, 'Roll back', 'Keep it'))));
  } else if (options.canRestore) {
    const offer = restoreOfferAt(request.plan, request.completedSteps)!.offer;
    const text = `Plan the restore of ${esc(offer.backup)} into a NEW release ${esc(offer.into)} at Milvus ${esc(offer.version)}? It gets its own card and needs approval; ${esc(request.release)} is left as it is.`.slice(0, 300);
    blocks.push(actions('after', button(ACTIONS.restore, `Restore into ${offer.into}`.slice(0, 75), request.id, 'danger', confirmDialog('Restore into a new release?', text, 'Plan it', 'Not now'))));
  }
  // The fallback is mrkdwn too (notifications): escaped, so an error's `<!channel>` pings nobody.
  return { text: `${esc(headline)}${lines.length ? ` — ${lines[0]}` : ''}`, blocks };
}

/** The summary's backups (issue 27): each one taken, as milvus-backup reported it. */
export function backupOutcomeLines(request: UpgradeRequest, log: readonly LogEntry[]): string[] {
  const backups = request.plan.steps.flatMap((s, i) => (s.kind === 'backup' ? [i] : []));
  return log.flatMap((e) => (e.type === 'run' && e.event.type === 'step-finished' && backups.includes(e.event.index) ? [`:floppy_disk: Backup ${esc(e.event.detail.replace(/^backup /, ''))}`] : []));
}

/**
 * Where an upgrade that ended offers no rollback, the summary says why and what the way back
 * is (the restore offer); into 3.0, what the guide says to do before any 3.0 feature.
 */
export function wayBackLines(request: UpgradeRequest, state: RequestState): string[] {
  if (request.kind !== 'upgrade' || request.startedAt === null || !(state === 'succeeded' || state === 'failed' || state === 'cancelled')) return [];
  const { noRollback, after30 } = wayBack(request.plan, request.completedSteps, state === 'succeeded');
  return [...(noRollback ? [`:leftwards_arrow_with_hook: No Roll back: ${esc(noRollback)}`] : []), ...(after30 ? [`:mag: ${esc(after30)}`] : [])];
}

/** The summary's account of Milvus itself: each data gate passed, and availability during the run. */
export function dataOutcomeLines(request: UpgradeRequest, log: readonly LogEntry[]): string[] {
  const gates = request.plan.steps.flatMap((s, i) => (s.kind === 'check-data' ? [i] : []));
  const passed = log.filter((e) => e.type === 'run' && e.event.type === 'step-finished' && gates.includes(e.event.index));
  const out: string[] = [];
  const last = passed[passed.length - 1];
  if (last && last.type === 'run' && last.event.type === 'step-finished') out.push(`:white_check_mark: Data gate passed ${passed.length} of ${gates.length} time(s): ${esc(last.event.detail)}`);
  else if (request.plan.data?.notChecked) out.push(`:warning: Data not checked: ${esc(request.plan.data.notChecked)}`);
  if (request.availability) out.push(`:bar_chart: ${esc(availabilityText(request.availability))}`);
  return out;
}

/** What the card says of the way back: the rollback, each hop's on a route, or why there is none. */
export function rollbackLine(plan: Plan): string {
  if (plan.hops && plan.hops.length > 0) {
    return plan.hops
      .map((h, i) => `hop ${i + 1} (${h.from} → ${h.to}): ${h.rollback ? `rollback: ${h.rollback.summary}` : `no rollback: ${h.noRollback ?? 'none'}`}`)
      .join(' · ');
  }
  return plan.rollback ? `rollback: ${plan.rollback.summary}` : `no rollback: ${noRollbackReason(plan, plan.steps.length) ?? 'none'}`;
}

/** Where no rollback is offered, a Restore button: once an upgrade has ended after its backup before a one-way step. */
export function offersRestore(request: UpgradeRequest, now: number): boolean {
  const state = deriveState(request, now);
  return request.kind === 'upgrade' && request.startedAt !== null && (state === 'succeeded' || state === 'failed' || state === 'cancelled') && restoreOfferAt(request.plan, request.completedSteps) !== null;
}

/** A Rollback button is offered once an upgrade has ended, if it has a rollback and none was asked. */
export function offersRollback(request: UpgradeRequest, now: number): boolean {
  const state = deriveState(request, now);
  return request.kind === 'upgrade' && rollbackAt(request.plan, request.completedSteps) !== null && request.rollbackRequest === null && (state === 'succeeded' || state === 'failed' || state === 'cancelled') && request.startedAt !== null;
}
