/** Availability during a run (issue 26): the longest time without an answer, per operation. */
import { describe, expect, it } from 'vitest';
import { GapMeter, availabilityText, measureAvailability, startAvailabilityLoop } from '../../src/upgrade/runner/availability.js';
import { FakeClock, FakeMilvusAccess } from './fakes.js';
import type { PlanData } from '../../src/upgrade/data-snapshot.js';

describe('GapMeter', () => {
  it('keeps the longest time between two answers, failures in between included', () => {
    const m = new GapMeter(0);
    m.answered(1000);
    m.failedAt('4 DEADLINE_EXCEEDED');
    m.failedAt('14 UNAVAILABLE');
    m.answered(4500);
    m.answered(5500);
    expect(m.result(6000)).toEqual({ samples: 5, failed: 2, longestGapMs: 3500, firstError: '4 DEADLINE_EXCEEDED' });
  });

  it('counts the gap up to the end when the run ends unanswered', () => {
    const m = new GapMeter(0);
    m.answered(1000);
    m.failedAt('down');
    expect(m.result(9000).longestGapMs).toBe(8000);
  });
});

/** A clock whose sleeps end only when the test moves it, one interval at a time. */
class SteppedClock extends FakeClock {
  private wake: (() => void) | null = null;
  override sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      this.wake = () => {
        this.t += ms;
        resolve();
      };
      signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    });
  }
  /** Ends the sleep in progress, once the loop has reached it. */
  async tick(): Promise<void> {
    while (!this.wake) await new Promise((r) => setTimeout(r, 0));
    const wake = this.wake;
    this.wake = null;
    wake();
  }
}

describe('the availability loop', () => {
  it('samples a query and a search each interval and reports the gaps when stopped', async () => {
    const clock = new SteppedClock();
    const m = new FakeMilvusAccess();
    // query, search per tick: tick 3 fails both.
    m.samples = [true, true, true, true, false, false, true, true];
    const sampler = await m.reader.openSampler({ address: 'a:1' }, { collection: 'books', primaryField: 'id', ids: ['1'], primaryIsString: false, vectorField: 'v' });
    const loop = startAvailabilityLoop(sampler, 'books', clock, 1000);
    for (let i = 0; i < 4; i++) await clock.tick();
    const a = await loop.stop();
    expect(a.query.samples).toBe(4);
    expect(a.query).toMatchObject({ failed: 1, longestGapMs: 2000, firstError: 'DEADLINE_EXCEEDED' });
    expect(a.search).toMatchObject({ failed: 1, longestGapMs: 2000 });
    expect(availabilityText(a)).toMatch(/^collection books during the run: longest query gap 2\.0 s \(1 of \d+ failed, first: DEADLINE_EXCEEDED\); longest search gap 2\.0 s/);
  });

  it('is not started, saying why, without canaries or when Milvus does not answer', async () => {
    const clock = new FakeClock();
    const where = { namespace: 'ns', release: 'r' };
    expect(await measureAvailability(undefined, new FakeMilvusAccess(), where, clock)).toEqual({ notMeasured: 'no loaded collection with rows to read' });
    const data: PlanData = { address: 'a:1', snapshot: null, canaries: [{ collection: 'c', primaryField: 'id', ids: ['1'], primaryIsString: false, vectorField: null }], notChecked: null, required: true, withoutChecksBy: null };
    expect(await measureAvailability(data, undefined, where, clock)).toEqual({ notMeasured: 'this worker cannot read Milvus' });
    const down = new FakeMilvusAccess();
    down.reader.openSampler = async () => {
      throw new Error('14 UNAVAILABLE');
    };
    expect(await measureAvailability(data, down, where, clock)).toEqual({ notMeasured: '14 UNAVAILABLE' });
    expect(availabilityText({ notMeasured: '14 UNAVAILABLE' })).toBe('availability not measured: 14 UNAVAILABLE');
  });
});
