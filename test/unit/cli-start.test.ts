/**
 * The CLI starts at once: `--help` and refused input load neither the Kubernetes client nor
 * Redis/BullMQ (they are loaded by the command that needs them), and the bin runs compiled code
 * only when it is as new as the sources.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
const REPO_ROOT = join(import.meta.dirname, '..', '..');

const run = promisify(execFile);
// The bundle (dist/cli-bundle/) has the Kubernetes client in a chunk of its own, loaded with
// cli-connect or cli-run: a command that loads one of those, or any file of over 1 MB, is heavy.
const HEAVY = ['@kubernetes/client-node', '/ioredis/', '/bullmq/', '/cli-run', '/cli-connect'];
const heavy = (urls: string[]) => urls.filter((u) => HEAVY.some((h) => u.includes(h)) || (u.startsWith('file:') && statSync(fileURLToPath(u)).size > 1_000_000));
const tmp = mkdtempSync(join(tmpdir(), 'cli-start-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function importsOf(args: string[]): Promise<{ urls: string[]; code: number; stdout: string }> {
  const to = join(tmp, `imports-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(to, '');
  const child = await run(process.execPath, ['--import', join(REPO_ROOT, 'test', 'fixtures', 'record-imports.mjs'), join(REPO_ROOT, 'bin', 'milvus-upgrade.js'), ...args], {
    env: { ...process.env, RECORD_IMPORTS_TO: to },
    timeout: 60_000,
  }).then(
    (r) => ({ code: 0, stdout: r.stdout }),
    (e: { code?: number; stdout?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? '' }),
  );
  return { ...child, urls: readFileSync(to, 'utf8').split('\n').filter(Boolean) };
}

describe('CLI start-up', () => {
  it('--help loads the CLI but not the cluster client, ioredis or BullMQ', async () => {
    const { urls, code, stdout } = await importsOf(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: milvus-upgrade');
    expect(urls.some((u) => /\/(dist|dist\/cli-bundle|src)\/cli\.(js|ts)$/.test(u))).toBe(true);
    expect(heavy(urls)).toEqual([]);
  }, 60_000);

  it('a refused command (bad release name) loads none of them either, and exits 2', async () => {
    const { urls, code } = await importsOf(['status', 'Bad_Name']);
    expect(code).toBe(2);
    expect(heavy(urls)).toEqual([]);
  }, 60_000);
});

describe('the bin chooses compiled code only when it is current', () => {
  // A copy of the bin in a tree of its own, with a stand-in compiled CLI and a stand-in source.
  const root = join(tmp, 'pkg');
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'dist'), { recursive: true });
  mkdirSync(join(root, 'src', 'deep'), { recursive: true });
  cpSync(join(REPO_ROOT, 'bin', 'milvus-upgrade.js'), join(root, 'bin', 'milvus-upgrade.js'));
  cpSync(join(REPO_ROOT, 'bin', 'dist-current.js'), join(root, 'bin', 'dist-current.js'));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
  writeFileSync(join(root, 'package.json'), '{"type": "module"}\n');
  writeFileSync(join(root, 'dist', 'cli.js'), "export async function main() { process.stdout.write('compiled'); return 0; }\n");
  writeFileSync(join(root, 'src', 'cli.ts'), "export async function main(): Promise<number> { process.stdout.write('source'); return 0; }\n");
  writeFileSync(join(root, 'src', 'deep', 'module.ts'), 'export {};\n');
  const at = (path: string, seconds: number) => utimesSync(path, seconds, seconds);
  const which = async () => (await run(process.execPath, [join(root, 'bin', 'milvus-upgrade.js')], { timeout: 60_000 })).stdout;

  it('runs dist/ when its stamp is newer than every source file', async () => {
    at(join(root, 'src', 'cli.ts'), 1_000_000);
    at(join(root, 'src', 'deep', 'module.ts'), 1_000_000);
    writeFileSync(join(root, 'dist', '.built'), 'x');
    at(join(root, 'dist', '.built'), 2_000_000);
    expect(await which()).toBe('compiled');
  }, 60_000);

  it('runs the sources when one of them (however deep) changed after the build', async () => {
    at(join(root, 'dist', '.built'), 2_000_000);
    at(join(root, 'src', 'deep', 'module.ts'), 3_000_000);
    expect(await which()).toBe('source');
  }, 60_000);

  it('runs the bundle when the build made one, and not when the sources are newer', async () => {
    mkdirSync(join(root, 'dist', 'cli-bundle'), { recursive: true });
    writeFileSync(join(root, 'dist', 'cli-bundle', 'cli.js'), "export async function main() { process.stdout.write('bundled'); return 0; }\n");
    at(join(root, 'src', 'cli.ts'), 1_000_000);
    at(join(root, 'src', 'deep', 'module.ts'), 1_000_000);
    at(join(root, 'dist', '.built'), 2_000_000);
    expect(await which()).toBe('bundled');
    at(join(root, 'src', 'cli.ts'), 3_000_000);
    expect(await which()).toBe('source');
    rmSync(join(root, 'dist', 'cli-bundle'), { recursive: true });
  }, 60_000);

  it('runs the sources when the build has no stamp (cut short)', async () => {
    rmSync(join(root, 'dist', '.built'));
    at(join(root, 'src', 'deep', 'module.ts'), 1_000_000);
    expect(await which()).toBe('source');
  }, 60_000);
});
