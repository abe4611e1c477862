/** Issue 25, item 10: the access audit list (refusals of anyone who types a command) is bounded. */
import { describe, expect, it } from 'vitest';
import { ACCESS_AUDIT_KEEP } from '../../src/jobs/requests.js';
import { storePerTest } from './store-per-test.js';

describe('the access audit list', () => {
  const t = storePerTest();

  it(`keeps the newest ${ACCESS_AUDIT_KEEP} decisions, dropping the oldest`, async () => {
    const total = ACCESS_AUDIT_KEEP + 25;
    for (let i = 0; i < total; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, total - i) }, (_, j) =>
          t.store.auditAccess({ at: i + j, actor: { id: `U0STRANGER${i + j}`, via: 'slack' }, action: 'upgrade', allowed: false, target: 'c/ns/r', reason: 'no rule names them' }),
        ),
      );
    }
    const log = await t.store.accessLog();
    expect(log).toHaveLength(ACCESS_AUDIT_KEEP);
    expect(log.at(-1)!.actor.id).toBe(`U0STRANGER${total - 1}`);
    expect(log.some((e) => e.actor.id === 'U0STRANGER0')).toBe(false);
  });
});
