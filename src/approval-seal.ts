/**
 * The approval seal's key and MAC (the rules of what is sealed are in upgrade/seal.ts). The key
 * comes from a Kubernetes Secret mounted as a file (or the environment), never from Redis: a
 * Redis client that could read the key could forge approvals.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { configure } from 'safe-stable-stringify';
import { UpgradeError } from './upgrade/errors.js';
import type { SealContent, Sealer } from './upgrade/seal.js';

/** Where the key is read from: a file (the Secret's mount) wins over a value. */
export interface SealKeySource {
  readonly keyFile?: string;
  readonly key?: string;
}

export const MIN_SEAL_KEY_LENGTH = 32;
const PREFIX = 'hmac-sha256:';
// Keys in a fixed order, and anything JSON cannot carry refused rather than sealed loosely: the
// same content must give the same bytes in the bot that seals and the worker that checks.
const canonical = configure({ deterministic: true, strict: true, circularValue: Error });

export function hmacSealer(key: Buffer): Sealer {
  if (key.length < MIN_SEAL_KEY_LENGTH) throw new UpgradeError('preflight', `the approval seal key is ${key.length} bytes: it needs ${MIN_SEAL_KEY_LENGTH} or more`);
  const mac = (content: SealContent) => createHmac('sha256', key).update(canonical(content) ?? '').digest();
  return {
    seal: (content) => `${PREFIX}${mac(content).toString('base64url')}`,
    verify: (content, seal) => {
      if (typeof seal !== 'string' || !seal.startsWith(PREFIX)) return false;
      const given = Buffer.from(seal.slice(PREFIX.length), 'base64url');
      const expected = mac(content);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}

/** The configured key, or null when none is configured; a key file that cannot be read is an error. */
export function readSealKey(source: SealKeySource): Buffer | null {
  if (source.keyFile) {
    let text: string;
    try {
      text = readFileSync(source.keyFile, 'utf8');
    } catch (err) {
      throw new UpgradeError('preflight', `cannot read the approval seal key file ${source.keyFile}`, [(err as Error).message]);
    }
    // A Secret written with `echo` ends with a newline that is not part of the key.
    return Buffer.from(text.trim(), 'utf8');
  }
  return source.key ? Buffer.from(source.key, 'utf8') : null;
}

/**
 * The configured key's sealer; without one, a key of this process only: approvals it seals are
 * honoured only by its own worker, and not after a restart.
 */
export function sealerFor(source: SealKeySource): { sealer: Sealer; ephemeral: boolean } {
  const key = readSealKey(source);
  return key ? { sealer: hmacSealer(key), ephemeral: false } : { sealer: hmacSealer(randomBytes(MIN_SEAL_KEY_LENGTH)), ephemeral: true };
}
