import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from '../upgrade/ports.js';

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(ms, undefined, { signal }),
  timer: (ms, signal) => delay(ms, undefined, { signal }),
};
