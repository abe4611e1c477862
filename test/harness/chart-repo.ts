/**
 * A local Helm chart repository of Milvus-shaped fixture charts, for the end-to-end tests.
 *
 * ONE chart source (test/harness/charts/milvus) is packaged at several chart versions with the
 * real `helm package`, then indexed with the real `helm repo index`. Per version, the packager
 * rewrites Chart.yaml (version, appVersion) and two defaults in values.yaml:
 *   - image.all.tag = "v" + appVersion (as the real chart writes it);
 *   - mixCoordinator.enabled = true from chart 4.2.4 on, false before.
 *
 * serveChartRepo() serves the result over HTTP on 127.0.0.1 (index.yaml + *.tgz).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseDocument, Scalar } from 'yaml';

const execFileAsync = promisify(execFile);

export interface FixtureChart {
  /** Chart version, e.g. "4.2.25". */
  readonly version: string;
  /** Milvus version the chart carries (Chart.yaml appVersion, stored without "v"), e.g. "2.4.17". */
  readonly appVersion: string;
  /** Default of mixCoordinator.enabled in this chart version (true from chart 4.2.4 on). */
  readonly mixCoordinator: boolean;
}

/** Chart versions packaged into the fixture repository (chart version -> Milvus version). */
export const FIXTURE_CHARTS: readonly FixtureChart[] = Object.freeze([
  { version: '3.2.18', appVersion: '2.1.4', mixCoordinator: false },
  { version: '3.3.6', appVersion: '2.2.0', mixCoordinator: false },
  { version: '4.0.31', appVersion: '2.2.13', mixCoordinator: false },
  { version: '4.1.24', appVersion: '2.3.11', mixCoordinator: false },
  { version: '4.1.36', appVersion: '2.4.5', mixCoordinator: false },
  { version: '4.2.0', appVersion: '2.4.6', mixCoordinator: false },
  { version: '4.2.4', appVersion: '2.4.7', mixCoordinator: true },
  { version: '4.2.25', appVersion: '2.4.17', mixCoordinator: true },
  { version: '4.2.26', appVersion: '2.5.0-beta', mixCoordinator: true },
]);

/** Directory of the fixture chart source. */
export const FIXTURE_CHART_DIR: string = fileURLToPath(new URL('./charts/milvus', import.meta.url));

/** Name of the chart inside the repository (`<repo>/milvus`). */
export const FIXTURE_CHART_NAME = 'milvus';

const STAMP_FILE = '.fixture-stamp';
const HELM_TIMEOUT_MS = 60_000;

export interface BuildChartRepoOptions {
  /** Path of the helm binary. */
  helmBin: string;
  /** Directory receiving milvus-<version>.tgz and index.yaml. */
  outDir: string;
  /** Absolute base URL for index.yaml entries; default: relative file names (works on any port). */
  url?: string;
}

/**
 * Packages every FIXTURE_CHARTS version into outDir and writes index.yaml there.
 * Idempotent: when outDir already holds a build of the same chart source, versions and url,
 * nothing is rebuilt. Returns outDir (resolved).
 */
export async function buildChartRepo(opts: BuildChartRepoOptions): Promise<string> {
  const outDir = resolve(opts.outDir);
  await mkdir(outDir, { recursive: true });
  const stamp = await computeStamp(opts.url);
  if (await isUpToDate(outDir, stamp)) return outDir;

  // Work under outDir so the final renames stay on one filesystem (atomic per file).
  const work = await mkdtemp(join(outDir, '.build-'));
  try {
    const helmHome = join(work, 'helm-home');
    const env = helmEnv(helmHome);
    const pkgDir = join(work, 'pkg');
    await mkdir(pkgDir, { recursive: true });

    for (const chart of FIXTURE_CHARTS) {
      const src = join(work, 'src', chart.version, FIXTURE_CHART_NAME);
      await cp(FIXTURE_CHART_DIR, src, { recursive: true });
      await rewriteChart(src, chart);
      await runHelm(opts.helmBin, ['package', src, '--destination', pkgDir], env);
    }
    const indexArgs = ['repo', 'index', pkgDir];
    if (opts.url) indexArgs.push('--url', opts.url);
    await runHelm(opts.helmBin, indexArgs, env);

    const wanted = new Set(FIXTURE_CHARTS.map((c) => `${FIXTURE_CHART_NAME}-${c.version}.tgz`));
    for (const name of wanted) {
      await rename(join(pkgDir, name), join(outDir, name));
    }
    // Drop stale packages of earlier fixture lists.
    for (const name of await readdir(outDir)) {
      if (name.startsWith(`${FIXTURE_CHART_NAME}-`) && name.endsWith('.tgz') && !wanted.has(name)) {
        await rm(join(outDir, name), { force: true });
      }
    }
    await rename(join(pkgDir, 'index.yaml'), join(outDir, 'index.yaml'));
    await writeFile(join(outDir, STAMP_FILE), `${stamp}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return outDir;
}

/** Rewrites Chart.yaml and the per-version defaults of values.yaml in a copied chart. */
async function rewriteChart(chartDir: string, chart: FixtureChart): Promise<void> {
  const chartYamlPath = join(chartDir, 'Chart.yaml');
  const chartDoc = parseDocument(await readFile(chartYamlPath, 'utf8'));
  chartDoc.set('version', chart.version);
  // Quoted, so that e.g. "2.5" would never turn into a YAML number.
  chartDoc.set('appVersion', new Scalar(chart.appVersion));
  (chartDoc.get('appVersion', true) as Scalar).type = Scalar.QUOTE_DOUBLE;
  await writeFile(chartYamlPath, chartDoc.toString());

  const valuesPath = join(chartDir, 'values.yaml');
  const valuesDoc = parseDocument(await readFile(valuesPath, 'utf8'));
  valuesDoc.setIn(['image', 'all', 'tag'], `v${chart.appVersion}`);
  valuesDoc.setIn(['mixCoordinator', 'enabled'], chart.mixCoordinator);
  await writeFile(valuesPath, valuesDoc.toString());
}

async function computeStamp(url: string | undefined): Promise<string> {
  const hash = createHash('sha256');
  hash.update('fixture-chart-repo/v1\0');
  hash.update(JSON.stringify(FIXTURE_CHARTS));
  hash.update(`\0url=${url ?? ''}\0`);
  for (const file of await listFiles(FIXTURE_CHART_DIR)) {
    hash.update(relative(FIXTURE_CHART_DIR, file));
    hash.update('\0');
    hash.update(await readFile(file));
    hash.update('\0');
  }
  return hash.digest('hex');
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out.sort();
}

async function isUpToDate(outDir: string, stamp: string): Promise<boolean> {
  try {
    const current = (await readFile(join(outDir, STAMP_FILE), 'utf8')).trim();
    if (current !== stamp) return false;
    await stat(join(outDir, 'index.yaml'));
    for (const chart of FIXTURE_CHARTS) {
      await stat(join(outDir, `${FIXTURE_CHART_NAME}-${chart.version}.tgz`));
    }
    return true;
  } catch {
    return false;
  }
}

/** Environment for helm with private config/cache/data homes (the user's helm setup is never touched). */
function helmEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('HELM_')) env[key] = value;
  }
  env.HELM_CONFIG_HOME = join(home, 'config');
  env.HELM_CACHE_HOME = join(home, 'cache');
  env.HELM_DATA_HOME = join(home, 'data');
  env.HELM_REPOSITORY_CONFIG = join(home, 'config', 'repositories.yaml');
  env.HELM_REPOSITORY_CACHE = join(home, 'cache', 'repository');
  env.HELM_REGISTRY_CONFIG = join(home, 'config', 'registry', 'config.json');
  return env;
}

async function runHelm(helmBin: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  try {
    const { stdout } = await execFileAsync(helmBin, args, {
      env,
      timeout: HELM_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string; killed?: boolean };
    const detail = (e.stderr ?? '').trim() || e.message;
    throw new Error(`helm ${args.join(' ')} failed${e.killed ? ' (timed out)' : ''}: ${detail}`, { cause: err });
  }
}

export interface ServedChartRepo {
  /** Base URL of the repository, e.g. http://127.0.0.1:41234 (no trailing slash). */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves dir (index.yaml and *.tgz, top level only) over HTTP on 127.0.0.1.
 * port 0 picks a free port.
 */
export async function serveChartRepo(dir: string, port = 0): Promise<ServedChartRepo> {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    void (async () => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD' }).end();
        return;
      }
      let name: string;
      try {
        name = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname).replace(/^\/+/, '');
      } catch {
        res.writeHead(400).end();
        return;
      }
      if (name === '') name = 'index.yaml';
      const allowed =
        !name.includes('/') &&
        !name.includes('\\') &&
        !name.startsWith('.') &&
        (name === 'index.yaml' || name.endsWith('.tgz') || name.endsWith('.prov'));
      if (!allowed) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
        return;
      }
      let body: Buffer;
      try {
        body = await readFile(join(root, name));
      } catch {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
        return;
      }
      const type = name.endsWith('.yaml')
        ? 'application/x-yaml'
        : name.endsWith('.tgz')
          ? 'application/gzip'
          : 'application/octet-stream';
      res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });
  const address = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${address.port}`,
    close(): Promise<void> {
      closed ??= new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

