import { describe, expect, it } from 'vitest';
import {
  availableVersions,
  chartEntriesFromHelmSearch,
  chooseChart,
  type ChartEntry,
} from '../../src/upgrade/milvus/charts.js';
import { InputError } from '../../src/upgrade/errors.js';
import { parseVersion } from '../../src/upgrade/milvus/version.js';
import { helmSearchRows, milvusIndex, readIndexRows, thrown } from './helpers.js';

const index = milvusIndex();
const choose = (target: string, entries: readonly ChartEntry[] = index) => chooseChart(entries, parseVersion(target));

describe('the index fixture', () => {
  it('is the real repository index, with other charts in it', () => {
    const rows = readIndexRows();
    const charts = new Set(rows.map((r) => r.chart));
    expect(charts).toEqual(new Set(['milvus', 'minio', 'pulsarv2', 'tei']));
    expect(index).toHaveLength(304);
    expect(index).toContainEqual({ chartVersion: '4.2.0', appVersion: '2.4.6' });
    expect(index).toContainEqual({ chartVersion: '5.0.0', appVersion: '2.6.0' });
    // The filter really removes something that looks like a Milvus version.
    expect(rows).toContainEqual({ chart: 'pulsarv2', chartVersion: '2.7.8', appVersion: '2.7.4' });
    expect(index.some((e) => e.appVersion.startsWith('2.7.'))).toBe(false);
  });
});

describe('chooseChart on the real index (SPEC §2)', () => {
  it.each([
    // target, newest chart carrying it
    ['2.3.11', '4.1.24'],
    ['2.4.0', '4.1.29'],
    ['v2.4.0', '4.1.29'],
    ['2.4.5', '4.1.36'], // 4.1.34, 4.1.35 and 4.1.36 carry 2.4.5
    ['2.4.13', '4.2.14'],
    ['2.4.13-hotfix', '4.2.16'],
    ['2.4.16', '4.2.23'], // 4.2.20 .. 4.2.23 carry 2.4.16
    ['2.4.17', '4.2.25'], // 4.2.24 and 4.2.25 carry 2.4.17; the last chart for 2.4
    ['2.5.0-beta', '4.2.32'], // 4.2.26 .. 4.2.32 carry 2.5.0-beta
    ['2.6.0', '5.0.1'], // 5.0.0 and 5.0.1 carry 2.6.0
  ])('%s -> chart %s, no image override', (target, chart) => {
    const c = choose(target);
    expect(c.chartVersion).toBe(chart);
    expect(c.appVersion).toBe(parseVersion(target).text);
    expect(c.imageTagOverride).toBeNull();
    expect(c.explanation).toContain(chart);
  });

  it('2.4.6 -> the newest of the charts carrying it (4.2.0, 4.2.1, 4.2.2)', () => {
    expect(index.filter((e) => e.appVersion === '2.4.6').map((e) => e.chartVersion).sort()).toEqual([
      '4.2.0',
      '4.2.1',
      '4.2.2',
    ]);
    expect(choose('2.4.6')).toMatchObject({ chartVersion: '4.2.2', appVersion: '2.4.6', imageTagOverride: null });
  });

  it('2.6.0 is served by a 5.0.x chart', () => {
    expect(choose('2.6.0').chartVersion).toMatch(/^5\.0\.\d+$/);
  });

  it.each(['2.4.18', '2.4.20', '2.4.23', 'v2.4.23'])(
    '%s (no chart carries it) -> 4.2.25 with image.all.tag override',
    (target) => {
      const c = choose(target);
      const tag = `v${parseVersion(target).text}`;
      expect(c).toMatchObject({ chartVersion: '4.2.25', appVersion: '2.4.17', imageTagOverride: tag });
      expect(c.explanation).toContain('no chart carries');
      expect(c.explanation).toContain(`image.all.tag=${tag}`);
    },
  );

  it('2.4.23 explains the override plainly', () => {
    expect(choose('2.4.23').explanation).toBe(
      'no chart carries Milvus 2.4.23; using chart 4.2.25 (the newest for 2.4, built for 2.4.17) with image.all.tag=v2.4.23',
    );
  });

  it.each(['9.9.9', '2.7.0', '2.7.5', '1.6.0', '3.0.0'])('%s (no chart in its line) -> InputError', (target) => {
    const err = thrown(() => choose(target));
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toContain(`serves Milvus ${target}`);
    expect((err as InputError).details.join('\n')).toContain('known Milvus lines');
    expect((err as InputError).details.join('\n')).toContain('2.6');
  });

  it('a target older than the first of its line -> InputError naming where the line starts', () => {
    const err = thrown(() => choose('2.4.0-beta')) as InputError;
    expect(err).toBeInstanceOf(InputError);
    expect(err.details.join('\n')).toContain('the 2.4 line starts at 2.4.0');
  });

  it('an empty index -> InputError', () => {
    const err = thrown(() => choose('2.4.23', [])) as InputError;
    expect(err).toBeInstanceOf(InputError);
    expect(err.details.join('\n')).toContain('none');
  });

  it('ignores entries whose versions do not parse', () => {
    const entries: ChartEntry[] = [
      { chartVersion: '4.2.25', appVersion: '2.4.17' },
      { chartVersion: 'not-a-version', appVersion: '2.4.17' },
      { chartVersion: '9.0.0', appVersion: 'master' },
    ];
    expect(choose('2.4.17', entries).chartVersion).toBe('4.2.25');
  });
});

describe('chartEntriesFromHelmSearch', () => {
  const rows = helmSearchRows('zilliztech');

  it('keeps only the milvus chart rows of the real index', () => {
    const entries = chartEntriesFromHelmSearch(rows, 'zilliztech/milvus');
    expect(rows.length).toBe(316);
    expect(entries).toHaveLength(304);
    expect(entries).toEqual(index);
    expect(entries).not.toContainEqual({ chartVersion: '2.7.8', appVersion: '2.7.4' });
    expect(entries).not.toContainEqual({ chartVersion: '1.6.0', appVersion: '1.6.0' });
  });

  it('filtering matters: pulsarv2 would otherwise serve 2.7.5 and tei 1.6.0', () => {
    const everything = rows.map((r) => ({ chartVersion: String(r.version), appVersion: String(r.app_version) }));
    expect(choose('2.7.5', everything).chartVersion).toBe('2.7.8');
    expect(choose('1.6.0', everything).chartVersion).toBe('1.6.0');
    const milvusOnly = chartEntriesFromHelmSearch(rows, 'zilliztech/milvus');
    expect(thrown(() => choose('2.7.5', milvusOnly))).toBeInstanceOf(InputError);
    expect(thrown(() => choose('1.6.0', milvusOnly))).toBeInstanceOf(InputError);
  });

  it('choice from helm-search rows equals choice from the TSV', () => {
    const entries = chartEntriesFromHelmSearch(rows, 'zilliztech/milvus');
    expect(choose('2.4.23', entries)).toEqual(choose('2.4.23'));
    expect(choose('2.4.16', entries).chartVersion).toBe('4.2.23');
  });

  it('matches the chart reference exactly (other repos, similar names)', () => {
    const mixed = [
      { name: 'zilliztech/milvus', version: '4.2.25', app_version: '2.4.17' },
      { name: 'zilliztech/milvus-operator', version: '1.0.0', app_version: '1.0.0' },
      { name: 'other/milvus', version: '9.9.9', app_version: '2.4.99' },
      { name: 'zilliztech/minio', version: '8.0.19', app_version: 'master' },
      { name: 'zilliztech/pulsarv2', version: '2.7.8', app_version: '2.7.4' },
      { name: 'zilliztech/tei', version: '1.6.0', app_version: '1.6.0' },
    ];
    expect(chartEntriesFromHelmSearch(mixed, 'zilliztech/milvus')).toEqual([{ chartVersion: '4.2.25', appVersion: '2.4.17' }]);
    expect(chartEntriesFromHelmSearch(mixed, 'other/milvus')).toEqual([{ chartVersion: '9.9.9', appVersion: '2.4.99' }]);
  });

  it('skips malformed rows and non-array input', () => {
    const bad: unknown[] = [
      null,
      42,
      'zilliztech/milvus',
      { name: 'zilliztech/milvus', version: 4.2, app_version: '2.4.17' },
      { name: 'zilliztech/milvus', version: '4.2.25' },
      { name: 'zilliztech/milvus', version: '4.2.24', app_version: '2.4.17' },
    ];
    expect(chartEntriesFromHelmSearch(bad, 'zilliztech/milvus')).toEqual([{ chartVersion: '4.2.24', appVersion: '2.4.17' }]);
    expect(chartEntriesFromHelmSearch({ name: 'zilliztech/milvus' }, 'zilliztech/milvus')).toEqual([]);
    expect(chartEntriesFromHelmSearch(null, 'zilliztech/milvus')).toEqual([]);
  });
});

describe('availableVersions', () => {
  const versions = availableVersions(index);

  it('lists each Milvus version once, newest first, with its newest chart', () => {
    expect(versions[0]).toEqual({ chartVersion: '5.0.19', appVersion: '2.6.15' });
    const texts = versions.map((e) => e.appVersion);
    expect(new Set(texts).size).toBe(texts.length);
    expect(versions).toContainEqual({ chartVersion: '4.2.23', appVersion: '2.4.16' });
    expect(versions).toContainEqual({ chartVersion: '4.2.25', appVersion: '2.4.17' });
    expect(versions).toContainEqual({ chartVersion: '4.2.32', appVersion: '2.5.0-beta' });
    expect(versions).toContainEqual({ chartVersion: '4.2.2', appVersion: '2.4.6' });
  });

  it('orders the hotfix after its release and before the next patch', () => {
    const texts = versions.map((e) => e.appVersion);
    // Each version must be listed: a missing one (-1) must not pass for "before".
    const order = ['2.5.0', '2.5.0-beta', '2.4.17', '2.4.14', '2.4.13-hotfix', '2.4.13'];
    expect(texts.filter((t) => order.includes(t))).toEqual(order);
  });

  it('never lists versions no chart carries', () => {
    expect(versions.map((e) => e.appVersion)).not.toContain('2.4.23');
  });
});
