// Compiles src/ to dist/ (tsconfig.build.json) and stamps the build, so bin/milvus-upgrade.js
// can start compiled code (tsx would transpile the whole CLI at every start: seconds, not ms).
// Runs as part of npm's postinstall and as `npm run build`. Without TypeScript (a production
// install) there is nothing to do: the image ships dist/ already.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(tsc) || !existsSync(join(root, 'src'))) {
  console.log('build-dist: no TypeScript or no src/ here; dist/ left as it is');
  process.exit(0);
}
const started = Date.now();
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', timeout: 300_000 });
// Written last: a build cut short leaves no stamp, and the bin falls back to the sources.
writeFileSync(join(root, 'dist', '.built'), `${new Date().toISOString()}\n`);
console.log(`build-dist: src/ compiled to dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
