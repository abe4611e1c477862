/**
 * What an HTTP request to the Slack endpoint must show before its body is read (issue 25): Bolt
 * buffers up to its body limit (4 MB by default) of every POST and only then checks the
 * signature, so 96 held unsigned bodies took the process from 172 to 545 MB. Here a request
 * without Slack's signature headers, with a stale timestamp, or announcing a body over the cap is
 * answered at once and its connection closed, unread; the body limit is also given to Bolt for
 * bodies that do not announce their length.
 */
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';

/**
 * The largest body the bot accepts. The largest real payload it must take is a click on its
 * biggest card: at most 50 blocks of at most 3000 characters (Block Kit's limits, which every
 * card keeps), form-encoded. Measured (test/unit/request-gate.test.ts): 187 kB with the bot's
 * own kind of text, 638 kB if every character needed escaping; 1 MB leaves a margin over both.
 */
export const SLACK_BODY_LIMIT_BYTES = 1024 * 1024;
/** Slack's own rule: a request older than five minutes is refused (replays). */
export const MAX_TIMESTAMP_SKEW_SECONDS = 5 * 60;

export interface Refusal {
  readonly status: 400 | 401 | 411 | 413 | 503;
  readonly reason: string;
}

/**
 * Bodies admitted and not yet answered, together: a signature can only be checked once the whole
 * body is in, so a flood of forged-but-plausible requests (1 MB each, signature headers of the
 * right shape) could otherwise make the bot hold hundreds of MB. Slack's real requests are a few
 * kB (hundreds of clicks on a usual card, 20 on the biggest possible one, fit at once); past
 * this the bot answers 503 and Slack retries. Measured in bench/trust.ts.
 */
export const MAX_BODY_BYTES_IN_FLIGHT = 4 * 1024 * 1024;

/** Why a request to the Slack endpoint is refused before its body is read; null: read it. */
export function refusalBeforeBody(headers: IncomingHttpHeaders, nowSeconds: number, limitBytes = SLACK_BODY_LIMIT_BYTES): Refusal | null {
  const signature = headers['x-slack-signature'];
  const timestamp = headers['x-slack-request-timestamp'];
  if (typeof signature !== 'string' || !/^v0=[0-9a-f]{64}$/.test(signature)) return { status: 401, reason: 'no Slack signature' };
  if (typeof timestamp !== 'string' || !/^\d{1,12}$/.test(timestamp)) return { status: 401, reason: 'no Slack request timestamp' };
  if (Math.abs(nowSeconds - Number(timestamp)) > MAX_TIMESTAMP_SKEW_SECONDS) return { status: 401, reason: 'stale Slack request timestamp' };
  const length = headers['content-length'];
  if (length !== undefined) {
    if (!/^\d{1,12}$/.test(length)) return { status: 400, reason: 'bad content-length' };
    if (Number(length) > limitBytes) return { status: 413, reason: `body over ${limitBytes} bytes` };
  } else if (headers['transfer-encoding'] === undefined) {
    return { status: 411, reason: 'no content-length' };
  }
  return null;
}

export interface GateOptions {
  /** The paths Slack posts to (Bolt's endpoints). */
  readonly paths: readonly string[];
  readonly now?: () => number;
  readonly onRefused?: (refusal: Refusal) => void;
}

/**
 * Puts the check in front of every listener the server has (Bolt's): a refused request never
 * reaches them. Also bounds how long a request may take to arrive, and how many connections the
 * server holds.
 */
export function gateSlackRequests(server: Server, o: GateOptions): void {
  const listeners = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  server.removeAllListeners('request');
  const now = o.now ?? Date.now;
  let inFlight = 0;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const slack = req.method === 'POST' && o.paths.includes(path);
    let refusal = slack ? refusalBeforeBody(req.headers, Math.floor(now() / 1000)) : null;
    // Chunked bodies count at the cap (Bolt stops reading there).
    const size = slack ? Number(req.headers['content-length'] ?? SLACK_BODY_LIMIT_BYTES) : 0;
    if (!refusal && slack && inFlight + size > MAX_BODY_BYTES_IN_FLIGHT) refusal = { status: 503, reason: 'too many bodies in flight' };
    if (!refusal && slack) {
      inFlight += size;
      let counted = true;
      const release = () => {
        if (counted) inFlight -= size;
        counted = false;
      };
      res.once('finish', release);
      res.once('close', release);
    }
    if (refusal) {
      o.onRefused?.(refusal);
      // As Bolt answers a bad signature: the status alone. The body is never read: the connection
      // goes with the answer.
      res.writeHead(refusal.status, refusal.status === 503 ? { connection: 'close', 'retry-after': '1' } : { connection: 'close' });
      res.end(() => req.socket.destroy());
      return;
    }
    for (const listener of listeners) listener.call(server, req, res);
  });
  // A body dribbled in slowly holds memory and a socket: the whole request within 10 s.
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  server.maxConnections = MAX_CONNECTIONS;
}

/** Slack's requests to one bot replica come over a handful of connections; a flood does not get more. */
const MAX_CONNECTIONS = 512;
