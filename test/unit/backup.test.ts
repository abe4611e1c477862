import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BACKUP_NAME, backupNameFor, backupProblems, bytesText, type BackupInfo } from '../../src/upgrade/backup.js';

const AT = Date.UTC(2026, 11, 7, 21, 4, 59, 999);

function info(over: Partial<BackupInfo> = {}): BackupInfo {
  return {
    name: 'mub_b',
    id: 'id-1',
    state: 'success',
    progress: 100,
    errorMessage: '',
    sizeBytes: 21_248,
    milvusVersion: 'v2.6.20',
    startTime: 1_765_142_640,
    endTime: 1_765_142_700,
    collections: [
      { name: 'books', db: 'default', sizeBytes: 20_224 },
      { name: 'drafts', db: '', sizeBytes: 1_024 },
      { name: 'empty', db: 'default', sizeBytes: 0 },
    ],
    ...over,
  };
}

describe('backupNameFor', () => {
  it('says where the backup comes from, to the second it was planned', () => {
    expect(backupNameFor('prod', 'v2.6.20', '3.0.3', AT)).toBe('mub_prod_v2_6_20_to_3_0_3_20261207T210459');
    expect(backupNameFor('my-milvus', '2.4.23-gpu', '2.5.4', AT)).toBe('mub_my_milvus_2_4_23_gpu_to_2_5_4_20261207T210459');
  });

  it('is a name milvus-backup accepts, and the same each time for the same plan (a resumed run finds its backup)', () => {
    const part = fc.string({ unit: 'grapheme', maxLength: 80 });
    fc.assert(
      fc.property(part, part, part, fc.integer({ min: 0, max: 4_102_444_800_000 }), (release, from, to, at) => {
        const name = backupNameFor(release, from, to, at);
        expect(name).toMatch(BACKUP_NAME);
        expect(name.length).toBeLessThanOrEqual(128);
        expect(backupNameFor(release, from, to, at)).toBe(name);
      }),
    );
  });

  it('another second or another target is another name (two plans in one minute do not share a backup)', () => {
    expect(backupNameFor('prod', '2.6.20', '3.0.3', AT - 1)).toBe(backupNameFor('prod', '2.6.20', '3.0.3', AT - 999));
    expect(backupNameFor('prod', '2.6.20', '3.0.3', AT - 1000)).not.toBe(backupNameFor('prod', '2.6.20', '3.0.3', AT));
    expect(backupNameFor('prod', '2.6.20', '3.0.3', AT + 1)).not.toBe(backupNameFor('prod', '2.6.20', '3.0.3', AT));
    expect(backupNameFor('prod', '2.6.20', '3.0.4', AT)).not.toBe(backupNameFor('prod', '2.6.20', '3.0.3', AT));
  });
});

describe('backupProblems', () => {
  it('none when every collection the snapshot saw is there, with bytes where it had rows', () => {
    expect(backupProblems(info(), [{ name: 'books', rows: 1200 }, { name: 'drafts', rows: 7 }, { name: 'empty', rows: 0 }, { name: 'empty', rows: null }])).toEqual([]);
  });

  it('a collection missing from the backup, or only in another database', () => {
    const other = info({ collections: [{ name: 'books', db: 'analytics', sizeBytes: 20_224 }] });
    expect(backupProblems(other, [{ name: 'books', rows: 1200 }, { name: 'images', rows: 0 }])).toEqual([
      'backup mub_b has no collection books',
      'backup mub_b has no collection images',
    ]);
  });

  it('a collection that had rows but holds no bytes', () => {
    expect(backupProblems(info(), [{ name: 'empty', rows: 42 }])).toEqual(['backup mub_b holds no data of empty (42 rows before)']);
  });

  it('a backup that did not succeed says how it ended, with the server\'s message, and nothing more (it holds nothing to compare)', () => {
    const failed = info({ state: 'failed', errorMessage: 'backup: run collection task: boom', collections: [] });
    expect(backupProblems(failed, [{ name: 'books', rows: 1 }])).toEqual(['backup mub_b ended failed: backup: run collection task: boom']);
    expect(backupProblems(info({ state: 'timeout' }), [])).toEqual(['backup mub_b ended timeout']);
  });
});

describe('bytesText', () => {
  it('bytes as a person reads them (powers of 1000)', () => {
    expect(bytesText(0)).toBe('0 B');
    expect(bytesText(512)).toBe('512 B');
    expect(bytesText(999)).toBe('999 B');
    expect(bytesText(1000)).toBe('1.0 KB');
    expect(bytesText(20_224)).toBe('20.2 KB');
    expect(bytesText(12_400_000)).toBe('12.4 MB');
    expect(bytesText(3_210_000_000)).toBe('3.2 GB');
    expect(bytesText(5e15)).toBe('5000.0 TB');
  });
});
