/**
 * What the bot does for each slash command and button, independent of the transport (HTTP or
 * Socket Mode): Bolt's listeners in app.ts only ack and call these.
 */
import type { KnownBlock, WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import { UpgradeError, explainError, showInput } from '../upgrade/errors.js';
import type { JobQueue, RequestStore, UpgradeEngine } from '../upgrade/ports.js';
import { deriveState, type Actor, type UpgradeRequest } from '../upgrade/requests.js';
import { rollbackPlanFor } from '../upgrade/planner/rollback.js';
import { differencesSince, latestChange, rollbackRefusal } from '../upgrade/planner/rollback-consent.js';
import { fingerprint, type Plan } from '../upgrade/plan.js';
import { approversOf, decide, type AccessRule, type Action, type AccessTarget } from './access.js';
import { helpText, parseCommand, type Command } from './commands.js';
import type { SlackGroupResolver } from './groups.js';
import { gatherHome } from './home-data.js';
import { homeErrorView, homeView } from './home.js';
import { statusMessage } from './status-view.js';
import { changesBlocks, changesSummary, esc, planCard, planSummaryLines, progressMessage, stateWords } from './views.js';

export interface BotDeps {
  readonly store: RequestStore;
  readonly queue: JobQueue;
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
}

// Kept here too: tests and callers knew the status lines from this module.
export { statusComponentLines } from './status-view.js';

export const REDIS_DOWN = 'Redis is unavailable; nothing was done. Try again when it is back.';
const REDIS_LOST = 'Redis became unavailable while this was being worked on; it may be half done. Look at `/milvus status` and `/milvus history` when Redis is back.';

/** Bolt's `respond`: a post to the command's or click's response_url. */
export type Respond = (message: { text?: string; blocks?: KnownBlock[]; response_type?: 'ephemeral'; replace_original?: boolean; delete_original?: boolean }) => Promise<unknown>;

export interface Caller {
  readonly user: string;
  readonly userName?: string;
  readonly channel: string;
  readonly client: WebClient;
  /**
   * The response_url of the command or click. A command is answered there first: it works in DMs
   * and in channels the bot is not in, where Slack refuses chat.postEphemeral.
   */
  readonly respond?: Respond;
  /** What was answered: a click's answer goes in its thread (postEphemeral), else the response_url. */
  readonly source?: 'command' | 'click';
  /**
   * Set while a "planning…" notice posted through the response_url waits to be replaced: the next
   * answer takes its place (Slack's replace_original) instead of piling up under it.
   */
  readonly notice?: { pending: boolean };
}

const REQUEST_ID = /^req-\d{1,15}$/;

const actorOf = (c: Caller): Actor => ({ id: c.user, ...(c.userName ? { name: c.userName } : {}), via: 'slack' });

/**
 * A private answer to the person who asked. Commands: through their response_url, falling back to
 * chat.postEphemeral. Clicks: chat.postEphemeral in the card's thread (the bot posted the card, so
 * it is in that channel), falling back to the response_url when Slack refuses it.
 */
async function ephemeral(c: Caller, text: string, thread_ts?: string, blocks?: KnownBlock[]): Promise<void> {
  const viaResponseUrl = async () => {
    const replace = c.notice?.pending === true;
    await c.respond!({ text, ...(blocks ? { blocks } : {}), response_type: 'ephemeral', replace_original: replace });
    if (c.notice) c.notice.pending = false;
  };
  const viaApi = async () => {
    await c.client.chat.postEphemeral({ channel: c.channel, user: c.user, text, ...(blocks ? { blocks } : {}), ...(thread_ts ? { thread_ts } : {}) });
  };
  const [first, second] = c.respond && c.source !== 'click' ? [viaResponseUrl, viaApi] : [viaApi, c.respond ? viaResponseUrl : null];
  try {
    await first();
  } catch (err) {
    if (!second) throw err;
    await second();
  }
}

/** The Web API's error code of a failed call (`not_in_channel`, `channel_not_found`...), else the message. */
function slackErrorOf(err: unknown): string {
  const code = (err as { data?: { error?: unknown } } | null)?.data?.error;
  return typeof code === 'string' ? code : err instanceof Error ? err.message : String(err);
}

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
        const { state, running, restarts } = await engine.status(cmd.cluster, cmd.namespace, cmd.release);
        const active = await this.d.store.activeFor(target.cluster, cmd.namespace, cmd.release);
        const answer = statusMessage({ state, running, ...(restarts ? { restarts } : {}), active: active ? { id: active.id, state: deriveState(active, this.d.now()) } : null });
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
        if (active.requester.id !== c.user) await this.allow(c, 'cancel', target, active.id);
        const r = await this.d.store.requestCancel(active.id, actorOf(c), this.d.now());
        return ephemeral(c, `Cancel of ${esc(active.id)} requested: it is ${stateWords(deriveState(r, this.d.now()))}.`);
      }
      case 'rollback':
        return this.rollbackRelease(cmd, c);
    }
  }

  private target(cmd: { cluster?: string; namespace: string; release: string }): Required<AccessTarget> {
    return { cluster: this.d.engine.clusterName(cmd.cluster), namespace: cmd.namespace, release: cmd.release };
  }

  private async upgrade(cmd: Extract<Command, { name: 'upgrade' }>, c: Caller): Promise<void> {
    const target = this.target(cmd);
    await this.allow(c, 'request', target);
    // The data guard's override is an approver's to give, never the requester's alone.
    if (cmd.allowDataChanges) await this.allow(c, 'approve', target);
    const active = await this.d.store.activeFor(target.cluster, cmd.namespace, cmd.release);
    if (active) throw busy(active, this.d.now());
    await planningNotice(c, `Planning the upgrade of *${esc(cmd.release)}* to ${esc(cmd.version)}: the card follows in this channel…`);
    const plan = await this.d.engine.planUpgrade(cmd.cluster, planInput(cmd, cmd.allowDataChanges ? c.user : null));
    const request = await this.d.store.create(
      { kind: 'upgrade', plan, requester: actorOf(c), place: { channel: c.channel }, approvalsNeeded: this.d.approvals.needed, allowSelfApproval: this.d.approvals.allowSelf, ttlMs: this.d.approvals.ttlMs },
      this.d.now(),
    );
    if (plan.dataChanges) {
      await this.d.store.audit(request.id, actorOf(c), 'allow-data-changes', plan.dataChanges.risks.map((r) => `${r.subject} ${r.reason}`).join('; '), this.d.now());
    }
    try {
      await this.postThread(request, c);
    } catch (err) {
      return this.abandon(request, c, err);
    }
    await dropNotice(c);
    if (this.d.approvals.needed === 0) await this.enqueue(request.id, actorOf(c));
  }

  /**
   * The plan card could not be posted (the bot is not in the channel, a DM...): nobody could
   * approve the request, so it ends now and frees the release; the person is told why.
   */
  private async abandon(request: UpgradeRequest, c: Caller, err: unknown): Promise<void> {
    const why = slackErrorOf(err);
    this.d.logger.warn({ request: request.id, channel: c.channel, err: why }, 'plan card not posted; request ended');
    await this.d.store.setPhase(request.id, 'failed', actorOf(c), { error: `the plan card could not be posted in ${c.channel}: ${why}`, finishedAt: this.d.now() });
    const hint = /not_in_channel|channel_not_found/.test(why) ? ' Invite the bot to this channel (`/invite @milvus-upgrade-bot`) or ask in a channel it is in.' : '';
    await ephemeral(c, `:warning: I could not post the plan card here (${esc(why)}), so ${esc(request.id)} was ended and ${esc(request.release)} is free again; nothing was changed.${hint}`);
  }

  /** Posts the card and, in its thread, the progress message; records both in the request. */
  private async postThread(request: UpgradeRequest, c: Caller, threadTs?: string): Promise<void> {
    const now = this.d.now();
    let messageTs = threadTs;
    if (!threadTs) {
      const card = planCard(request, this.approversText(request), now);
      const posted = await c.client.chat.postMessage({ channel: c.channel, text: card.text, blocks: card.blocks });
      messageTs = posted.ts!;
      await this.d.store.setPlace(request.id, { channel: c.channel, messageTs });
    }
    const view = progressMessage(request, [], now, { canRollBack: false });
    const progress = await c.client.chat.postMessage({ channel: c.channel, thread_ts: messageTs, text: view.text, blocks: view.blocks });
    await this.d.store.setPlace(request.id, { channel: c.channel, messageTs: messageTs!, progressTs: progress.ts! });
  }

  private async enqueue(id: string, actor: Actor): Promise<void> {
    await this.d.store.setPhase(id, 'queued', actor);
    await this.d.queue.enqueue(id);
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

  async approve(id: string, c: Caller, threadTs?: string): Promise<void> {
    try {
      const r = await this.requestOf(id);
      await this.allow(c, 'approve', { cluster: r.cluster, namespace: r.namespace, release: r.release }, id);
      const { nowApproved, changed } = await this.d.store.approve(id, actorOf(c), this.d.now());
      if (!changed) return ephemeral(c, `You already approved ${esc(id)}.`, threadTs);
      if (nowApproved) await this.enqueue(id, actorOf(c));
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

  async reject(id: string, c: Caller, threadTs?: string): Promise<void> {
    try {
      const r = await this.requestOf(id);
      await this.allow(c, 'approve', { cluster: r.cluster, namespace: r.namespace, release: r.release }, id);
      await this.d.store.reject(id, actorOf(c), undefined, this.d.now());
    } catch (err) {
      await ephemeral(c, `:warning: ${esc(this.explain(err))}`, threadTs).catch(() => {});
    }
  }

  /** The Rollback button: undoes that upgrade with the rollback planned with it, if it is still the latest change. */
  async rollbackButton(id: string, c: Caller): Promise<void> {
    try {
      const original = await this.requestOf(id);
      await this.rollbackOf(original, c);
    } catch (err) {
      await ephemeral(c, `:warning: ${esc(this.explain(err))}`).catch(() => {});
    }
  }

  private async rollbackRelease(cmd: Extract<Command, { name: 'rollback' }>, c: Caller): Promise<void> {
    const target = this.target(cmd);
    await this.allow(c, 'rollback', target);
    const latest = latestChange(await this.d.store.history(target.cluster, cmd.namespace, cmd.release, 50));
    // The bot's own latest change is undone by the rollback planned with it, or not at all; only a
    // release the bot never changed gets a rollback planned from what the cluster shows.
    if (latest) return this.rollbackOf(latest, c);
    await planningNotice(c, `Planning the rollback of *${esc(cmd.release)}*…`);
    const plan = await this.d.engine.planRollback(cmd.cluster, cmd.namespace, cmd.release);
    await this.startRollback(plan, c, null);
    await dropNotice(c);
  }

  /**
   * Undoes `original` when it is the release's latest change and the release is still what it
   * left. Access follows the request's own channel (where the rollback is posted) as well as the
   * caller's.
   */
  private async rollbackOf(original: UpgradeRequest, c: Caller): Promise<void> {
    const target = { cluster: original.cluster, namespace: original.namespace, release: original.release };
    const thread = original.place?.messageTs;
    await this.allow(c, 'rollback', target, original.id);
    const home = original.place?.channel;
    if (home && home !== c.channel) await this.allow({ ...c, channel: home }, 'rollback', target, original.id);
    const now = this.d.now();
    const history = await this.d.store.history(original.cluster, original.namespace, original.release, 50);
    const asked = original.rollbackRequest ? await this.d.store.get(original.rollbackRequest) : null;
    const refusal = rollbackRefusal(original, history, asked, now);
    if (refusal) return ephemeral(c, `${esc(refusal)}.`, thread);
    const { state } = await this.d.engine.status(original.cluster, original.namespace, original.release);
    const differences = differencesSince(original.leftBehind, state);
    if (differences.length > 0) {
      throw new UpgradeError('drift', `${original.release} changed since ${original.id} finished: nothing was rolled back`, [...differences, 'look at the release (/milvus status), then ask for a new plan']);
    }
    // Checked again by the worker before it runs: against what the upgrade left, or, when that
    // was not recorded, against the release as it is now.
    const plan = { ...rollbackPlanFor(original.plan, original.completedSteps)!, observed: original.leftBehind ?? fingerprint(state) };
    await this.startRollback(plan, c, original);
  }

  private async startRollback(plan: Plan, c: Caller, original: UpgradeRequest | null): Promise<void> {
    const needed = this.d.approvals.rollbackNeeded;
    const channel = original?.place?.channel ?? c.channel;
    let request: UpgradeRequest;
    try {
      request = await this.d.store.create(
        // Never the asker's own vote: undoing a change is a change.
        { kind: 'rollback', plan, requester: actorOf(c), place: { channel }, approvalsNeeded: needed, allowSelfApproval: false, ttlMs: this.d.approvals.ttlMs, rollbackOf: original?.id ?? null },
        this.d.now(),
      );
    } catch (err) {
      // A double click: the first click's rollback holds the release.
      if (err instanceof UpgradeError && err.code === 'busy') return ephemeral(c, esc(err.message), original?.place?.messageTs);
      throw err;
    }
    if (original) await this.d.store.linkRollback(original.id, request.id);
    const thread = original?.place?.messageTs;
    try {
      if (needed > 0 && thread) await this.postCardInThread(request, { ...c, channel }, thread);
      else await this.postThread(request, { ...c, channel }, thread);
    } catch (err) {
      return this.abandon(request, { ...c, channel }, err);
    }
    if (needed === 0) await this.enqueue(request.id, actorOf(c));
  }

  /** A rollback that needs approval gets its own card (with the buttons) inside the upgrade's thread. */
  private async postCardInThread(request: UpgradeRequest, c: Caller, threadTs: string): Promise<void> {
    const now = this.d.now();
    const card = planCard(request, this.approversText(request), now);
    const posted = await c.client.chat.postMessage({ channel: c.channel, thread_ts: threadTs, text: card.text, blocks: card.blocks });
    await this.d.store.setPlace(request.id, { channel: c.channel, messageTs: posted.ts! });
    const view = progressMessage(request, [], now, { canRollBack: false });
    const progress = await c.client.chat.postMessage({ channel: c.channel, thread_ts: threadTs, text: view.text, blocks: view.blocks });
    await this.d.store.setPlace(request.id, { channel: c.channel, messageTs: posted.ts!, progressTs: progress.ts! });
  }
}

/**
 * Plans render on a worker and may take seconds: the person is told at once, through the
 * response_url, and the answer replaces the notice. Without a response_url there is nothing to
 * replace later (chat.postEphemeral messages cannot be edited), so nothing is said.
 */
async function planningNotice(c: Caller, text: string): Promise<void> {
  if (!c.respond || !c.notice) return;
  try {
    await c.respond({ text: `:hourglass_flowing_sand: ${text}`, response_type: 'ephemeral', replace_original: false });
    c.notice.pending = true;
  } catch {
    // The notice is a courtesy; the answer still comes (through chat.postEphemeral if need be).
  }
}

/** The card is the answer: the notice that announced it goes. */
async function dropNotice(c: Caller): Promise<void> {
  if (!c.notice?.pending || !c.respond) return;
  c.notice.pending = false;
  await c.respond({ delete_original: true }).catch(() => {});
}

function planInput(cmd: Extract<Command, { name: 'plan' | 'upgrade' }>, allowedBy: string | null) {
  return {
    release: cmd.release,
    namespace: cmd.namespace,
    version: cmd.version,
    ...(cmd.strategy ? { strategy: cmd.strategy } : {}),
    ...(cmd.chart ? { chart: cmd.chart } : {}),
    allowDataChanges: allowedBy ? { by: allowedBy } : null,
  };
}

function busy(active: UpgradeRequest, now: number): UpgradeError {
  return new UpgradeError('busy', `${active.release} already has request ${active.id} (${active.kind} to ${active.plan.to}, ${stateWords(deriveState(active, now))}, asked by <@${active.requester.id}>): wait for it or \`/milvus cancel ${active.release}\` first.`);
}
