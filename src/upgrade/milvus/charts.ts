import { InputError } from '../errors.js';
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

/** Charts a plan must not use for this release, and why (one sentence). */
export interface ChartExclusion {
  readonly excludes: (chartVersion: string) => boolean;
  readonly why: string;
}

export interface ChartOptions {
  readonly exclude?: ChartExclusion | null;
  /** A chart version the person asked for (`--chart`): used as asked, even an excluded one. */
  readonly chartVersion?: string | null;
}

/**
 * Which chart serves `target` (SPEC §2): the newest chart carrying it; when none does (2.4.18 to
 * 2.4.23 in the real index), the newest chart of the same minor line whose Milvus is older than
 * the target, with `image.all.tag` forced to the target. A target with no chart in its line at
 * all is unknown. Excluded charts are passed over, and the explanation says so.
 */
export function chooseChart(index: readonly ChartEntry[], target: MilvusVersion, options: ChartOptions = {}): ChartChoice {
  const all = parseEntries(index);
  if (options.chartVersion) return askedChart(all, target, options.chartVersion);
  const exclusion = options.exclude ?? null;
  const entries = exclusion ? all.filter((e) => !exclusion.excludes(e.chartVersion)) : all;
  const skipped = exclusion && all.some((e) => sameLine(e.app, target) && exclusion.excludes(e.chartVersion)) ? ` (${exclusion.why})` : '';
  const exact = entries.find((e) => sameVersion(e.app, target));
  if (exact) {
    return {
      chartVersion: exact.chartVersion,
      appVersion: exact.app.text,
      imageTagOverride: null,
      explanation: `chart ${exact.chartVersion} carries Milvus ${target.text}${skipped}`,
    };
  }
  const line = entries.filter((e) => sameLine(e.app, target));
  const older = line.find((e) => compareVersions(e.app, target) < 0);
  if (!older) {
    const known = knownLines(all);
    const fullLine = all.filter((e) => sameLine(e.app, target));
    throw new InputError(`no chart in the repository serves Milvus ${target.text}${skipped}`, [
      fullLine.length > 0
        ? `the ${target.major}.${target.minor} line starts at ${fullLine[fullLine.length - 1]!.app.text}`
        : `known Milvus lines: ${known.join(', ') || 'none (is the chart repository empty?)'}`,
      `run "versions" to see what the repository offers`,
    ]);
  }
  const tag = imageTag(target);
  const carriers = all.filter((e) => sameVersion(e.app, target));
  const why = carriers.length
    ? `charts ${carriers.map((e) => e.chartVersion).join(', ')} carry Milvus ${target.text} but are passed over${skipped}`
    : `no chart carries Milvus ${target.text}${skipped}`;
  return {
    chartVersion: older.chartVersion,
    appVersion: older.app.text,
    imageTagOverride: tag,
    explanation:
      `${why}; using chart ${older.chartVersion} (the newest ${skipped ? 'fit ' : ''}for ` +
      `${target.major}.${target.minor}, built for ${older.app.text}) with image.all.tag=${tag}`,
  };
}

function askedChart(all: readonly ParsedEntry[], target: MilvusVersion, chartVersion: string): ChartChoice {
  const entry = all.find((e) => e.chartVersion === chartVersion);
  if (!entry) {
    throw new InputError(`chart ${chartVersion} is not in the repository`, [`run "versions" to see what the repository offers`]);
  }
  if (!sameLine(entry.app, target)) {
    throw new InputError(`chart ${chartVersion} is built for Milvus ${entry.app.text}, not for the ${target.major}.${target.minor} line of ${target.text}`, [
      'leave out --chart and the bot picks the chart',
    ]);
  }
  const exact = sameVersion(entry.app, target);
  return {
    chartVersion: entry.chartVersion,
    appVersion: entry.app.text,
    imageTagOverride: exact ? null : imageTag(target),
    explanation: exact
      ? `chart ${entry.chartVersion} as asked; it carries Milvus ${target.text}`
      : `chart ${entry.chartVersion} as asked (built for ${entry.app.text}) with image.all.tag=${imageTag(target)}`,
  };
}

/** Charts that would lose a queue: what a refused plan tells the person besides `why`. */
export interface UnsafeCharts extends ChartExclusion {
  /** The versions, as a person reads them. */
  readonly range: string;
  readonly advice: string;
}

/** Charts 4.2.21-4.2.29 declare Pulsar v2 and v3 under one chart name: helm renders neither. */
export const PULSAR_V2_UNSAFE_CHARTS: UnsafeCharts = {
  excludes: (v) => semver.satisfies(v, '>=4.2.21 <4.2.30', { includePrerelease: true }),
  why: 'charts 4.2.21-4.2.29 are passed over: they cannot render Pulsar v2 and would delete its StatefulSets (chart README: Pulsar v2 users use 4.2.30 or later)',
  range: '4.2.21-4.2.29',
  advice: 'charts 4.2.21-4.2.29 cannot render Pulsar v2 whatever is set (chart README: use 4.2.30 or later with --set pulsar.enabled=true,pulsarv3.enabled=false)',
};

/** Semver order of chart versions (a version that is not semver sorts first). */
export function compareChartVersions(a: string, b: string): number {
  const va = semver.valid(a);
  const vb = semver.valid(b);
  if (!va || !vb) return va ? 1 : vb ? -1 : 0;
  return semver.compare(va, vb);
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

/** A helm release of the Milvus chart (`milvus-<version>`): helm keeps every other chart's releases too. */
export function isMilvusRelease(r: { readonly chart: string; readonly chartVersion: string }): boolean {
  return r.chart === `milvus-${r.chartVersion}`;
}
