/**
 * helm's own files, read in-process instead of running `helm repo list` and `helm search repo`:
 * the repositories file and the cached index of each repository (what `helm repo update`
 * writes). Paths follow helm's rules (HELM_REPOSITORY_CONFIG / HELM_REPOSITORY_CACHE, else
 * HELM_CONFIG_HOME / HELM_CACHE_HOME, else the XDG directories).
 */
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import semver from 'semver';
import type { ChartEntry } from '../upgrade/milvus/charts.js';
import { UnreadableError, UpgradeError } from '../upgrade/errors.js';
import { HelmYamlError, parseHelmYaml } from './helm-yaml.js';

export interface HelmPaths {
  readonly repositoryConfig: string;
  readonly repositoryCache: string;
}

export function helmPaths(env: Readonly<Record<string, string | undefined>>): HelmPaths {
  const configHome = env.HELM_CONFIG_HOME || join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'helm');
  const cacheHome = env.HELM_CACHE_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'helm');
  return {
    repositoryConfig: env.HELM_REPOSITORY_CONFIG || join(configHome, 'repositories.yaml'),
    repositoryCache: env.HELM_REPOSITORY_CACHE || join(cacheHome, 'repository'),
  };
}

/** Repository name -> URL; none when the file does not exist yet (as `helm repo list`). */
export async function readRepositories(path: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  const doc = (readHelmFile(text, `helm's repositories file ${path}`) ?? {}) as { repositories?: Array<{ name?: unknown; url?: unknown }> | null };
  const out: Record<string, string> = {};
  for (const r of doc.repositories ?? []) if (typeof r?.name === 'string' && typeof r.url === 'string') out[r.name] = r.url;
  return out;
}

/** Parsed indexes by file, kept while the file's mtime and size stay the same (a real index is megabytes). */
const indexCache = new Map<string, { key: string; entries: Map<string, ChartEntry[]> }>();

/** The versions of `chart` in the repository's cached index, as `helm search repo --versions` lists them. */
export async function readIndexEntries(cacheDir: string, repoName: string, chart: string): Promise<ChartEntry[]> {
  const file = join(cacheDir, `${repoName}-index.yaml`);
  let key: string;
  try {
    const s = await stat(file);
    key = `${s.mtimeMs}:${s.size}`;
  } catch {
    // helm's own wording, so it is read as transient (an update may be writing it).
    throw new UpgradeError('transient', `no cached repo found for ${repoName} (${file}): run "helm repo update ${repoName}"`);
  }
  let cached = indexCache.get(file);
  if (!cached || cached.key !== key) {
    const text = await readFile(file, 'utf8');
    const doc = (readHelmFile(text, `helm's cached index of repository ${repoName} (${file})`) ?? {}) as { entries?: Record<string, Array<{ version?: unknown; appVersion?: unknown; deprecated?: unknown }>> };
    if (!doc.entries) throw new UpgradeError('transient', `empty index.yaml for ${repoName} (${file})`);
    const entries = new Map<string, ChartEntry[]>();
    for (const [name, versions] of Object.entries(doc.entries)) {
      entries.set(
        name,
        (versions ?? [])
          // As `helm search repo` without --devel: no pre-release chart versions.
          .filter((v) => typeof v.version === 'string' && typeof v.appVersion === 'string' && semver.valid(v.version) !== null && semver.prerelease(v.version) === null)
          .map((v) => ({ chartVersion: v.version as string, appVersion: v.appVersion as string })),
      );
    }
    cached = { key, entries };
    indexCache.set(file, cached);
  }
  return [...(cached.entries.get(chart) ?? [])];
}

function readHelmFile(text: string, what: string): unknown {
  try {
    return parseHelmYaml(text);
  } catch (err) {
    if (err instanceof HelmYamlError) throw new UnreadableError(what, err.message);
    throw err;
  }
}
