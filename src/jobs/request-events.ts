import type { Redis } from 'ioredis';
import type { RequestEvents } from '../upgrade/ports.js';
import type { RedisRequestStore } from './requests.js';

/** Change notifications over Redis pub/sub; `subscriber` must be a connection of its own. */
export class RedisRequestEvents implements RequestEvents {
  constructor(
    private readonly subscriber: Redis,
    private readonly store: RedisRequestStore,
  ) {}

  async subscribe(onChange: (requestId: string) => void): Promise<() => Promise<void>> {
    const channel = this.store.changedChannel();
    const listener = (ch: string, id: string) => {
      if (ch === channel) onChange(id);
    };
    this.subscriber.on('message', listener);
    await this.subscriber.subscribe(channel);
    return async () => {
      this.subscriber.off('message', listener);
      await this.subscriber.unsubscribe(channel).catch(() => {});
    };
  }
}
