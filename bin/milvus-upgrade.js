#!/usr/bin/env node
// Runs the compiled CLI (dist/, built by `npm ci` or `npm run build`; its bundle when there is
// one) when it is at least as new as every file in src/; otherwise the TypeScript source through
// tsx, so an edited checkout never runs stale code. The check is a stat per source file: about a
// millisecond.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { distIsCurrent } from './dist-current.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'cli.js');
const bundled = join(root, 'dist', 'cli-bundle', 'cli.js');

let cli;
if (distIsCurrent(root)) {
  cli = await import(pathToFileURL(existsSync(bundled) ? bundled : compiled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(pathToFileURL(join(root, 'src', 'cli.ts')).href);
}
process.exitCode = await cli.main(process.argv.slice(2));
