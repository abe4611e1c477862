/**
 * Waits woken by the API server instead of a poll per wait: one watch on the Deployments and one
 * on the pods of each release being waited on, shared by every wait of that release and closed
 * when none has asked for a while. A wait still reads the state with a GET (fresh, never a
 * cache that could predate the bot's own patch); the watch only says when reading again is worth
 * it. Every gap in what the watch sees (start, restart after the server closes it, an error)
 * counts as a change, so a missed event costs at most one extra read, never a stuck wait.
 */
import * as k8s from '@kubernetes/client-node';
import type { ReleaseChanges } from '../upgrade/ports.js';
import { milvusSelector } from './kube-workloads.js';

interface Watched {
  seq: number;
  lastUsed: number;
  readonly waiters: Set<() => void>;
  readonly stops: Array<() => void>;
  closed: boolean;
}

export interface ReleaseWatchOptions {
  /** A watch no wait has used for this long is closed. */
  readonly idleMs?: number;
  /** How long to wait before reopening a watch that failed. */
  readonly retryMs?: number;
  /** Called on every watch event (benchmarks count them); never throws into the watch. */
  readonly onEvent?: (what: 'deployments' | 'pods', phase: string) => void;
}

export class KubernetesReleaseWatch implements ReleaseChanges {
  private readonly watched = new Map<string, Watched>();
  private readonly watch: k8s.Watch;
  private readonly idleMs: number;
  private readonly retryMs: number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    kc: k8s.KubeConfig,
    private readonly o: ReleaseWatchOptions = {},
  ) {
    this.watch = new k8s.Watch(kc);
    this.idleMs = o.idleMs ?? 60_000;
    this.retryMs = o.retryMs ?? 1000;
    this.sweeper = setInterval(() => this.closeIdle(), Math.min(this.idleMs, 10_000));
    this.sweeper.unref();
  }

  mark(namespace: string, release: string): number {
    const w = this.open(namespace, release);
    w.lastUsed = Date.now();
    return w.seq;
  }

  async after(namespace: string, release: string, mark: number, maxMs: number, signal?: AbortSignal): Promise<void> {
    const w = this.open(namespace, release);
    w.lastUsed = Date.now();
    if (w.seq > mark) return;
    if (signal?.aborted) throw signal.reason ?? new Error('aborted');
    await new Promise<void>((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        w.waiters.delete(finish);
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        clearTimeout(timer);
        w.waiters.delete(finish);
        reject(signal?.reason ?? new Error('aborted'));
      };
      const timer = setTimeout(finish, Math.max(1, maxMs));
      w.waiters.add(finish);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    w.lastUsed = Date.now();
  }

  /** Closes every watch (process shutdown). */
  close(): void {
    clearInterval(this.sweeper);
    for (const [key, w] of this.watched) this.stop(key, w);
  }

  /** How many releases are watched now (for tests and benchmarks). */
  get size(): number {
    return this.watched.size;
  }

  private open(namespace: string, release: string): Watched {
    const key = `${namespace}/${release}`;
    let w = this.watched.get(key);
    if (w) return w;
    w = { seq: 0, lastUsed: Date.now(), waiters: new Set(), stops: [], closed: false };
    this.watched.set(key, w);
    const selector = milvusSelector(release);
    this.follow(w, 'deployments', `/apis/apps/v1/namespaces/${namespace}/deployments`, selector);
    this.follow(w, 'pods', `/api/v1/namespaces/${namespace}/pods`, selector);
    return w;
  }

  private changed(w: Watched): void {
    w.seq++;
    for (const wake of [...w.waiters]) wake();
  }

  /** Keeps one watch open on `path` for as long as `w` is watched, reopening it when it ends. */
  private follow(w: Watched, what: 'deployments' | 'pods', path: string, labelSelector: string): void {
    let controller: AbortController | null = null;
    let retry: NodeJS.Timeout | null = null;
    const start = () => {
      if (w.closed) return;
      this.watch
        .watch(
          path,
          { labelSelector },
          (phase) => {
            try {
              this.o.onEvent?.(what, phase);
            } catch {
              // A counter's bug must not stop the watch.
            }
            this.changed(w);
          },
          () => {
            // Ended (the server closes watches every few minutes) or failed: whatever happened
            // meanwhile is unseen, so waits read again, and the watch reopens.
            controller = null;
            this.changed(w);
            if (!w.closed) retry = setTimeout(start, this.retryMs);
          },
        )
        .then(
          (c) => {
            controller = c;
            if (w.closed) c.abort();
          },
          () => {
            this.changed(w);
            if (!w.closed) retry = setTimeout(start, this.retryMs);
          },
        );
    };
    w.stops.push(() => {
      if (retry) clearTimeout(retry);
      controller?.abort();
    });
    start();
  }

  private stop(key: string, w: Watched): void {
    w.closed = true;
    for (const s of w.stops) s();
    // Nobody may be left waiting on a watch that is gone.
    this.changed(w);
    this.watched.delete(key);
  }

  private closeIdle(): void {
    const now = Date.now();
    for (const [key, w] of this.watched) if (w.waiters.size === 0 && now - w.lastUsed > this.idleMs) this.stop(key, w);
  }
}
