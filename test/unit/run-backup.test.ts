import { describe, expect, it } from 'vitest';
import { takeBackup } from '../../src/upgrade/runner/run-backup.js';
import type { BackupInfo } from '../../src/upgrade/backup.js';
import type { BackupService } from '../../src/upgrade/ports.js';
import type { Step } from '../../src/upgrade/steps.js';
import { fakePorts, stepContext } from './fakes.js';

/** milvus-backup in memory: a create runs `steps` reads, then ends as `ends`. */
class MemoryBackups implements BackupService {
  readonly creates: string[] = [];
  tasks = new Map<string, BackupInfo>();
  stored: string[] = [];
  constructor(private readonly ends: Partial<BackupInfo> = {}, private readonly steps = 2) {}
  private reads = 0;
  async get(_url: string, name: string) {
    const t = this.tasks.get(name);
    if (!t) return null;
    this.reads += 1;
    return this.reads > this.steps ? { ...t, state: 'success' as const, progress: 100, ...this.ends } : t;
  }
  async listNames() {
    return this.stored;
  }
  async create(_url: string, name: string) {
    this.creates.push(name);
    this.tasks.set(name, { name, id: 't1', state: 'executing', progress: 10, errorMessage: '', sizeBytes: 2048, milvusVersion: 'v2.6.20', startTime: 100, endTime: 112, collections: [{ name: 'books', db: 'default', sizeBytes: 2000 }, { name: 'empty', db: 'default', sizeBytes: 0 }] });
  }
  async restore(): Promise<string> {
    throw new Error('not used');
  }
  async getRestore() {
    return null;
  }
}

const step: Extract<Step, { kind: 'backup' }> = { kind: 'backup', url: 'http://b:8080', name: 'mub_prod_x', expected: [{ name: 'books', rows: 10 }, { name: 'empty', rows: 0 }], timeoutSeconds: 60, description: '' };
const ctxWith = (service: BackupService) => stepContext({ ...fakePorts(), backups: { service, policy: 'one-way', url: () => 'http://b:8080', now: () => 0 } });

describe('the backup step', () => {
  it('asks once under the plan\'s name, waits, and checks every collection of the snapshot is in it', async () => {
    const service = new MemoryBackups();
    const out = await takeBackup(step, ctxWith(service));
    expect(service.creates).toEqual(['mub_prod_x']);
    expect(out.detail).toBe('backup mub_prod_x: 2 collection(s), 2.0 KB in 12s, from Milvus v2.6.20; all 2 collection(s) of the snapshot in it');
  });

  it('a resumed run finds the backup it asked for and does not ask again', async () => {
    const service = new MemoryBackups();
    await service.create('', 'mub_prod_x');
    service.creates.length = 0;
    const out = await takeBackup(step, ctxWith(service));
    expect(service.creates).toEqual([]);
    expect(out.detail).toMatch(/^backup mub_prod_x \(found, started earlier\)/);
  });

  it('a failed backup, or one without a collection the snapshot saw, stops the step', async () => {
    await expect(takeBackup(step, ctxWith(new MemoryBackups({ state: 'failed', errorMessage: 'no space' })))).rejects.toThrow('backup mub_prod_x ended failed: no space');
    const short = new MemoryBackups({ collections: [{ name: 'empty', db: '', sizeBytes: 0 }] });
    await expect(takeBackup(step, ctxWith(short))).rejects.toThrow('backup mub_prod_x has no collection books');
  });

  it('a backup a restarted server still lists but no longer reports: stops at once instead of creating it again', async () => {
    const service = new MemoryBackups();
    service.stored = ['mub_prod_x'];
    await expect(takeBackup(step, ctxWith(service))).rejects.toThrow(/is in milvus-backup's storage but the server no longer reports it/);
    expect(service.creates).toEqual([]);
  });

  it('a worker without milvus-backup refuses the step, saying what to configure', async () => {
    await expect(takeBackup(step, stepContext(fakePorts()))).rejects.toThrow(/this worker has no milvus-backup service/);
  });
});
