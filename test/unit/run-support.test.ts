/**
 * A step's wait holds its deadline and its cancel even when a read of the cluster hangs (a hung
 * API server): before, the wait awaited the read and ran for as long as the read took.
 */
import { describe, expect, it } from 'vitest';
import { Cancelled, UpgradeError } from '../../src/upgrade/errors.js';
import { waitFor } from '../../src/upgrade/runner/run-support.js';
import { fakePorts, stepContext as context } from './fakes.js';

const never = () => new Promise<never>(() => {});
const timeout = (last: string) => new UpgradeError('timeout', `did not roll out within 2s (${last})`);
const macrotask = () => new Promise((r) => setTimeout(r, 0));

describe('waitFor: a read that hangs', () => {
  it('is given up at the deadline: the step times out, saying the read did not answer', async () => {
    const ports = fakePorts();
    let reads = 0;
    const wait = waitFor(context(ports), 2, async () => (++reads === 1 ? { value: null, text: '0/1 ready' } : never()), timeout, { watched: false });
    const outcome = wait.then(() => 'finished', (err: unknown) => err);
    // The first read answers and the wait polls (the fake clock moves 1 s); the second hangs.
    await macrotask();
    expect(reads).toBe(2);
    expect(ports.clock.pendingTimers).toBe(1);
    ports.clock.advance(3_000);
    const err = (await outcome) as UpgradeError;
    expect(err).toBeInstanceOf(UpgradeError);
    expect(err.code).toBe('timeout');
    expect(err.message).toBe('did not roll out within 2s (0/1 ready; the last read of the cluster did not answer)');
  });

  it('is given up on cancel at once, with Cancelled', async () => {
    const ports = fakePorts();
    const cancel = new AbortController();
    const outcome = waitFor(context(ports, cancel.signal), 600, never, timeout).then(() => 'finished', (err: unknown) => err);
    await macrotask();
    cancel.abort();
    expect(await outcome).toBeInstanceOf(Cancelled);
    expect(ports.clock.pendingTimers).toBe(0);
  });

  it('a read that answers leaves no deadline timer behind', async () => {
    const ports = fakePorts();
    let reads = 0;
    const value = await waitFor(context(ports), 60, async () => (++reads < 3 ? { value: null, text: 'waiting' } : { value: 'ok', text: 'done' }), timeout, { watched: false });
    expect(value).toBe('ok');
    expect(ports.clock.pendingTimers).toBe(0);
    expect(ports.clock.sleeps).toEqual([1000, 1000]);
  });
});
