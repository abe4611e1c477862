/**
 * The ack-first gate on a real HTTP server over loopback: work waits while a request waits for
 * its response, starts when the last one is answered (or its client goes away), and never waits
 * longer than the gate's deferral.
 */
import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ackFirstGate } from '../../src/bot/ack-first.js';

interface Harness {
  readonly server: Server;
  readonly url: string;
  /** Responses the server holds, in arrival order. */
  readonly held: ServerResponse[];
  /** Resolves when the server has received `n` requests in all. */
  received(n: number): Promise<void>;
}

const open: Server[] = [];

async function harness(gate: ReturnType<typeof ackFirstGate>): Promise<Harness> {
  const held: ServerResponse[] = [];
  const waiters: Array<() => void> = [];
  const server = createServer((req, res) => {
    req.resume();
    held.push(res);
    for (const w of waiters.splice(0)) w();
  });
  gate.watch(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  open.push(server);
  const received = async (n: number) => {
    while (held.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, held, received };
}

/** Sends a request; resolves with its status, or 0 when it was aborted. */
function send(url: string, signal?: AbortSignal): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent: false, ...(signal ? { signal } : {}) }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end('x');
  });
}

/** Whether `p` has settled once the I/O callbacks and immediates now due have run. */
async function settledSoon(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void p.then(() => (settled = true));
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  return settled;
}

afterEach(async () => {
  for (const s of open.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

describe('ack-first gate', () => {
  it('lets work start at once when nothing happened since its ack', async () => {
    const gate = ackFirstGate({ maxDeferMs: 60_000, quietMs: 60_000 });
    await harness(gate);
    expect(gate.waiting).toBe(0);
    expect(await settledSoon(gate.turn(gate.ticket()))).toBe(true);
  });

  it('starts the work of the last request as soon as it is answered, without the quiet wait', async () => {
    const gate = ackFirstGate({ maxDeferMs: 60_000, quietMs: 60_000 });
    const h = await harness(gate);
    const answer = send(h.url);
    await h.received(1);
    const work = gate.turn(gate.ticket());
    expect(await settledSoon(work), 'its own request still waits for the ack').toBe(false);
    h.held[0]!.end('ok');
    expect(await answer).toBe(200);
    await work;
    expect(gate.waiting).toBe(0);
  });

  it('holds work while requests wait, and starts it once the receiver has been quiet', async () => {
    // The gate's clock is ours: the quiet time passes when the test says so, however slow the machine.
    let clock = 0;
    const gate = ackFirstGate({ maxDeferMs: 60_000, quietMs: 80, now: () => clock });
    const h = await harness(gate);
    const ticket = gate.ticket();
    const answers = [send(h.url), send(h.url)];
    await h.received(2);
    expect(gate.waiting).toBe(2);
    const work = gate.turn(ticket);
    expect(await settledSoon(work)).toBe(false);
    h.held[0]!.end('ok');
    expect(await answers[0]).toBe(200);
    expect(gate.waiting).toBe(1);
    expect(await settledSoon(work), 'one request still waits for its ack').toBe(false);
    h.held[1]!.end('ok');
    expect(await answers[1]).toBe(200);
    expect(gate.waiting).toBe(0);
    clock += 79;
    expect(await settledSoon(work), 'requests arrived after the ticket, less than the quiet time ago: the burst may go on').toBe(false);
    clock += 1;
    await work;
  });

  it('counts a request whose client went away as answered', async () => {
    const gate = ackFirstGate({ maxDeferMs: 60_000, quietMs: 60_000 });
    const h = await harness(gate);
    const abort = new AbortController();
    const answer = send(h.url, abort.signal);
    await h.received(1);
    const work = gate.turn(gate.ticket());
    expect(await settledSoon(work)).toBe(false);
    abort.abort();
    expect(await answer).toBe(0);
    await work;
    expect(gate.waiting).toBe(0);
  });

  it('never holds work longer than its deferral, even if requests keep waiting', async () => {
    const gate = ackFirstGate({ maxDeferMs: 50, quietMs: 60_000 });
    const h = await harness(gate);
    void send(h.url);
    await h.received(1);
    const t0 = performance.now();
    await gate.turn(gate.ticket());
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
    expect(gate.waiting, 'the request is still unanswered').toBe(1);
    h.held[0]!.end('ok');
  });

  it('with no deferral, only waits one turn of the event loop', async () => {
    const gate = ackFirstGate({ maxDeferMs: 0 });
    const h = await harness(gate);
    void send(h.url);
    await h.received(1);
    expect(await settledSoon(gate.turn(gate.ticket()))).toBe(true);
    h.held[0]!.end('ok');
  });
});
