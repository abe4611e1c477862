/**
 * Request changes -> chat.update of the plan card and the progress message in its thread.
 * Everything is re-read from the store, so a restarted bot picks up where the old one was.
 * Updates of one request are coalesced: at most one in flight, then one more with the latest.
 */
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { RequestStore } from '../upgrade/ports.js';
import { deriveState, type UpgradeRequest } from '../upgrade/requests.js';
import { offersRollback, planCard, progressMessage, type MessageView } from './views.js';

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

  private async render(id: string): Promise<void> {
    const request = await this.o.store.get(id);
    if (!request?.place) return;
    const now = this.now();
    const state = deriveState(request, now);
    const { channel, messageTs, progressTs } = request.place;
    // A rollback from the Rollback button lives in its upgrade's thread: that card is the upgrade's,
    // unless the rollback needs approval and so has a card of its own (posted in the thread).
    const ownCard = request.kind === 'upgrade' || request.rollbackOf === null || request.approvalsNeeded > 0;
    if (messageTs && ownCard && this.cardState.get(id) !== state) {
      const card = planCard(request, this.o.approversText(request), now);
      await this.o.client.chat.update({ channel, ts: messageTs, text: card.text, blocks: card.blocks });
      this.cardState.set(id, state);
    }
    if (progressTs) {
      const log = await this.o.store.log(id);
      await this.show(channel, progressTs, progressMessage(request, log, now, { canRollBack: offersRollback(request, now) }));
    }
    // The upgrade a rollback undoes loses its Rollback button.
    if (request.rollbackOf) await this.refreshOriginal(request.rollbackOf);
  }

  private async refreshOriginal(id: string): Promise<void> {
    const original = await this.o.store.get(id);
    if (!original?.place?.progressTs) return;
    const now = this.now();
    const log = await this.o.store.log(id);
    await this.show(original.place.channel, original.place.progressTs, progressMessage(original, log, now, { canRollBack: offersRollback(original, now) }));
  }

  private async show(channel: string, ts: string, view: MessageView): Promise<void> {
    const key = JSON.stringify(view);
    if (this.shown.get(ts) === key) return;
    await this.o.client.chat.update({ channel, ts, text: view.text, blocks: view.blocks });
    this.shown.set(ts, key);
  }
}
