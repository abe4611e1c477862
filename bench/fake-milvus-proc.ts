/**
 * The fake Milvus in a process of its own, for benchmarks that time the bot's reads: in the
 * bench's own process its answers would take the same event loop (and, on 2 cores, the same CPU)
 * as the client it answers, and the figures would be half the fake's. A real Milvus is remote.
 *
 *   node --import tsx bench/fake-milvus-proc.ts <collections> <rows>
 *
 * Prints `{"address":"127.0.0.1:<port>"}` once serving; then reads lines on stdin: `calls` prints
 * the calls since the last `calls` by method, as one JSON line. Exits when stdin closes.
 */
import { createInterface } from 'node:readline';
import { startFakeMilvus, type FakeCollection } from '../test/harness/fake-milvus.js';

const n = Number(process.argv[2] ?? '10');
const rows = Number(process.argv[3] ?? '100');
// Names sort as numbers do, so "the first ten" and "the last ten" read plainly in a listing.
const collections: FakeCollection[] = Array.from({ length: n }, (_, i) => ({ name: `c${String(i).padStart(5, '0')}`, loadState: 'Loaded', rowCount: rows }));
const fake = await startFakeMilvus({ version: 'v2.5.16', collections });
process.stdout.write(`${JSON.stringify({ address: fake.address })}\n`);

let seen = 0;
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() !== 'calls') return;
  const byMethod: Record<string, number> = {};
  for (const c of fake.calls.slice(seen)) byMethod[c.method] = (byMethod[c.method] ?? 0) + 1;
  seen = fake.calls.length;
  process.stdout.write(`${JSON.stringify(byMethod)}\n`);
});
lines.on('close', () => void fake.close().then(() => process.exit(0)));
