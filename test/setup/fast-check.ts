/**
 * Property tests run with one fixed seed, printed, so a failure in CI replays exactly:
 * `FC_SEED=<seed> npx vitest run <file>`. Set FC_SEED to explore other inputs locally.
 * (A property's own `seed` option would override this: none sets one.)
 */
import fc from 'fast-check';

const DEFAULT_SEED = 20_240_611;

export const FC_SEED = seedFrom(process.env.FC_SEED);

function seedFrom(text: string | undefined): number {
  if (text === undefined || text === '') return DEFAULT_SEED;
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`FC_SEED must be an integer, not ${JSON.stringify(text)}`);
  return n;
}

fc.configureGlobal({ seed: FC_SEED });
process.stdout.write(`fast-check seed ${FC_SEED} (FC_SEED=${FC_SEED} replays it)\n`);
