import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/upgrade/errors.js';
import { choosePath } from '../../src/upgrade/planner/paths.js';
import { parseVersion } from '../../src/upgrade/milvus/version.js';
import { thrown } from './helpers.js';

const v = parseVersion;
const clusterPulsar = { mode: 'cluster' as const, messageQueue: 'pulsar' };
const clusterKafka = { mode: 'cluster' as const, messageQueue: 'kafka' };
const clusterRocks = { mode: 'cluster' as const, messageQueue: 'rocksmq' };
const standalone = { mode: 'standalone' as const, messageQueue: 'rocksmq' };
const standalonePulsar = { mode: 'standalone' as const, messageQueue: 'pulsar' };

describe('choosePath (SPEC §8)', () => {
  describe('from 2.1.x to >= 2.2.0: migration', () => {
    it('2.1.4 -> 2.2.0 is a migration, the only allowed path', () => {
      const d = choosePath(v('2.1.4'), v('2.2.0'), clusterPulsar);
      expect(d.path).toBe('migrate');
      expect(d.allowed).toEqual(['migrate']);
      expect(d.reason).toContain('migrated');
    });

    it('accepts --strategy migrate explicitly', () => {
      expect(choosePath(v('2.1.4'), v('2.2.0'), clusterPulsar, 'migrate').path).toBe('migrate');
    });

    it('2.1.4 -> 2.2.x is a migration, any 2.2 patch', () => {
      expect(choosePath(v('2.1.4'), v('2.2.14'), clusterPulsar).path).toBe('migrate');
    });

    it.each(['helm', 'rolling'] as const)('refuses --strategy %s for 2.1.4 -> 2.2.0', (strategy) => {
      const err = thrown(() => choosePath(v('2.1.4'), v('2.2.0'), clusterPulsar, strategy)) as InputError;
      expect(err).toBeInstanceOf(InputError);
      expect(err.message).toContain(strategy);
      expect(err.details.join(' ')).toContain('--strategy migrate');
    });

    it('2.1.1 -> 2.1.4 needs no migration (helm)', () => {
      expect(choosePath(v('2.1.1'), v('2.1.4'), clusterPulsar)).toMatchObject({ path: 'helm', allowed: ['helm'] });
    });
  });

  describe('from before 2.2.3: helm only', () => {
    it('2.2.0 -> 2.4.23 is helm, rolling not allowed', () => {
      const d = choosePath(v('2.2.0'), v('2.4.23'), clusterPulsar);
      expect(d.path).toBe('helm');
      expect(d.allowed).toEqual(['helm']);
      expect(d.reason).toContain('2.2.3');
    });

    it('refuses --strategy rolling from 2.2.0 (< 2.2.3) and says why', () => {
      const err = thrown(() => choosePath(v('2.2.0'), v('2.4.23'), clusterPulsar, 'rolling')) as InputError;
      expect(err).toBeInstanceOf(InputError);
      expect(err.details.join('\n')).toContain('2.2.3');
      expect(err.details.join('\n')).toContain('--strategy helm');
    });

    it('refuses rolling from 2.2.2 and from a 2.2.3 pre-release', () => {
      expect(thrown(() => choosePath(v('2.2.2'), v('2.4.23'), clusterPulsar, 'rolling'))).toBeInstanceOf(InputError);
      expect(thrown(() => choosePath(v('2.2.3-beta'), v('2.4.23'), clusterPulsar, 'rolling'))).toBeInstanceOf(InputError);
    });
  });

  describe('from >= 2.2.3', () => {
    it.each([clusterPulsar, clusterKafka])('cluster with %o: helm by default, rolling allowed', (state) => {
      const d = choosePath(v('2.2.3'), v('2.4.23'), state);
      expect(d.path).toBe('helm');
      expect(d.allowed).toEqual(['helm', 'rolling']);
      expect(d.reason).toContain('rolling');
    });

    it('rolling when requested', () => {
      const d = choosePath(v('2.4.5'), v('2.4.23'), clusterKafka, 'rolling');
      expect(d.path).toBe('rolling');
      expect(d.allowed).toEqual(['helm', 'rolling']);
      expect(d.reason).toContain('kafka');
    });

    it('helm when requested', () => {
      expect(choosePath(v('2.4.5'), v('2.4.23'), clusterPulsar, 'helm').path).toBe('helm');
    });

    it.each([
      ['standalone', standalone, 'standalone'],
      ['standalone with pulsar', standalonePulsar, 'standalone'],
      ['rocksmq', clusterRocks, 'rocksmq'],
    ])('%s: rolling not allowed, and refused when requested', (_what, state, why) => {
      const d = choosePath(v('2.4.5'), v('2.4.23'), state);
      expect(d).toMatchObject({ path: 'helm', allowed: ['helm'] });
      expect(d.reason).toContain(why);
      const err = thrown(() => choosePath(v('2.4.5'), v('2.4.23'), state, 'rolling')) as InputError;
      expect(err).toBeInstanceOf(InputError);
      expect(err.details.join('\n')).toContain(why);
    });
  });

  describe('refusals', () => {
    it.each([
      ['2.4.23', '2.4.5'],
      ['2.4.23', '2.4.23'],
      ['2.4.23', 'v2.4.23'],
      ['2.4.13-hotfix', '2.4.13'],
      ['2.5.0', '2.5.0-beta'],
      ['2.2.0', '2.1.4'],
    ])('%s -> %s (not newer) -> InputError pointing at rollback', (from, to) => {
      const err = thrown(() => choosePath(v(from), v(to), clusterPulsar)) as InputError;
      expect(err).toBeInstanceOf(InputError);
      expect(err.message).toContain('not newer');
      expect(err.details.join(' ')).toContain('rollback');
    });

    it.each([
      ['2.2.0', '2.4.23'],
      ['2.4.5', '2.4.23'],
      ['2.1.1', '2.1.4'],
    ])('--strategy migrate for %s -> %s -> InputError', (from, to) => {
      const err = thrown(() => choosePath(v(from), v(to), clusterPulsar, 'migrate')) as InputError;
      expect(err).toBeInstanceOf(InputError);
      expect(err.message).toContain('2.1.x');
    });

    it('the migrate refusal suggests rolling only where it is possible', () => {
      const possible = thrown(() => choosePath(v('2.4.5'), v('2.4.23'), clusterPulsar, 'migrate')) as InputError;
      expect(possible.details.join(' ')).toContain('or rolling');
      const impossible = thrown(() => choosePath(v('2.2.0'), v('2.4.23'), clusterPulsar, 'migrate')) as InputError;
      expect(impossible.details.join(' ')).not.toContain('rolling');
    });
  });
});
