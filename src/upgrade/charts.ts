import { InputError } from './errors.js';
import {
  compareVersions,
  imageTag,
  sameLine,
  sameVersion,
  tryParseVersion,
  type MilvusVersion,
} from './version.js';
import semver from 'semver';

/** One chart of the repository, as `helm search repo <repo>/milvus --versions -o json` lists it. */
export interface ChartEntry {
  readonly chartVersion: string;
  readonly appVersion: string;
}

export interface ChartChoice {
  readonly chartVersion: string;
  readonly appVersion: string;
  /** Set when no chart carries the target: the image tag to force with `image.all.tag`. */
  readonly imageTagOverride: string | null;
  /** One sentence a person reads in the plan. */
  readonly explanation: string;
}

interface ParsedEntry {
  readonly chartVersion: string;
  readonly app: MilvusVersion;
}

/** helm's JSON rows -> entries of the milvus chart only (the repo also has minio, pulsar...). */
export function chartEntriesFromHelmSearch(rows: unknown, chartRef: string): ChartEntry[] {
  if (!Array.isArray(rows)) return [];
  const out: ChartEntry[] = [];
  for (const row of rows) {
    if (typeof row !== 'object' || row === null) continue;
    const r = row as Record<string, unknown>;
    if (r.name !== chartRef) continue;
    if (typeof r.version !== 'string' || typeof r.app_version !== 'string') continue;
    out.push({ chartVersion: r.version, appVersion: r.app_version });
  }
  return out;
}

function parseEntries(index: readonly ChartEntry[]): ParsedEntry[] {
  const parsed: ParsedEntry[] = [];
  for (const e of index) {
    const app = tryParseVersion(e.appVersion);
    if (!app || !semver.valid(e.chartVersion)) continue;
    parsed.push({ chartVersion: e.chartVersion, app });
  }
  // Newest chart first: several charts can carry the same Milvus version.
  return parsed.sort((a, b) => semver.rcompare(a.chartVersion, b.chartVersion));
}

/**
 * Which chart serves `target` (SPEC §2): the newest chart carrying it; when none does (2.4.18 to
 * 2.4.23 in the real index), the newest chart of the same minor line whose Milvus is older than
 * the target, with `image.all.tag` forced to the target. A target with no chart in its line at
 * all is unknown.
 */
export function chooseChart(index: readonly ChartEntry[], target: MilvusVersion): ChartChoice {
  const entries = parseEntries(index);
  const exact = entries.find((e) => sameVersion(e.app, target));
  if (exact) {
    return {
      chartVersion: exact.chartVersion,
      appVersion: exact.app.text,
      imageTagOverride: null,
      explanation: `chart ${exact.chartVersion} carries Milvus ${target.text}`,
    };
  }
  const line = entries.filter((e) => sameLine(e.app, target));
  const older = line.find((e) => compareVersions(e.app, target) < 0);
  if (!older) {
    const known = knownLines(entries);
    throw new InputError(`no chart in the repository serves Milvus ${target.text}`, [
      line.length > 0
        ? `the ${target.major}.${target.minor} line starts at ${line[line.length - 1]!.app.text}`
        : `known Milvus lines: ${known.join(', ') || 'none (is the chart repository empty?)'}`,
      `run "versions" to see what the repository offers`,
    ]);
  }
  const tag = imageTag(target);
  return {
    chartVersion: older.chartVersion,
    appVersion: older.app.text,
    imageTagOverride: tag,
    explanation:
      `no chart carries Milvus ${target.text}; using chart ${older.chartVersion} (the newest for ` +
      `${target.major}.${target.minor}, built for ${older.app.text}) with image.all.tag=${tag}`,
  };
}

function knownLines(entries: readonly ParsedEntry[]): string[] {
  const lines = new Set(entries.map((e) => `${e.app.major}.${e.app.minor}`));
  return [...lines].sort((a, b) => semver.compare(`${a}.0`, `${b}.0`));
}

/** Milvus versions the repository offers, newest first, each with its newest chart. */
export function availableVersions(index: readonly ChartEntry[]): ChartEntry[] {
  const seen = new Set<string>();
  const out: ChartEntry[] = [];
  for (const e of parseEntries(index).sort(
    (a, b) => compareVersions(b.app, a.app) || semver.rcompare(a.chartVersion, b.chartVersion),
  )) {
    if (seen.has(e.app.text)) continue;
    seen.add(e.app.text);
    out.push({ chartVersion: e.chartVersion, appVersion: e.app.text });
  }
  return out;
}
