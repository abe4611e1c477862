// Compiles src/ to dist/ (tsconfig.build.json), bundles the CLI (dist/cli-bundle/) and stamps the
// build, so bin/milvus-upgrade.js can start compiled code (tsx would transpile the whole CLI at
// every start: seconds, not ms). Runs as part of npm's postinstall and as `npm run build`. Without
// TypeScript (a production install) there is nothing to do: the image ships dist/ already.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(tsc) || !existsSync(join(root, 'src'))) {
  console.log('build-dist: no TypeScript or no src/ here; dist/ left as it is');
  process.exit(0);
}
const started = Date.now();
// A stamp of an older build must not vouch for a half-written one.
rmSync(join(root, 'dist', '.built'), { force: true });
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', timeout: 300_000 });
await bundleCli();
// Written last: a build cut short leaves no stamp, and the bin falls back to the sources.
writeFileSync(join(root, 'dist', '.built'), `${new Date().toISOString()}\n`);
console.log(`build-dist: src/ compiled to dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);

/**
 * The CLI as a few files instead of hundreds: Node's ES module loader spent about 0.3 s of a
 * plan's 0.75 s resolving and linking the Kubernetes client's files one by one (bench/RESULTS.md,
 * CLI rows). Left outside: packages that find their own files next to their code (__dirname:
 * ioredis' error stacks, BullMQ's native msgpack, pino's worker threads), loaded from
 * node_modules as before; they serve `upgrade`/`rollback`, not a plan. Without esbuild the bin
 * runs dist/cli.js.
 */
async function bundleCli() {
  const out = join(root, 'dist', 'cli-bundle');
  rmSync(out, { recursive: true, force: true });
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    console.log('build-dist: no esbuild here; the CLI runs unbundled');
    return;
  }
  await esbuild.build({
    entryPoints: [join(root, 'dist', 'cli.js')],
    outdir: out,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: ['ioredis', 'bullmq', 'pino'],
    // CommonJS code in the bundle still calls require() for Node's own modules.
    banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
    logLevel: 'warning',
  });
}
