/**
 * Issue 25, item 5: a Redis that stalls (connected, not answering) with a vote already on the
 * wire. Before, the vote landed whenever Redis woke up, minutes later; the bot's store now sends
 * each record change with the latest Redis time it may land, and Redis refuses it after that. A
 * private redis-server on its own loopback port is stopped (SIGSTOP) and continued (SIGCONT).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisRequestStore } from '../../src/jobs/requests.js';
import type { Actor, UpgradeRequest } from '../../src/upgrade/requests.js';
import { freePort, ping, startRedis } from '../e2e/private-redis.js';
import { fakePlan } from './plans.js';

const alice: Actor = { id: 'U0ALICE', via: 'slack' };
const bob: Actor = { id: 'U0BOB', via: 'slack' };

async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  for (const deadline = Date.now() + ms; !(await check()); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

describe('a record change sent just before Redis stalls', () => {
  let server: ChildProcess;
  let port: number;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mub-stall-'));
    port = await freePort();
    server = startRedis(port, dir);
    await until('the private redis', () => ping(port));
  });
  afterAll(async () => {
    if (server.pid) process.kill(server.pid, 'SIGCONT');
    server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  /** A vote whose write is on the wire when Redis stops; Redis continues after `stalledMs`. */
  async function voteIntoAStall(writeWithinMs: number | undefined, stalledMs: number): Promise<{ error: unknown; after: UpgradeRequest }> {
    const conn = new Redis(`redis://127.0.0.1:${port}`, { commandTimeout: 300, maxRetriesPerRequest: 0 }).on('error', () => {});
    const reader = new Redis(`redis://127.0.0.1:${port}`).on('error', () => {});
    try {
      const prefix = `stall-${Math.random().toString(36).slice(2)}:`;
      const store = new RedisRequestStore(conn, prefix, {}, writeWithinMs === undefined ? {} : { writeWithinMs });
      const req = await store.create({ kind: 'upgrade', plan: fakePlan('stalled'), requester: alice, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 3_600_000 });
      const error = await store
        .update(req.id, (r) => {
          // Between the read and the write: the write goes out to a Redis that no longer answers.
          process.kill(server.pid!, 'SIGSTOP');
          return { ...r, approvals: [{ by: bob, at: Date.now() }] };
        })
        .then(() => null, (e: unknown) => e);
      await new Promise((r) => setTimeout(r, stalledMs));
      process.kill(server.pid!, 'SIGCONT');
      await until('Redis to answer again', () => ping(port));
      const readBack = new RedisRequestStore(reader, prefix);
      return { error, after: await readBack.require(req.id) };
    } finally {
      conn.disconnect();
      reader.disconnect();
    }
  }

  it('without a limit (the hazard): the vote times out for the clicker, then lands when Redis wakes up', async () => {
    const { error, after } = await voteIntoAStall(undefined, 1500);
    expect((error as Error).message).toBe('Command timed out');
    expect(after.approvals.map((v) => v.by.id)).toEqual([bob.id]);
  });

  it('with the bot\'s limit: Redis wakes up past it and refuses the vote; nothing changed', async () => {
    const { error, after } = await voteIntoAStall(1000, 1500);
    expect((error as Error).message).toBe('Command timed out');
    expect(after.approvals).toEqual([]);
  });

  it('with the bot\'s limit, a short stall inside it: the vote lands', async () => {
    const { after } = await voteIntoAStall(3000, 600);
    expect(after.approvals.map((v) => v.by.id)).toEqual([bob.id]);
  });
});
