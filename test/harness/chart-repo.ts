/**
 * A local Helm chart repository of Milvus-shaped fixture charts, for the end-to-end tests.
 *
 * ONE chart source (test/harness/charts/milvus) is packaged at several chart versions with the
 * real `helm package`, then indexed with the real `helm repo index`. Per version (FIXTURE_CHARTS),
 * the packager rewrites Chart.yaml (version, appVersion, message-queue dependencies), copies the
 * queue subcharts (test/harness/charts/subcharts) into the chart's charts/ folder, and rewrites
 * the per-version defaults of values.yaml (see FixtureChart).
 *
 * Pulsar, as in the real chart (measured with real helm, see FixtureChart.pulsarLayout):
 *   - 'v2'      (<= 4.2.20): dependency `pulsar` 2.7.8 (condition pulsar.enabled);
 *   - 'clash'   (4.2.21-4.2.29): `pulsar` 2.7.8 alias pulsar AND `pulsar` 3.3.0 alias pulsarv3.
 *     `helm package` stores each subchart under charts/<chart name>/, so the two `pulsar` charts
 *     land on the same path and only 3.3.0 survives in the published archive (which one is written
 *     last follows Go's map order, so the fixture packs 3.3.0 alone, as published):
 *     Pulsar v2 can never render (pulsar.enabled=true renders NO Pulsar), pulsarv3.enabled=true
 *     renders v3. (Reproduced with real `helm dependency update` + `helm package` on two
 *     same-name dependencies: the published 4.2.25 has no Pulsar with its defaults.)
 *   - 'renamed' (4.2.30+): chart `pulsarv2` 2.7.8 alias pulsar (values key still `pulsar`, so the
 *     names stay <release>-pulsar-*) and `pulsar` 3.3.0 alias pulsarv3.
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

export type PulsarLayout = 'v2' | 'clash' | 'renamed';

export interface FixtureChart {
  /** Chart version, e.g. "4.2.25". */
  readonly version: string;
  /** Milvus version the chart carries (Chart.yaml appVersion, stored without "v"), e.g. "2.4.17". */
  readonly appVersion: string;
  /** Default of mixCoordinator.enabled in this chart version (true from chart 4.2.4 on). */
  readonly mixCoordinator: boolean;
  /** How Pulsar v2/v3 are declared (see the file comment); default 'v2'. */
  readonly pulsarLayout?: PulsarLayout;
  /** Default queue is Pulsar v3 (pulsar.enabled=false, pulsarv3.enabled=true), chart 4.2.27 on. */
  readonly pulsarV3Default?: boolean;
  /** Pulsar v2 image tag (apachepulsar/pulsar): 2.8.2 (pulsar chart 2.7.8), 2.9.5 (pulsarv2 chart). */
  readonly pulsarV2Tag?: string;
  /** 2.6 defaults: streaming.enabled=true (streamingnode) and indexNode.enabled=false (chart 5.x). */
  readonly streaming?: boolean;
  /** replicaResourceGroups is honoured (chart 5.0.16 on). */
  readonly resourceGroups?: boolean;
  /** etcd image tag (milvusdb/etcd). */
  readonly etcdTag?: string;
  /** attu image tag (zilliz/attu). */
  readonly attuTag?: string;
  /**
   * Charts 3.x: `metadata.rootPath`, `msgChannel.chanNamePrefix.cluster` and
   * `authorization.enabled` are written into the Milvus config; 4.0.0 dropped them.
   */
  readonly shortcutValues?: boolean;
  /**
   * minio.image.tag (minio/minio). Real chart history: RELEASE.2022-03-17T06-34-49Z from 3.0.17 to
   * 4.0.12 (a single-drive MinIO of that age writes the old FS format), RELEASE.2023-03-20T20-16-18Z
   * from 4.0.13 (commit db1804e, "Bump milvus to 2.2.5"; cannot read FS) to 4.2.54, then
   * RELEASE.2024-05-28T17-19-04Z (4.2.55) and RELEASE.2024-12-18T13-15-44Z (5.0.0). Default: the
   * 2023-03-20 tag (the fixture keeps it for 4.2.58 and 5.x too: both newer tags read the same
   * formats, and a moving MinIO image would add a StatefulSet change to every 2.6 test).
   */
  readonly minioTag?: string;
  /**
   * Chart 5.x: standalone.messageQueue defaults to woodpecker, and an upgrade keeps the queue
   * of a running standalone through a lookup (see milvus.standalone.messageQueue in _helpers.tpl).
   */
  readonly standaloneQueueLookup?: boolean;
  /**
   * The Woodpecker component (real chart 5.0.8 on, milvus-helm 8036b13): values
   * `streaming.woodpecker.embedded` (true) and `streaming.woodpecker.storage.type` (minio), the
   * `woodpecker:` section of the Milvus config, and a Woodpecker StatefulSet when it runs as its
   * own service (embedded false and woodpecker.enabled). Older charts have only woodpecker.enabled.
   */
  readonly woodpecker?: boolean;
}

/** MinIO image of the charts that write the old FS format on a single drive (3.0.17 to 4.0.12). */
export const MINIO_FS_TAG = 'RELEASE.2022-03-17T06-34-49Z';

/** Pulsar v3 image tag (apachepulsar/pulsar) of the `pulsar` 3.3.0 chart. */
export const PULSAR_V3_TAG = '3.0.7';

/** Chart versions packaged into the fixture repository (chart version -> Milvus version). */
export const FIXTURE_CHARTS: readonly FixtureChart[] = Object.freeze([
  { version: '3.2.18', appVersion: '2.1.4', mixCoordinator: false, shortcutValues: true, minioTag: MINIO_FS_TAG },
  { version: '3.3.6', appVersion: '2.2.0', mixCoordinator: false, shortcutValues: true, minioTag: MINIO_FS_TAG },
  // The real 4.0.12 says appVersion 2.2.3 but its values run v2.2.4 (f3595dd), 4.0.13 runs v2.2.5
  // (db1804e): the fixture's appVersion is the image it runs.
  { version: '4.0.12', appVersion: '2.2.4', mixCoordinator: false, minioTag: MINIO_FS_TAG },
  { version: '4.0.13', appVersion: '2.2.5', mixCoordinator: false },
  { version: '4.0.31', appVersion: '2.2.13', mixCoordinator: false },
  { version: '4.1.24', appVersion: '2.3.11', mixCoordinator: false },
  { version: '4.1.36', appVersion: '2.4.5', mixCoordinator: false },
  { version: '4.2.0', appVersion: '2.4.6', mixCoordinator: false },
  { version: '4.2.4', appVersion: '2.4.7', mixCoordinator: true },
  { version: '4.2.20', appVersion: '2.4.16', mixCoordinator: true, etcdTag: '3.5.14-r1' },
  { version: '4.2.25', appVersion: '2.4.17', mixCoordinator: true, pulsarLayout: 'clash', etcdTag: '3.5.16-r1' },
  { version: '4.2.26', appVersion: '2.5.0-beta', mixCoordinator: true, pulsarLayout: 'clash', etcdTag: '3.5.16-r1' },
  { version: '4.2.27', appVersion: '2.5.0-beta', mixCoordinator: true, pulsarLayout: 'clash', pulsarV3Default: true, etcdTag: '3.5.16-r1' },
  { version: '4.2.30', appVersion: '2.5.0-beta', mixCoordinator: true, pulsarLayout: 'renamed', pulsarV3Default: true, pulsarV2Tag: '2.9.5', etcdTag: '3.5.16-r1' },
  { version: '4.2.58', appVersion: '2.5.16', mixCoordinator: true, pulsarLayout: 'renamed', pulsarV3Default: true, pulsarV2Tag: '2.9.5', etcdTag: '3.5.18-r1', attuTag: 'v2.5.3' },
  { version: '5.0.0', appVersion: '2.6.0', mixCoordinator: true, pulsarLayout: 'renamed', pulsarV3Default: true, pulsarV2Tag: '2.9.5', streaming: true, etcdTag: '3.5.18-r1', attuTag: 'v2.5.3', standaloneQueueLookup: true },
  { version: '5.0.19', appVersion: '2.6.15', mixCoordinator: true, pulsarLayout: 'renamed', pulsarV3Default: true, pulsarV2Tag: '2.9.5', streaming: true, resourceGroups: true, etcdTag: '3.5.25-r1', attuTag: 'v2.5.3', standaloneQueueLookup: true, woodpecker: true },
  // The Milvus docs' baseline for 2.6 -> 3.0 (validated from 2.6.20 on chart 5.0.22). The stored
  // chart history ends at 5.0.19: the fixture gives 5.0.22 the facts of 5.0.19.
  { version: '5.0.22', appVersion: '2.6.20', mixCoordinator: true, pulsarLayout: 'renamed', pulsarV3Default: true, pulsarV2Tag: '2.9.5', streaming: true, resourceGroups: true, etcdTag: '3.5.25-r1', attuTag: 'v2.5.3', standaloneQueueLookup: true, woodpecker: true },
]);

/** Directory of the fixture chart source. */
export const FIXTURE_CHART_DIR: string = fileURLToPath(new URL('./charts/milvus', import.meta.url));
/** Directory of the queue subchart sources (pulsar, kafka), copied into charts/ per version. */
export const FIXTURE_SUBCHART_DIR: string = fileURLToPath(new URL('./charts/subcharts', import.meta.url));

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

interface Dependency {
  name: string;
  version: string;
  alias?: string;
  condition: string;
}

/** Copies a subchart source into <chartDir>/charts/<dir> with its Chart.yaml name/version rewritten. */
async function addSubchart(
  chartDir: string,
  source: string,
  dep: { name: string; version: string; appVersion: string; values?: Array<[string[], unknown]> },
): Promise<void> {
  const dest = join(chartDir, 'charts', `${dep.name}-${dep.version}`);
  await cp(join(FIXTURE_SUBCHART_DIR, source), dest, { recursive: true });
  const chartPath = join(dest, 'Chart.yaml');
  const doc = parseDocument(await readFile(chartPath, 'utf8'));
  doc.set('name', dep.name);
  doc.set('version', dep.version);
  doc.set('appVersion', new Scalar(dep.appVersion));
  (doc.get('appVersion', true) as Scalar).type = Scalar.QUOTE_DOUBLE;
  await writeFile(chartPath, doc.toString());
  if (dep.values && dep.values.length > 0) {
    const valuesPath = join(dest, 'values.yaml');
    const vdoc = parseDocument(await readFile(valuesPath, 'utf8'));
    for (const [path, value] of dep.values) vdoc.setIn(path, value);
    await writeFile(valuesPath, vdoc.toString());
  }
}

/** Rewrites Chart.yaml, adds the queue subcharts and the per-version defaults of values.yaml. */
async function rewriteChart(chartDir: string, chart: FixtureChart): Promise<void> {
  const layout = chart.pulsarLayout ?? 'v2';
  const v2Tag = chart.pulsarV2Tag ?? '2.8.2';
  const v2Values: Array<[string[], unknown]> = [[['images', 'tag'], v2Tag]];
  const v3Values: Array<[string[], unknown]> = [[['images', 'tag'], PULSAR_V3_TAG]];
  const deps: Dependency[] = [];
  // Directory names sort v2 before v3, the order helm loads (and, for 'clash', overwrites) them.
  if (layout === 'v2') {
    deps.push({ name: 'pulsar', version: '2.7.8', condition: 'pulsar.enabled' });
    await addSubchart(chartDir, 'pulsar', { name: 'pulsar', version: '2.7.8', appVersion: '2.7.4', values: v2Values });
  } else {
    const v2Name = layout === 'clash' ? 'pulsar' : 'pulsarv2';
    deps.push({ name: v2Name, alias: 'pulsar', version: '2.7.8', condition: 'pulsar.enabled' });
    deps.push({ name: 'pulsar', alias: 'pulsarv3', version: '3.3.0', condition: 'pulsarv3.enabled' });
    // 'clash': the published archive holds only the 3.3.0 `pulsar` (see the file comment). Packing
    // both lets `helm package` pick which one lands last by Go map order: a flaky fixture.
    if (layout !== 'clash') await addSubchart(chartDir, 'pulsar', { name: v2Name, version: '2.7.8', appVersion: '2.7.4', values: v2Values });
    await addSubchart(chartDir, 'pulsar', { name: 'pulsar', version: '3.3.0', appVersion: '3.0.7', values: v3Values });
  }
  deps.push({ name: 'kafka', version: '15.5.1', condition: 'kafka.enabled' });
  await addSubchart(chartDir, 'kafka', { name: 'kafka', version: '15.5.1', appVersion: '3.1.0' });

  const chartYamlPath = join(chartDir, 'Chart.yaml');
  const chartDoc = parseDocument(await readFile(chartYamlPath, 'utf8'));
  chartDoc.set('version', chart.version);
  // Quoted, so that e.g. "2.5" would never turn into a YAML number.
  chartDoc.set('appVersion', new Scalar(chart.appVersion));
  (chartDoc.get('appVersion', true) as Scalar).type = Scalar.QUOTE_DOUBLE;
  chartDoc.set(
    'dependencies',
    deps.map((d) => ({ name: d.name, version: d.version, ...(d.alias ? { alias: d.alias } : {}), condition: d.condition })),
  );
  await writeFile(chartYamlPath, chartDoc.toString());

  const valuesPath = join(chartDir, 'values.yaml');
  const valuesDoc = parseDocument(await readFile(valuesPath, 'utf8'));
  valuesDoc.setIn(['image', 'all', 'tag'], `v${chart.appVersion}`);
  valuesDoc.setIn(['mixCoordinator', 'enabled'], chart.mixCoordinator);
  const v3 = chart.pulsarV3Default ?? false;
  valuesDoc.setIn(['pulsar', 'enabled'], !v3);
  valuesDoc.setIn(['pulsarv3', 'enabled'], v3);
  const streaming = chart.streaming ?? false;
  valuesDoc.setIn(['streaming', 'enabled'], streaming);
  valuesDoc.setIn(['indexNode', 'enabled'], !streaming);
  valuesDoc.setIn(['fixture', 'resourceGroups'], chart.resourceGroups ?? false);
  valuesDoc.setIn(['fixture', 'shortcutValues'], chart.shortcutValues ?? false);
  // A 4.x chart has no such values: one carried over by --reset-then-reuse-values is ignored.
  if (!chart.shortcutValues) for (const key of ['metadata', 'msgChannel', 'authorization']) valuesDoc.delete(key);
  if (chart.etcdTag) valuesDoc.setIn(['etcd', 'image', 'tag'], chart.etcdTag);
  if (chart.attuTag) valuesDoc.setIn(['attu', 'image', 'tag'], chart.attuTag);
  if (chart.minioTag) valuesDoc.setIn(['minio', 'image', 'tag'], chart.minioTag);
  valuesDoc.setIn(['fixture', 'standaloneQueueLookup'], chart.standaloneQueueLookup ?? false);
  if (chart.standaloneQueueLookup) valuesDoc.setIn(['standalone', 'messageQueue'], 'woodpecker');
  valuesDoc.setIn(['fixture', 'woodpecker'], chart.woodpecker ?? false);
  // Before the Woodpecker component the chart had woodpecker.enabled alone (the queue switch).
  if (!chart.woodpecker) {
    valuesDoc.deleteIn(['streaming', 'woodpecker']);
    valuesDoc.set('woodpecker', valuesDoc.createNode({ enabled: false }));
  }
  await writeFile(valuesPath, valuesDoc.toString());
}

async function computeStamp(url: string | undefined): Promise<string> {
  const hash = createHash('sha256');
  hash.update('fixture-chart-repo/v2\0');
  hash.update(JSON.stringify(FIXTURE_CHARTS));
  hash.update(`\0url=${url ?? ''}\0`);
  for (const file of [...(await listFiles(FIXTURE_CHART_DIR)), ...(await listFiles(FIXTURE_SUBCHART_DIR))]) {
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

