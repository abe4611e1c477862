/**
 * Acks first. Slack gives a command or click 3 s for its ack and shows the person an error after
 * that; the work after an ack (access checks, Redis, the API server, posting the answer) has no
 * such deadline. In one event loop the two compete turn by turn, so under a burst acks waited
 * behind other requests' work (bench/RESULTS.md, ack latency: the rows with BOT_WORK_DEFER_MS=0).
 *
 * The gate holds the start of work while the receiver is busy: a request still waits for its
 * response, or one arrived less than `quietMs` ago. Work whose ack was the last thing to happen
 * starts at once (a lone command pays nothing); work caught in a burst starts when the burst is
 * over, and at most `maxDeferMs` after its turn came (BOT_WORK_CONCURRENCY), so sustained load
 * cannot starve it.
 */
import type { Server } from 'node:http';

export interface AckFirstGateOptions {
  /** The longest a piece of work waits. 0: one turn of the event loop only. */
  readonly maxDeferMs: number;
  /** How long without a new request counts as the end of a burst. */
  readonly quietMs?: number;
  readonly now?: () => number;
}

export interface AckFirstGate {
  /** Taken when the work is asked for (right after its ack): what the receiver had seen then. */
  ticket(): number;
  /** Resolves when the work may start. */
  turn(ticket: number): Promise<void>;
  /** Counts the requests of this HTTP server. */
  watch(server: Server): void;
  /** Requests received and not yet answered, now. */
  readonly waiting: number;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export function ackFirstGate(o: AckFirstGateOptions): AckFirstGate {
  const now = o.now ?? (() => performance.now());
  const quietMs = o.quietMs ?? 20;
  let waiting = 0;
  let arrivals = 0;
  let lastArrival = -Infinity;
  let wakers: Array<() => void> = [];
  const wakeAll = () => {
    if (waiting > 0) return;
    const due = wakers;
    wakers = [];
    for (const wake of due) wake();
  };
  /** Resolves when no request waits any more, or after `ms`. */
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        wakers = wakers.filter((w) => w !== wake);
        resolve();
      }, Math.max(1, ms));
      wakers.push(wake);
    });
  return {
    get waiting() {
      return waiting;
    },
    ticket: () => arrivals,
    watch(server) {
      server.on('request', (_req, res) => {
        waiting++;
        arrivals++;
        lastArrival = now();
        let counted = true;
        const answered = () => {
          if (!counted) return;
          counted = false;
          waiting--;
          // After the I/O callbacks already due: a request read in this same turn counts first.
          setImmediate(wakeAll);
        };
        res.once('finish', answered);
        res.once('close', answered);
      });
    },
    async turn(ticket) {
      // One turn first: requests whose bytes have already arrived get read and counted.
      await nextTurn();
      const deadline = now() + o.maxDeferMs;
      for (;;) {
        if (waiting === 0 && (arrivals === ticket || now() - lastArrival >= quietMs)) return;
        const left = deadline - now();
        if (left <= 0) return;
        await sleep(waiting === 0 ? Math.min(left, quietMs - (now() - lastArrival)) : left);
      }
    },
  };
}
