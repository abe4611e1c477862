// Whether the compiled CLI in <root>/dist is at least as new as every file in <root>/src: the bin
// runs it then, and the benchmarks compile first when it is not. A stat per source file.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newestIn(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestIn(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** @param {string} root the package's folder */
export function distIsCurrent(root) {
  const stamp = join(root, 'dist', '.built');
  if (!existsSync(join(root, 'dist', 'cli.js')) || !existsSync(stamp)) return false;
  // An installed package (image) has dist/ and no src/: nothing to compare with.
  const src = join(root, 'src');
  return !existsSync(src) || newestIn(src) <= statSync(stamp).mtimeMs;
}
