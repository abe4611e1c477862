/**
 * Request changes -> chat.update of the plan card and the progress message in its thread.
 * Everything is re-read from the store, so a restarted bot picks up where the old one was.
 * Updates of one request are coalesced: at most one in flight, then one more with the latest.
 * Pub/sub only says when to look: active requests are also re-read periodically, so a lost
 * message still ends with the right final state. With an edit ledger (Redis), each new content
 * of a message is edited once across bot replicas, and never an older one over a newer one.
 */
import { createHash } from 'node:crypto';
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { EditLedger, FleetStore, RequestStore } from '../upgrade/ports.js';
import { FLEET_ID, fleetMemberIds, type FleetRecord } from '../upgrade/fleet/fleet-record.js';
import { fleetCard } from './fleet-view.js';
import { readMembers } from '../upgrade/lifecycle/fleet-lifecycle.js';
import { deriveState, type UpgradeRequest } from '../upgrade/requests.js';
import { offersRestore, offersRollback, planCard, progressMessage, type MessageView } from './views.js';

export interface ThreadUpdaterOptions {
  readonly client: WebClient;
  readonly store: RequestStore;
  readonly logger: Logger;
  /** Names the approvers on a card (from the access rules). */
  readonly approversText: (request: UpgradeRequest) => string;
  /** Slack allows about one update a second per message. */
  readonly minIntervalMs?: number;
  readonly now?: () => number;
  readonly onSlackError?: (method: string) => void;
  /** Shared among bot replicas: which request version (and content) each message shows. */
  readonly edits?: EditLedger;
  /** Fleet upgrades: their cards follow their members (issue 28). */
  readonly fleets?: FleetStore;
  /** Names the approvers of a fleet (every member's). */
  readonly fleetApproversText?: (fleet: FleetRecord) => string;
}

export class ThreadUpdater {
  private readonly inFlight = new Map<string, { dirty: boolean }>();
  private readonly cardState = new Map<string, string>();
  /** What each message last showed: an edit that changes nothing is not sent (rate limits). */
  private readonly shown = new Map<string, string>();
  private readonly now: () => number;

  constructor(private readonly o: ThreadUpdaterOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Schedules a refresh; returns when this and any refresh asked meanwhile are done. */
  async refresh(id: string): Promise<void> {
    const running = this.inFlight.get(id);
    if (running) {
      running.dirty = true;
      return;
    }
    const slot = { dirty: true };
    this.inFlight.set(id, slot);
    try {
      while (slot.dirty) {
        slot.dirty = false;
        await this.render(id).catch((err: unknown) => {
          this.o.onSlackError?.('chat.update');
          this.o.logger.warn({ requestId: id, err: String(err) }, 'could not update the thread');
        });
        if (slot.dirty) await new Promise((r) => setTimeout(r, this.o.minIntervalMs ?? 1000));
      }
    } finally {
      this.inFlight.delete(id);
    }
  }

  /**
   * Re-reads the requests `ids()` names every `intervalMs` (skipping those finished long ago);
   * the returned function stops it.
   */
  startRereading(ids: () => Promise<string[]>, intervalMs: number, finishedWithinMs = 3_600_000): () => void {
    let stopped = false;
    let timer: NodeJS.Timeout | null = null;
    const pass = async () => {
      try {
        const now = this.now();
        for (const id of new Set(await ids())) {
          const r = await this.o.store.get(id);
          if (!r?.place || (r.finishedAt !== null && now - r.finishedAt > finishedWithinMs)) continue;
          await this.refresh(id);
        }
      } catch (err) {
        this.o.logger.warn({ err: String(err) }, 'could not re-read the active requests');
      }
      if (!stopped) timer = setTimeout(() => void pass(), intervalMs);
    };
    timer = setTimeout(() => void pass(), intervalMs);
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }

  private async render(id: string): Promise<void> {
    if (FLEET_ID.test(id)) return this.renderFleet(id);
    // The version first: what is read after it is at least that new.
    const version = this.o.edits ? await this.o.edits.version(id) : 0;
    const request = await this.o.store.get(id);
    if (!request?.place) return;
    const now = this.now();
    const state = deriveState(request, now);
    const { channel, messageTs, progressTs } = request.place;
    // A rollback from the Rollback button lives in its upgrade's thread: that card is the upgrade's,
    // unless the rollback needs approval and so has a card of its own (posted in the thread).
    // A fleet's member has no card of its own: its place is the fleet card, drawn from the fleet.
    const ownCard = !request.fleet && (request.kind === 'upgrade' || request.rollbackOf === null || request.approvalsNeeded > 0);
    if (messageTs && ownCard && (this.o.edits || this.cardState.get(id) !== state)) {
      await this.show(channel, messageTs, planCard(request, this.o.approversText(request), now), version);
      this.cardState.set(id, state);
    }
    if (progressTs) {
      const log = await this.o.store.log(id);
      await this.show(channel, progressTs, progressMessage(request, log, now, { canRollBack: offersRollback(request, now), canRestore: offersRestore(request, now) }), version);
    }
    // The upgrade a rollback undoes loses its Rollback button.
    if (request.rollbackOf) await this.refreshOriginal(request.rollbackOf);
    if (request.fleet) void this.refresh(request.fleet.id);
    if (request.rollbackOf && !request.fleet) {
      const original = await this.o.store.get(request.rollbackOf);
      if (original?.fleet) void this.refresh(original.fleet.id);
    }
  }

  /** The fleet card, from the fleet and its members as they are now. */
  private async renderFleet(id: string): Promise<void> {
    if (!this.o.fleets) return;
    // Versions first (the fleet's, then its members'): what is read after them is at least that new.
    const version = await this.o.fleets.version(id);
    const fleet = await this.o.fleets.get(id);
    if (!fleet?.place?.messageTs) return;
    const ids = fleetMemberIds(fleet);
    const memberVersions = this.o.edits ? await Promise.all(ids.map((m) => this.o.edits!.version(m))) : [];
    const combined = version + memberVersions.reduce((a, b) => a + b, 0);
    const members = await readMembers(this.o.store, fleet);
    await this.show(fleet.place.channel, fleet.place.messageTs, fleetCard(fleet, members, this.o.fleetApproversText?.(fleet) ?? 'an approver', this.now()), combined);
  }

  private async refreshOriginal(id: string): Promise<void> {
    const version = this.o.edits ? await this.o.edits.version(id) : 0;
    const original = await this.o.store.get(id);
    if (!original?.place?.progressTs) return;
    const now = this.now();
    const log = await this.o.store.log(id);
    await this.show(original.place.channel, original.place.progressTs, progressMessage(original, log, now, { canRollBack: offersRollback(original, now), canRestore: offersRestore(original, now) }), version);
  }

  private async show(channel: string, ts: string, view: MessageView, version: number): Promise<void> {
    const key = JSON.stringify(view);
    const { edits } = this.o;
    if (!edits) {
      if (this.shown.get(ts) === key) return;
      await this.o.client.chat.update({ channel, ts, text: view.text, blocks: view.blocks });
      this.shown.set(ts, key);
      return;
    }
    // Another replica may have edited it since: the shared ledger decides, not this process.
    const hash = createHash('sha256').update(key).digest('hex');
    if (!(await edits.claimEdit(ts, version, hash))) return;
    try {
      await this.o.client.chat.update({ channel, ts, text: view.text, blocks: view.blocks });
    } catch (err) {
      await edits.releaseEdit(ts, version, hash).catch(() => {});
      throw err;
    }
  }
}
