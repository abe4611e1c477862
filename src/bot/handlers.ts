/**
 * What the bot does for each slash command and button, independent of the transport (HTTP or
 * Socket Mode): Bolt's listeners in app.ts only ack and call these. How it answers is in
 * replies.ts and threads.ts; what a request goes through, in the domain's lifecycle use cases.
 */
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import { UpgradeError, explainError, showInput } from '../upgrade/errors.js';
import type { FleetStore, JobQueue, RequestStore, UpgradeEngine } from '../upgrade/ports.js';
import { FLEET_ID, deriveFleetState, fleetMemberIds, type FleetRecord } from '../upgrade/fleet/fleet-record.js';
import { activeFleets, advanceFleet, approveFleet, approveWave, cancelFleet, readMembers, rejectFleet, requestFleet, sealMembers } from '../upgrade/lifecycle/fleet-lifecycle.js';
import { fleetCard } from './fleet-view.js';
import { fleetStatusText } from '../upgrade/fleet/fleet-status.js';
import type { FleetPolicy } from '../upgrade/fleet/fleet-policy.js';
import { NO_SCHEDULE, scheduleFor, type SchedulePolicy } from '../upgrade/schedule/policy.js';
import { whenToRun } from '../upgrade/schedule/when.js';
import { policyText, releaseScheduleText } from '../upgrade/schedule/describe.js';
import type { Plan } from '../upgrade/plan.js';
import { deriveState, mayCancelUnchecked, type UpgradeRequest } from '../upgrade/requests.js';
import { enqueueApproved } from '../upgrade/lifecycle/enqueue-approved.js';
import type { Sealer } from '../upgrade/seal.js';
import { requestChange } from '../upgrade/lifecycle/request-change.js';
import { approversOf, decide, type AccessRule, type Action, type AccessTarget } from './access.js';
import { helpText, parseCommand, type Command } from './commands.js';
import type { SlackGroupResolver } from './groups.js';
import { gatherHome } from './home-data.js';
import { homeErrorView, homeView } from './home.js';
import { actorOf, dropNotice, ephemeral, planningNotice, slackErrorOf, type Caller } from './replies.js';
import { restoreOf, rollbackOf, rollbackRelease, type RollbackDeps } from './rollbacks.js';
import { fleetMembers, fleetPlanText, planFleet } from '../upgrade/fleet/fleet-plan.js';
import { parseWaves } from '../upgrade/fleet/waves.js';
import { statusMessage } from './status-view.js';
import { announce, type ThreadDeps } from './threads.js';
import { changesBlocks, changesSummary, esc, planSummaryLines, stateWords } from './views.js';

/** How long a click waits for its card's ts to be recorded (the card was just posted): 3 s. */
const CARD_RECORD_TRIES = 30;
const CARD_RECORD_RETRY_MS = 100;

export interface BotDeps {
  readonly store: RequestStore;
  readonly queue: JobQueue;
  /** Seals what was approved before a worker may run it (upgrade/seal.ts). */
  readonly sealer: Sealer;
  readonly engine: UpgradeEngine;
  readonly rules: readonly AccessRule[];
  readonly groups: SlackGroupResolver;
  readonly approvals: { readonly needed: number; readonly allowSelf: boolean; readonly ttlMs: number; readonly rollbackNeeded: number };
  readonly logger: Logger;
  readonly now: () => number;
  /**
   * Whether the store's Redis connection is up right now. The bot's connection fails fast (no
   * offline queue), so nothing asked while Redis is away runs when it comes back; this lets the
   * bot say so at once instead of starting work that cannot be recorded.
   */
  readonly storeUp?: () => boolean;
  /** Fleet upgrades (issue 28); without it, /milvus fleet upgrade is refused. */
  readonly fleets?: FleetStore;
  /** How fleets are approved (the policy file's `fleets`): once, or per wave. */
  readonly fleetPolicy?: FleetPolicy;
  /** Maintenance windows and freezes (issue 28): shown by /milvus windows; a refusing freeze refuses requests at once. */
  readonly schedule?: { readonly policy: SchedulePolicy; readonly expectedHopSeconds: number; readonly now: () => number };
}

// Kept here too: tests and callers knew the status lines from this module.
export { statusComponentLines } from './status-view.js';
export type { Caller, Respond } from './replies.js';

export const REDIS_DOWN = 'Redis is unavailable; nothing was done. Try again when it is back.';
const REDIS_LOST = 'Redis became unavailable while this was being worked on; it may be half done. Look at `/milvus status` and `/milvus history` when Redis is back.';

const REDIS_STALLED = 'Redis is not answering (connected, but no reply within a few seconds). A vote, rejection or cancel that reaches it more than 5 s after it was sent is refused there, never applied late. Look at `/milvus status` once it answers, and try again if your change is not there.';

/** ioredis's error for a command with no reply within commandTimeout. */
function isCommandTimeout(err: unknown): boolean {
  return err instanceof Error && err.message === 'Command timed out';
}

const REQUEST_ID = /^req-\d{1,15}$/;

export function mentionList(ids: readonly string[]): string {
  if (ids.length === 0) return 'nobody (no approver is configured)';
  return ids.map((id) => (id === '*' ? 'anyone' : /^S[A-Z0-9]+$/.test(id) ? `<!subteam^${id}>` : `<@${id}>`)).join(', ');
}

export class BotHandlers {
  constructor(private readonly d: BotDeps) {}

  approversText(r: Pick<UpgradeRequest, 'cluster' | 'namespace' | 'release'>): string {
    return mentionList(approversOf(this.d.rules, { cluster: r.cluster, namespace: r.namespace, release: r.release }));
  }

  /** A button's value names a request; anything else is refused without being echoed whole. */
  private async requestOf(id: string): Promise<UpgradeRequest> {
    if (!REQUEST_ID.test(id)) throw new UpgradeError('bad-input', `"${showInput(id, 30)}" is not a request of this bot`);
    return this.d.store.require(id);
  }

  /**
   * A vote counts only from the request's own card (the message clicked) in its channel: an
   * old card whose id came round again after Redis lost its data, or a button copied elsewhere,
   * must not decide another request.
   */
  private async onItsCard(r: UpgradeRequest, c: Caller, clickedTs: string | undefined): Promise<void> {
    let place = r.place;
    // A card is seen, and can be clicked, a moment before its ts is recorded: wait that moment.
    for (let tries = 0; place && !place.messageTs && tries < CARD_RECORD_TRIES; tries++) {
      await new Promise((resolve) => setTimeout(resolve, CARD_RECORD_RETRY_MS));
      place = (await this.d.store.require(r.id)).place;
    }
    if (place?.messageTs && place.channel === c.channel && clickedTs === place.messageTs) return;
    throw new UpgradeError('denied', `this button is not on the card of ${r.id} (${r.release}, ${r.plan.from} → ${r.plan.to}): nothing was done; use the buttons on its own card`);
  }

  /** Checks and records an access decision; throws a person-readable denial. */
  private async allow(c: Caller, action: Action, target: AccessTarget, requestId?: string): Promise<void> {
    const groups = await this.d.groups.groupsOf(c.user);
    const decision = decide(this.d.rules, { user: c.user, groups, channel: c.channel }, action, target);
    const where = [target.cluster, target.namespace, target.release].filter(Boolean).join('/');
    const now = this.d.now();
    await this.d.store.auditAccess({ at: now, actor: actorOf(c), action, allowed: decision.allowed, target: where, reason: decision.reason });
    if (requestId) await this.d.store.audit(requestId, actorOf(c), decision.allowed ? `${action} allowed` : `${action} denied`, decision.reason, now);
    this.d.logger.info({ user: c.user, action, target: where, allowed: decision.allowed }, 'access decision');
    if (!decision.allowed) throw new UpgradeError('denied', `Not allowed: ${decision.reason}.`);
  }

  /** The answer when Redis is away (before any work), else null. */
  unavailable(): string | null {
    return this.d.storeUp && !this.d.storeUp() ? REDIS_DOWN : null;
  }

  /** What went wrong, for a person; a Redis outage mid-way says so rather than a driver's message. */
  private explain(err: unknown): string {
    if (isCommandTimeout(err)) return REDIS_STALLED;
    return this.unavailable() ? REDIS_LOST : explainError(err);
  }

  /** Parses; a bad command is answered at once (in the ack), without any work. */
  parse(text: string): { command: Command } | { refusal: string } {
    try {
      return { command: parseCommand(text) };
    } catch (err) {
      return { refusal: explainError(err) };
    }
  }

  async command(cmd: Command, given: Caller): Promise<void> {
    const c: Caller = { ...given, notice: { pending: false } };
    try {
      await this.dispatch(cmd, c);
    } catch (err) {
      this.d.logger.info({ user: c.user, command: cmd.name, err: explainError(err) }, 'command refused or failed');
      await ephemeral(c, `:warning: ${esc(this.explain(err))}`).catch(() => {});
    }
  }

  private async dispatch(cmd: Command, c: Caller): Promise<void> {
    const { engine } = this.d;
    switch (cmd.name) {
      case 'help':
        return ephemeral(c, helpText());
      case 'versions': {
        const cluster = engine.clusterName(cmd.cluster);
        await this.allow(c, 'read', { cluster });
        const versions = await engine.versions(cmd.cluster);
        return ephemeral(c, `Milvus versions in the chart repository (cluster ${esc(cluster)}):\n${versions.slice(0, 40).map((v) => `• ${esc(v.appVersion)} (chart ${esc(v.chartVersion)})`).join('\n')}`);
      }
      case 'status': {
        const target = this.target(cmd);
        await this.allow(c, 'read', target);
        const { state, running, restarts, milvus } = await engine.status(cmd.cluster, cmd.namespace, cmd.release);
        const active = await this.d.store.activeFor(target.cluster, cmd.namespace, cmd.release);
        const answer = statusMessage({ state, running, ...(restarts ? { restarts } : {}), ...(milvus ? { milvus } : {}), active: active ? { id: active.id, state: deriveState(active, this.d.now()) } : null });
        return ephemeral(c, answer.text, undefined, answer.blocks);
      }
      case 'history': {
        const target = this.target(cmd);
        await this.allow(c, 'read', target);
        const list = await this.d.store.history(target.cluster, cmd.namespace, cmd.release, 15);
        if (list.length === 0) return ephemeral(c, `No requests for ${esc(cmd.release)} yet.`);
        const now = this.d.now();
        return ephemeral(c, [`History of *${esc(cmd.release)}* (newest first):`, ...list.map((r) => `• ${esc(r.id)} ${r.kind} ${esc(r.plan.from)} → ${esc(r.plan.to)} (${r.plan.path}): *${stateWords(deriveState(r, now))}*, asked by <@${r.requester.id}>${r.approvals.length ? `, approved by ${r.approvals.map((v) => `<@${v.by.id}>`).join(', ')}` : ''}, ${new Date(r.createdAt).toISOString()}`)].join('\n'));
      }
      case 'plan': {
        await this.allow(c, 'read', this.target(cmd));
        await planningNotice(c, `Planning the upgrade of *${esc(cmd.release)}* to ${esc(cmd.version)}…`);
        const plan = await engine.planUpgrade(cmd.cluster, planInput(cmd, null));
        return ephemeral(c, [...planSummaryLines(plan), ...plan.steps.map((s, i) => `${i + 1}. ${esc(s.description)}`), changesSummary(plan), ...plan.warnings.map((w) => `:warning: ${esc(w)}`), '_This is a preview: nothing was changed._'].join('\n').slice(0, 3900));
      }
      case 'upgrade':
        return this.upgrade(cmd, c);
      case 'cancel': {
        const target = this.target(cmd);
        const active = await this.d.store.activeFor(target.cluster, cmd.namespace, cmd.release);
        if (!active) return ephemeral(c, `Nothing to cancel: ${esc(cmd.release)} has no request in progress.`);
        if (!mayCancelUnchecked(active, c.user)) await this.allow(c, 'cancel', target, active.id);
        const r = await this.d.store.requestCancel(active.id, actorOf(c), this.d.now());
        return ephemeral(c, `Cancel of ${esc(active.id)} requested: it is ${stateWords(deriveState(r, this.d.now()))}.`);
      }
      case 'rollback':
        return rollbackRelease(this.rollbacks(), cmd.cluster, this.target(cmd), c);
      case 'windows': {
        const cluster = engine.clusterName(cmd.cluster);
        const s = this.d.schedule ?? { policy: NO_SCHEDULE, expectedHopSeconds: 1800, now: this.d.now };
        if (!cmd.release) {
          await this.allow(c, 'read', { cluster });
          return ephemeral(c, esc(policyText(s.policy, s.now())));
        }
        const target = { cluster, namespace: cmd.namespace, release: cmd.release };
        await this.allow(c, 'read', target);
        return ephemeral(c, esc(releaseScheduleText(s.policy, target, s.now(), s.expectedHopSeconds)));
      }
      case 'fleet':
        if (cmd.action === 'status') return this.fleetStatus(cmd.id, c);
        return cmd.action === 'upgrade' ? this.fleetUpgrade(cmd, c) : this.fleetPlan(cmd, c);
    }
  }

  /**
   * `/milvus fleet plan`: each release the selector names, planned on its own, in waves; the
   * refused listed. Every release must be one the person may look at, or nothing is planned.
   */
  /** `/milvus fleet status [id]`: the fleet as the terminal shows it, or the fleets not ended; read access to every release. */
  private async fleetStatus(id: string | undefined, c: Caller): Promise<void> {
    const fleets = this.fleetStore();
    const now = this.d.now();
    if (!id) {
      const active = await activeFleets(fleets);
      if (active.length === 0) return ephemeral(c, 'No fleet is running or waiting for approval.');
      return ephemeral(c, [`Fleets not ended (\`/milvus fleet status <id>\` for one):`, ...active.map((f) => `• ${esc(f.id)}: ${esc(f.selector)} to ${esc(f.version)}, ${deriveFleetState(f, now).replace(/-/g, ' ')}`)].join('\n'));
    }
    const fleet = await fleets.require(id);
    const members = await readMembers(this.d.store, fleet);
    for (const r of members.values()) if (r) await this.allow(c, 'read', { cluster: r.cluster, namespace: r.namespace, release: r.release });
    return ephemeral(c, `\`\`\`${esc(fleetStatusText(fleet, members, now))}\`\`\``.slice(0, 3900));
  }

  private async fleetPlan(cmd: Extract<Command, { name: 'fleet'; action: 'plan' | 'upgrade' }>, c: Caller): Promise<void> {
    const { engine } = this.d;
    const cluster = engine.clusterName(cmd.cluster);
    await this.allow(c, 'read', { cluster });
    const members = fleetMembers(cluster, await engine.releases(cmd.cluster), cmd.selector);
    for (const m of members) await this.allow(c, 'read', m);
    await planningNotice(c, `Planning ${members.length} release(s) of *${esc(cmd.selector.text)}* to ${esc(cmd.version)}…`);
    const plan = await planFleet({ version: cmd.version, selector: cmd.selector.text, marks: parseWaves(cmd.waves), maxInFlight: cmd.maxInFlight }, members, (m) =>
      engine.planUpgrade(cmd.cluster, { release: m.release, namespace: m.namespace, version: cmd.version }),
    );
    return ephemeral(c, `${esc(fleetPlanText(plan))}\n_This is a preview: nothing was changed. \`/milvus fleet upgrade\` with the same words posts it to approve._`.slice(0, 3900));
  }

  /**
   * `/milvus fleet upgrade`: the fleet planned as `fleet plan` does, a member request per
   * release, and the fleet card in the channel; one approval there runs every wave. The person
   * must be allowed to ask for every release the selector names, or nothing is planned.
   */
  private async fleetUpgrade(cmd: Extract<Command, { name: 'fleet'; action: 'plan' | 'upgrade' }>, c: Caller): Promise<void> {
    const { engine } = this.d;
    const fleets = this.fleetStore();
    const cluster = engine.clusterName(cmd.cluster);
    await this.allow(c, 'read', { cluster });
    const members = fleetMembers(cluster, await engine.releases(cmd.cluster), cmd.selector);
    for (const m of members) await this.allow(c, 'request', m);
    await planningNotice(c, `Planning ${members.length} release(s) of *${esc(cmd.selector.text)}* to ${esc(cmd.version)}: the fleet card follows in this channel…`);
    const plan = await planFleet({ version: cmd.version, selector: cmd.selector.text, marks: parseWaves(cmd.waves), maxInFlight: cmd.maxInFlight }, members, (m) =>
      engine.planUpgrade(cmd.cluster, { release: m.release, namespace: m.namespace, version: cmd.version }),
    );
    const { needed, allowSelf, ttlMs } = this.d.approvals;
    const deps = { store: this.d.store, fleets, queue: this.d.queue, now: this.d.now };
    const fleet = await requestFleet(deps, { plan, waveMarks: cmd.waves, requester: actorOf(c), place: { channel: c.channel }, approvalsNeeded: needed, allowSelfApproval: allowSelf, ttlMs, gate: this.frozenGate(), approvalPerWave: this.d.fleetPolicy?.approvalPerWave ?? false });
    let ts: string;
    try {
      const card = fleetCard(fleet, await readMembers(this.d.store, fleet), this.fleetApproversText(fleet), this.d.now());
      ts = (await c.client.chat.postMessage({ channel: c.channel, text: card.text, blocks: card.blocks })).ts!;
    } catch (err) {
      // Nobody could approve it: ended now, every release free again.
      await rejectFleet(deps, fleet.id, { id: 'bot', via: 'worker' }).catch(() => {});
      throw new UpgradeError('preflight', `the fleet card could not be posted in this channel (${slackErrorOf(err)}): ${fleet.id} was ended, nothing was changed`);
    }
    const place = { channel: c.channel, messageTs: ts };
    await fleets.decide(fleet.id, (f) => ({ ...f, place }));
    for (const id of fleetMemberIds(fleet)) await this.d.store.setPlace(id, place);
    await dropNotice(c);
    // No vote needed (APPROVALS_NEEDED=0): it runs now.
    if (deriveFleetState(fleet, this.d.now()) === 'running') {
      await sealMembers({ ...deps, sealer: this.d.sealer }, fleet, actorOf(c));
      await advanceFleet(deps, fleet.id);
    }
  }

  private fleetStore(): FleetStore {
    if (!this.d.fleets) throw new UpgradeError('preflight', 'this bot runs no fleets (no fleet store configured)');
    return this.d.fleets;
  }

  /** Who may approve in the fleet's cluster (each member's own rules are checked at the click). */
  fleetApproversText(f: Pick<FleetRecord, 'cluster'>): string {
    return mentionList(approversOf(this.d.rules, { cluster: f.cluster }));
  }

  /** A fleet button's value names a fleet; the click counts only from the fleet's own card. */
  private async fleetOf(id: string, c: Caller, clickedTs: string | undefined, action: Action): Promise<FleetRecord> {
    if (!FLEET_ID.test(id)) throw new UpgradeError('bad-input', `"${showInput(id, 30)}" is not a fleet of this bot`);
    let fleet = await this.fleetStore().require(id);
    // Every member's release: a person who may not act on one may not act on the fleet.
    for (const [memberId, r] of await readMembers(this.d.store, fleet)) if (r) await this.allow(c, action, { cluster: r.cluster, namespace: r.namespace, release: r.release }, memberId);
    // A card is seen, and can be clicked, a moment before its ts is recorded: wait that moment.
    for (let tries = 0; !fleet.place?.messageTs && tries < CARD_RECORD_TRIES; tries++) {
      await new Promise((resolve) => setTimeout(resolve, CARD_RECORD_RETRY_MS));
      fleet = await this.fleetStore().require(id);
    }
    if (!(fleet.place?.messageTs && fleet.place.channel === c.channel && clickedTs === fleet.place.messageTs)) {
      throw new UpgradeError('denied', `this button is not on the card of ${fleet.id}: nothing was done; use the buttons on its own card`);
    }
    return fleet;
  }

  private fleetDeps() {
    return { store: this.d.store, fleets: this.fleetStore(), queue: this.d.queue, now: this.d.now, sealer: this.d.sealer };
  }

  async fleetApprove(id: string, c: Caller, threadTs?: string, clickedTs?: string): Promise<void> {
    try {
      await this.fleetOf(id, c, clickedTs, 'approve');
      const { changed } = await approveFleet(this.fleetDeps(), id, actorOf(c));
      if (!changed) return ephemeral(c, `You already approved ${esc(id)}.`, threadTs);
    } catch (err) {
      await ephemeral(c, `:warning: ${esc(this.explain(err))}`, threadTs).catch(() => {});
    }
  }

  /** "Approve wave N" (per-wave approval): the value is `<fleet id>:<wave index>`. */
  async fleetApproveWave(value: string, c: Caller, threadTs?: string, clickedTs?: string): Promise<void> {
    try {
      const m = /^(fleet-\d{1,15}):(\d{1,3})$/.exec(value);
      if (!m) throw new UpgradeError('bad-input', `"${showInput(value, 30)}" is not a wave of a fleet of this bot`);
      await this.fleetOf(m[1]!, c, clickedTs, 'approve');
      const { changed } = await approveWave(this.fleetDeps(), m[1]!, Number(m[2]), actorOf(c));
      if (!changed) return ephemeral(c, `You already approved wave ${Number(m[2]) + 1} of ${esc(m[1]!)}.`, threadTs);
    } catch (err) {
      await ephemeral(c, `:warning: ${esc(this.explain(err))}`, threadTs).catch(() => {});
    }
  }

  async fleetReject(id: string, c: Caller, threadTs?: string, clickedTs?: string): Promise<void> {
    try {
      await this.fleetOf(id, c, clickedTs, 'approve');
      await rejectFleet(this.fleetDeps(), id, actorOf(c));
    } catch (err) {
      await ephemeral(c, `:warning: ${esc(this.explain(err))}`, threadTs).catch(() => {});
    }
  }

  async fleetCancel(id: string, c: Caller, threadTs?: string, clickedTs?: string): Promise<void> {
    try {
      const fleet = await this.fleetStore().require(id);
      // The person who asked may stop their own fleet; anyone else needs the cancel right on every member.
      await this.fleetOf(id, c, clickedTs, mayCancelUnchecked(fleet, c.user) ? 'read' : 'cancel');
      await cancelFleet(this.fleetDeps(), id, actorOf(c));
    } catch (err) {
      await ephemeral(c, `:warning: ${esc(this.explain(err))}`, threadTs).catch(() => {});
    }
  }

  private target(cmd: { cluster?: string; namespace: string; release: string }): Required<AccessTarget> {
    return { cluster: this.d.engine.clusterName(cmd.cluster), namespace: cmd.namespace, release: cmd.release };
  }

  private async upgrade(cmd: Extract<Command, { name: 'upgrade' }>, c: Caller): Promise<void> {
    const target = this.target(cmd);
    await this.allow(c, 'request', target);
    // The data guard's override, and running without data checks, are an approver's to give,
    // never the requester's alone.
    if (cmd.allowDataChanges || cmd.withoutDataChecks || cmd.withoutBackup) await this.allow(c, 'approve', target);
    const active = await this.d.store.activeFor(target.cluster, cmd.namespace, cmd.release);
    if (active) throw busy(active, this.d.now());
    await planningNotice(c, `Planning the upgrade of *${esc(cmd.release)}* to ${esc(cmd.version)}: the card follows in this channel…`);
    this.refuseFrozen(target);
    const plan = await this.d.engine.planUpgrade(cmd.cluster, planInput(cmd, cmd.allowDataChanges ? c.user : null, cmd.withoutDataChecks ? c.user : null, cmd.withoutBackup ? c.user : null));
    const { needed, allowSelf, ttlMs } = this.d.approvals;
    await requestChange(this.d, { kind: 'upgrade', plan, requester: actorOf(c), place: { channel: c.channel }, approvalsNeeded: needed, allowSelfApproval: allowSelf, ttlMs }, {
      now: this.d.now,
      announce: async (request) => {
        if (!(await announce(this.threads(), request, c))) return false;
        await dropNotice(c);
        return true;
      },
    });
  }

  /** A freeze in refuse mode over the release: refused at once, saying until when (a holding one lets the request wait). */
  private refuseFrozen(target: { cluster: string; namespace: string; release: string }): void {
    const s = this.d.schedule;
    if (!s) return;
    const { windows, freezes } = scheduleFor(s.policy, target);
    const slot = whenToRun(windows, freezes, s.now(), s.expectedHopSeconds);
    if (slot.kind === 'refused') throw new UpgradeError('denied', `${target.release} is frozen: ${slot.why}. Nothing was asked; \`/milvus windows ${target.release} -n ${target.namespace}\` shows what applies.`);
  }

  /** The fleet's refusals by freeze: a member a refusing freeze covers is left out, with the reason. */
  private frozenGate(): ((plan: Plan) => void) | undefined {
    return this.d.schedule ? (plan: Plan) => this.refuseFrozen(plan) : undefined;
  }

  private threads(): ThreadDeps {
    return { store: this.d.store, logger: this.d.logger, now: this.d.now, approversText: (r) => this.approversText(r) };
  }

  /**
   * The App Home of `user`, published whenever they open the tab. Never throws (Bolt's listener
   * must not): a failure is logged and shown on the Home instead of leaving an old list up.
   */
  async home(user: string, client: WebClient): Promise<void> {
    let view;
    try {
      const down = this.unavailable();
      view = down ? homeErrorView(down, this.d.now()) : homeView(await gatherHome(this.d, user));
    } catch (err) {
      this.d.logger.warn({ user, err: explainError(err) }, 'App Home not gathered');
      view = homeErrorView(this.unavailable() ?? explainError(err), this.d.now());
    }
    try {
      await client.views.publish({ user_id: user, view });
    } catch (err) {
      this.d.logger.warn({ user, err: slackErrorOf(err) }, 'App Home not published');
    }
  }

  /** A click while Redis is away: answered at once, nothing else. */
  async refuseClick(text: string, c: Caller, threadTs?: string): Promise<void> {
    this.d.logger.warn({ user: c.user }, 'click refused: Redis unavailable');
    await ephemeral(c, `:warning: ${esc(text)}`, threadTs).catch(() => {});
  }

  /** `clickedTs`: the message whose button was clicked. */
  async approve(id: string, c: Caller, threadTs?: string, clickedTs?: string): Promise<void> {
    try {
      const r = await this.requestOf(id);
      await this.allow(c, 'approve', { cluster: r.cluster, namespace: r.namespace, release: r.release }, id);
      await this.onItsCard(r, c, clickedTs);
      const { nowApproved, changed } = await this.d.store.approve(id, actorOf(c), this.d.now());
      if (!changed) return ephemeral(c, `You already approved ${esc(id)}.`, threadTs);
      if (nowApproved) await enqueueApproved(this.d, id, actorOf(c));
    } catch (err) {
      await ephemeral(c, `:warning: ${esc(this.explain(err))}`, threadTs).catch(() => {});
    }
  }

  /** The card's "Show all changes": the whole list, to the person who asked, in the thread. */
  async showChanges(id: string, c: Caller, threadTs?: string): Promise<void> {
    try {
      const r = await this.requestOf(id);
      await this.allow(c, 'read', { cluster: r.cluster, namespace: r.namespace, release: r.release });
      await ephemeral(c, `All changes of ${r.id}`, threadTs, changesBlocks(r.plan));
    } catch (err) {
      await ephemeral(c, `:warning: ${esc(this.explain(err))}`, threadTs).catch(() => {});
    }
  }

  async reject(id: string, c: Caller, threadTs?: string, clickedTs?: string): Promise<void> {
    try {
      const r = await this.requestOf(id);
      await this.allow(c, 'approve', { cluster: r.cluster, namespace: r.namespace, release: r.release }, id);
      await this.onItsCard(r, c, clickedTs);
      await this.d.store.reject(id, actorOf(c), undefined, this.d.now());
    } catch (err) {
      await ephemeral(c, `:warning: ${esc(this.explain(err))}`, threadTs).catch(() => {});
    }
  }

  /** The Rollback button: undoes that upgrade with the rollback planned with it, if it is still the latest change. */
  async rollbackButton(id: string, c: Caller): Promise<void> {
    try {
      const original = await this.requestOf(id);
      await rollbackOf(this.rollbacks(), original, c);
    } catch (err) {
      await ephemeral(c, `:warning: ${esc(this.explain(err))}`).catch(() => {});
    }
  }

  /** The Restore button: the upgrade's backup into a new release, as a plan of its own to approve. */
  async restoreButton(id: string, c: Caller): Promise<void> {
    try {
      const original = await this.requestOf(id);
      await restoreOf(this.rollbacks(), original, c);
    } catch (err) {
      await ephemeral(c, `:warning: ${esc(this.explain(err))}`).catch(() => {});
    }
  }

  /** What the rollback flow needs of the bot (rollbacks.ts). */
  private rollbacks(): RollbackDeps {
    return { ...this.d, threads: this.threads(), allow: (c, action, target, requestId) => this.allow(c, action, target, requestId) };
  }
}

function planInput(cmd: Extract<Command, { name: 'plan' | 'upgrade' }>, allowedBy: string | null, uncheckedBy: string | null = null, unbackedBy: string | null = null) {
  return {
    release: cmd.release,
    namespace: cmd.namespace,
    version: cmd.version,
    ...(cmd.strategy ? { strategy: cmd.strategy } : {}),
    ...(cmd.chart ? { chart: cmd.chart } : {}),
    allowDataChanges: allowedBy ? { by: allowedBy } : null,
    withoutDataChecks: uncheckedBy ? { by: uncheckedBy } : null,
    withoutBackup: unbackedBy ? { by: unbackedBy } : null,
  };
}

function busy(active: UpgradeRequest, now: number): UpgradeError {
  return new UpgradeError('busy', `${active.release} already has request ${active.id} (${active.kind} to ${active.plan.to}, ${stateWords(deriveState(active, now))}, asked by <@${active.requester.id}>): wait for it or \`/milvus cancel ${active.release}\` first.`);
}
