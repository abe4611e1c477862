import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import type { ChartEntry } from '../upgrade/milvus/charts.js';
import { chartEntriesFromHelmSearch } from '../upgrade/milvus/charts.js';
import type { KubeObject } from '../upgrade/objects.js';
import type { HelmInstallArgs, HelmRenderArgs, HelmUpgradeArgs, ReleaseManager } from '../upgrade/ports.js';
import type { HelmReleaseInfo, HelmRevisionInfo } from '../upgrade/state.js';
import { UnreadableError } from '../upgrade/errors.js';
import { ProgramFailed, parseJson, runProgram } from './exec.js';
import type { HelmSecretStorage } from './helm-storage.js';
import { helmPaths, readIndexEntries, readRepositories, type HelmPaths } from './helm-files.js';
import { HelmYamlError, parseHelmYaml, parseHelmYamlStream, parsedFiles } from './helm-yaml.js';

export interface HelmCliOptions {
  /** Path of the helm binary (default: `helm` on PATH). */
  readonly bin?: string;
  readonly kubeconfig?: string;
  readonly kubeContext?: string;
  /** Extra environment, e.g. HELM_CONFIG_HOME to keep tests away from a person's helm setup. */
  readonly env?: Readonly<Record<string, string>>;
  /** Timeout of quick commands (list, history, repo); upgrades use their own. */
  readonly commandTimeoutMs?: number;
  /**
   * helm's release Secrets, read with the Kubernetes client. Given, reads run no process:
   * release, history, values and manifest from the Secrets, the repositories and the chart
   * index from helm's own files. Ignored when HELM_DRIVER names another storage driver.
   */
  readonly storage?: HelmSecretStorage;
}

// helm's wording for errors that go away when tried again later.
const TRANSIENT = [
  /another operation \(install\/upgrade\/rollback\) is in progress/i,
  /connection refused/i,
  /i\/o timeout/i,
  /TLS handshake timeout/i,
  /the server is currently unable to handle the request/i,
  /etcdserver: request timed out/i,
  /Internal error occurred/i,
  /context deadline exceeded/i,
  // Another `helm repo update` was rewriting the index file while this command read it.
  /no cached repo found|empty index\.yaml/i,
];
// With --wait, helm says "context deadline exceeded" when the rollout itself ran out of time:
// that is the upgrade failing, not the API being briefly away.
const WAIT_TIMEOUT = /context deadline exceeded|timed out waiting for the condition/i;
export const isTransientHelmError = (stderr: string, waited = false) =>
  !(waited && WAIT_TIMEOUT.test(stderr)) && TRANSIENT.some((re) => re.test(stderr));

/**
 * The helm to use when none is configured: the one `npm install` extracted into .tools/bin
 * (a development checkout), else `helm` on PATH (the container image installs it there).
 */
export function defaultHelmBin(): string {
  const bundled = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.tools', 'bin', 'helm');
  return existsSync(bundled) ? bundled : 'helm';
}

const SET_KEY = /^[A-Za-z0-9_.-]+$/;
const SET_VALUE = /^[A-Za-z0-9_.:/@+-]*$/;

/** ReleaseManager over the real helm binary. */
export class HelmCliReleaseManager implements ReleaseManager {
  private readonly bin: string;
  private readonly timeoutMs: number;
  private repoUpdating: Promise<void> = Promise.resolve();

  private readonly storage: HelmSecretStorage | null;

  constructor(private readonly options: HelmCliOptions = {}) {
    this.bin = options.bin ?? defaultHelmBin();
    this.timeoutMs = options.commandTimeoutMs ?? 60_000;
    const driver = (options.env?.HELM_DRIVER ?? process.env.HELM_DRIVER ?? 'secret').toLowerCase();
    this.storage = driver === 'secret' || driver === 'secrets' || driver === '' ? (options.storage ?? null) : null;
  }

  private globalArgs(): string[] {
    const args: string[] = [];
    if (this.options.kubeconfig) args.push('--kubeconfig', this.options.kubeconfig);
    if (this.options.kubeContext) args.push('--kube-context', this.options.kubeContext);
    return args;
  }

  private async helm(args: string[], timeoutMs = this.timeoutMs, signal?: AbortSignal): Promise<string> {
    const waited = args.includes('--wait');
    const { stdout } = await runProgram(this.bin, [...args, ...this.globalArgs()], {
      timeoutMs,
      env: { ...process.env, ...this.options.env },
      signal,
      isTransient: (stderr) => isTransientHelmError(stderr, waited),
    });
    return stdout;
  }

  private helmVersion: Promise<string> | null = null;

  /** Asked once per process: the binary does not change under a running bot. */
  async version(): Promise<string> {
    if (!this.helmVersion) {
      const asked = this.helm(['version', '--template', '{{.Version}}']).then((v) => v.trim());
      this.helmVersion = asked;
      asked.catch(() => {
        if (this.helmVersion === asked) this.helmVersion = null;
      });
    }
    return this.helmVersion;
  }

  private paths(): HelmPaths {
    return helmPaths({ ...process.env, ...this.options.env });
  }

  async repos(): Promise<Record<string, string>> {
    if (this.storage) return readRepositories(this.paths().repositoryConfig);
    try {
      const rows = parseJson<Array<{ name: string; url: string }>>(await this.helm(['repo', 'list', '-o', 'json']), 'helm repo list');
      return Object.fromEntries(rows.map((r) => [r.name, r.url]));
    } catch (err) {
      if (err instanceof ProgramFailed && /no repositories/i.test(err.stderr)) return {};
      throw err;
    }
  }

  async repoUpdate(name: string, url: string, signal?: AbortSignal, options: { readonly maxAgeMs?: number } = {}): Promise<void> {
    if (options.maxAgeMs !== undefined && this.storage && (await this.indexAgeMs(name, url)) < options.maxAgeMs) return;
    // One update at a time per process: concurrent jobs would rewrite the cached index while
    // others read it ("no cached repo found"), and one fresh index serves them all.
    const run = this.repoUpdating.then(async () => {
      const repos = await this.repos();
      if (repos[name] === undefined) await this.helm(['repo', 'add', name, url], this.timeoutMs, signal);
      await this.helm(['repo', 'update', name], this.timeoutMs * 2, signal);
    });
    this.repoUpdating = run.catch(() => {});
    await run;
  }

  /** How old the cached index of a repository configured with this URL is; Infinity when there is none. */
  private async indexAgeMs(name: string, url: string): Promise<number> {
    const paths = this.paths();
    const repos = await readRepositories(paths.repositoryConfig);
    if (repos[name] !== url) return Infinity;
    try {
      return Date.now() - (await stat(join(paths.repositoryCache, `${name}-index.yaml`))).mtimeMs;
    } catch {
      return Infinity;
    }
  }

  async searchCharts(repoName: string): Promise<ChartEntry[]> {
    const ref = `${repoName}/milvus`;
    if (this.storage) return readIndexEntries(this.paths().repositoryCache, repoName, 'milvus');
    const out = await this.helm(['search', 'repo', ref, '--versions', '-o', 'json']);
    return chartEntriesFromHelmSearch(parseJson(out, 'helm search repo'), ref);
  }

  async release(namespace: string, release: string): Promise<HelmReleaseInfo | null> {
    if (this.storage) return this.storage.release(namespace, release);
    const out = await this.helm(['list', '-n', namespace, '--filter', `^${escapeRegex(release)}$`, '--all', '-o', 'json']);
    const rows = parseJson<Array<Record<string, unknown>>>(out, 'helm list');
    const row = rows.find((r) => r.name === release);
    if (!row) return null;
    const chart = String(row.chart ?? '');
    return {
      name: release,
      namespace,
      revision: Number(row.revision),
      status: String(row.status ?? ''),
      chart,
      chartVersion: chartVersionOf(chart),
      appVersion: String(row.app_version ?? ''),
    };
  }

  async history(namespace: string, release: string): Promise<HelmRevisionInfo[]> {
    if (this.storage) return this.storage.history(namespace, release);
    try {
      const out = await this.helm(['history', release, '-n', namespace, '--max', '256', '-o', 'json']);
      const rows = parseJson<Array<Record<string, unknown>>>(out, 'helm history');
      return rows
        .map((r) => ({
          revision: Number(r.revision),
          status: String(r.status ?? ''),
          chart: String(r.chart ?? ''),
          appVersion: String(r.app_version ?? ''),
          description: String(r.description ?? ''),
        }))
        .sort((a, b) => a.revision - b.revision);
    } catch (err) {
      if (err instanceof ProgramFailed && /release: not found/i.test(err.stderr)) return [];
      throw err;
    }
  }

  async values(namespace: string, release: string, options: { readonly all?: boolean; readonly revision?: number } = {}): Promise<Record<string, unknown>> {
    if (this.storage) return this.storage.values(namespace, release, options);
    const out = await this.helm([
      'get', 'values', release, '-n', namespace, '-o', 'json',
      ...(options.all ? ['--all'] : []),
      ...(options.revision !== undefined ? ['--revision', String(options.revision)] : []),
    ]);
    // helm prints `null` for a release installed without values.
    return asRecord(parseJson(out, 'helm get values'));
  }

  async manifest(namespace: string, release: string): Promise<KubeObject[]> {
    const source = `the manifest helm recorded for release ${namespace}/${release}`;
    if (this.storage) return objectsOfManifest(await this.storage.manifest(namespace, release), source);
    return objectsOfManifest(await this.helm(['get', 'manifest', release, '-n', namespace]), source);
  }

  async chartDefaults(chartRef: string, chartVersion: string): Promise<Record<string, unknown>> {
    const out = await this.helm(['show', 'values', chartRef, '--version', chartVersion]);
    try {
      return asRecord(parseHelmYaml(out));
    } catch (err) {
      if (!(err instanceof HelmYamlError)) throw err;
      throw new UnreadableError(`the default values of chart ${chartRef} ${chartVersion} (helm show values)`, yamlProblem(err));
    }
  }

  async renderUpgrade(args: HelmRenderArgs): Promise<KubeObject[]> {
    // helm renders it exactly as the upgrade would (same chart, values and server lookups) and
    // prints the release it would record, manifest included; nothing is applied.
    const out = await this.helm(['upgrade', ...this.upgradeArgs(args), '--dry-run=server', '-o', 'json']);
    const release = parseJson<{ manifest?: unknown }>(out, 'helm upgrade --dry-run');
    const source = `the manifest helm renders for upgrading release ${args.namespace}/${args.release} to chart ${args.chartVersion}`;
    return objectsOfManifest(typeof release.manifest === 'string' ? release.manifest : '', source);
  }

  private upgradeArgs(args: HelmRenderArgs): string[] {
    const sets: string[] = [];
    for (const [k, v] of Object.entries(args.set)) {
      if (!SET_KEY.test(k) || !SET_VALUE.test(v)) throw new Error(`refusing unusual --set ${k}=${v}`);
      sets.push('--set', `${k}=${v}`);
    }
    return [args.release, args.chartRef, '-n', args.namespace, '--version', args.chartVersion, '--reset-then-reuse-values', ...sets];
  }

  async upgrade(args: HelmUpgradeArgs): Promise<void> {
    await this.helm(
      [
        'upgrade',
        ...this.upgradeArgs(args),
        ...(args.wait === false ? [] : ['--wait']),
        '--timeout', `${args.timeoutSeconds}s`,
      ],
      (args.timeoutSeconds + 60) * 1000,
      args.signal,
    );
  }

  async install(args: HelmInstallArgs): Promise<void> {
    const sets: string[] = [];
    for (const [k, v] of Object.entries(args.set)) {
      if (!SET_KEY.test(k) || !SET_VALUE.test(v)) throw new Error(`refusing unusual --set ${k}=${v}`);
      sets.push('--set', `${k}=${v}`);
    }
    // The values go in a file of their own (JSON is YAML): never on a command line, where a
    // process list would show them (they may hold credentials).
    const dir = await mkdtemp(join(tmpdir(), 'mub-values-'));
    const file = join(dir, 'values.json');
    try {
      await writeFile(file, JSON.stringify(args.values), { mode: 0o600 });
      await this.helm(
        ['install', args.release, args.chartRef, '-n', args.namespace, '--version', args.chartVersion, '-f', file, ...sets, '--wait', '--timeout', `${args.timeoutSeconds}s`],
        (args.timeoutSeconds + 60) * 1000,
        args.signal,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async rollback(args: { namespace: string; release: string; revision: number; timeoutSeconds: number; wait?: boolean; signal?: AbortSignal }): Promise<void> {
    await this.helm(
      ['rollback', args.release, String(args.revision), '-n', args.namespace, ...(args.wait === false ? [] : ['--wait']), '--timeout', `${args.timeoutSeconds}s`],
      (args.timeoutSeconds + 60) * 1000,
      args.signal,
    );
  }
}

function asRecord(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/**
 * A multi-document manifest -> its objects (empty documents and comments dropped), read as the
 * API server reads what helm sends. `source` names the manifest and its release, for the error.
 */
export function objectsOfManifest(text: string, source: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const doc of parseHelmYamlStream(text)) {
    if (doc.error) {
      const object = doc.kind && doc.name ? `${doc.kind} ${doc.name}` : 'an object';
      throw new UnreadableError(`${object} (document ${doc.index + 1}) in ${source}`, yamlProblem(doc.error));
    }
    const o = doc.value;
    if (typeof o !== 'object' || o === null) continue;
    const r = o as { kind?: unknown; metadata?: { name?: unknown } };
    if (typeof r.kind !== 'string' || typeof r.metadata?.name !== 'string') continue;
    if (r.kind === 'List' && Array.isArray((o as { items?: unknown }).items)) {
      out.push(...((o as { items: KubeObject[] }).items));
      continue;
    }
    out.push(r.kind === 'ConfigMap' ? withParsedData(o as KubeObject) : (o as KubeObject));
  }
  return out;
}

/** A ConfigMap with its files read (KubeObject.parsedData): the config guard compares them. */
function withParsedData(cm: KubeObject): KubeObject {
  return { ...cm, parsedData: parsedFiles(asRecord(cm.data)) };
}

/**
 * `milvus-4.1.24` -> `4.1.24`: helm's chart column is `<name>-<version>`, and both may hold
 * dashes (`my-chart-4.2.26-beta.1`), so the version is the first dash-separated tail that is a
 * SemVer 2 version (what helm requires of chart versions); '' when none is.
 */
export function chartVersionOf(chart: string): string {
  for (let i = chart.indexOf('-'); i >= 0; i = chart.indexOf('-', i + 1)) {
    const tail = chart.slice(i + 1);
    if (/^\d/.test(tail) && semver.valid(tail) !== null) return tail;
  }
  return '';
}

function yamlProblem(err: HelmYamlError): string {
  return `${err.message}${err.line !== null && !err.message.includes(`line ${err.line}`) ? ` (line ${err.line})` : ''}`;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
