#!/usr/bin/env node
// Runs the compiled CLI (dist/, built by `npm ci` or `npm run build`; its bundle when there is
// one) when it is at least as new as every file in src/; otherwise the TypeScript source through
// tsx, so an edited checkout never runs stale code. The check is a stat per source file: about a
// millisecond.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'cli.js');
const bundled = join(root, 'dist', 'cli-bundle', 'cli.js');
const stamp = join(root, 'dist', '.built');

function newestIn(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestIn(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function compiledIsCurrent() {
  if (!existsSync(compiled) || !existsSync(stamp)) return false;
  // An installed package (image) has dist/ and no src/: nothing to compare with.
  const src = join(root, 'src');
  return !existsSync(src) || newestIn(src) <= statSync(stamp).mtimeMs;
}

let cli;
if (compiledIsCurrent()) {
  cli = await import(pathToFileURL(existsSync(bundled) ? bundled : compiled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(pathToFileURL(join(root, 'src', 'cli.ts')).href);
}
process.exitCode = await cli.main(process.argv.slice(2));
