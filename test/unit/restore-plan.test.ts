import { describe, expect, it } from 'vitest';
import { planRestore, restoreTaskId, restoreValuesProblems, revisionVersion, type RestoreInputs } from '../../src/upgrade/planner/restore-plan.js';
import { helmInstall, restoreBackup } from '../../src/upgrade/runner/run-restore.js';
import { runGuardProblems } from '../../src/upgrade/runner/run-guard.js';
import { restoreOfferAt } from '../../src/upgrade/backup-lines.js';
import { BACKUP_NAME, type BackupInfo, type RestoreInfo, type RestoreRequest } from '../../src/upgrade/backup.js';
import { ConfiguredBackupAccess } from '../../src/cluster/backup-access.js';
import type { BackupService } from '../../src/upgrade/ports.js';
import type { Plan } from '../../src/upgrade/plan.js';
import type { Step } from '../../src/upgrade/steps.js';
import { UpgradeError } from '../../src/upgrade/errors.js';
import { FakeHelm, fakePorts, stepContext } from './fakes.js';
import { planSettings, tooling } from './helpers.js';

const backup: BackupInfo = {
  name: 'mub_road_2_5_4_to_2_6_15_20261207T230000',
  id: 'b1',
  state: 'success',
  progress: 100,
  errorMessage: '',
  sizeBytes: 17_024,
  milvusVersion: 'v2.5.4',
  startTime: 10,
  endTime: 14,
  collections: [
    { name: 'books', db: 'default', sizeBytes: 16_024 },
    { name: 'archive', db: 'default', sizeBytes: 1_000 },
  ],
};

function inputs(o: Partial<RestoreInputs> = {}): RestoreInputs {
  return {
    cluster: 'test',
    namespace: 'prod',
    source: 'road',
    into: 'road-restored',
    intoExists: false,
    backup,
    backupUrl: 'http://road-milvus-backup.prod.svc:8080',
    revisions: [
      { revision: 1, status: 'superseded', chart: 'milvus-4.2.40', appVersion: '2.5.4', values: { cluster: { enabled: true } } },
      { revision: 2, status: 'deployed', chart: 'milvus-5.0.19', appVersion: '2.6.15', values: { cluster: { enabled: true } } },
    ],
    tooling: tooling(),
    settings: planSettings(),
    restoreUrl: 'http://road-restored-milvus-backup.prod.svc:8080',
    milvusAddress: 'road-restored-milvus.prod.svc:19530',
    expected: [
      { name: 'books', rows: 1000 },
      { name: 'archive', rows: 20 },
    ],
    plannedAt: Date.UTC(2026, 11, 7, 23, 30, 5),
    ...o,
  };
}

function explained(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    return err instanceof UpgradeError ? err.explain() : String(err);
  }
  return 'nothing thrown';
}

describe('a restore into a new release (issue 27)', () => {
  it('installs the new release as the revision that ran the backup\'s version, restores, then checks every collection and its rows there', () => {
    const plan = planRestore(inputs());
    expect(plan).toMatchObject({ kind: 'restore', release: 'road-restored', namespace: 'prod', from: '2.5.4', to: '2.5.4', rollback: null, chart: { version: '4.2.40' } });
    expect(plan.restoreOf).toEqual({ release: 'road', backup: backup.name, backupUrl: 'http://road-milvus-backup.prod.svc:8080', revision: 1, collections: 2, sizeBytes: 17_024 });
    expect(plan.steps.map((s) => s.kind)).toEqual(['helm-repo-update', 'helm-install', 'check-health', 'restore-backup', 'check-data']);
    expect(plan.steps[1]).toMatchObject({ chartRef: 'zilliztech/milvus', chartVersion: '4.2.40', valuesOf: { release: 'road', revision: 1 }, set: {} });
    expect(plan.steps[2]).toMatchObject({ sinceStep: 1 });
    expect(plan.steps[3]).toMatchObject({ url: 'http://road-restored-milvus-backup.prod.svc:8080', backup: backup.name, taskId: 'mub_restore_road_restored_20261207T233005', collections: ['books', 'archive'] });
    expect(plan.steps[4]).toMatchObject({ address: 'road-restored-milvus.prod.svc:19530', expected: [{ name: 'books', loaded: false, rowCount: 1000 }, { name: 'archive', loaded: false, rowCount: 20 }], canaries: [] });
    expect(plan.observed).toEqual({ helmRevision: 0, helmStatus: 'absent', chartVersion: '', images: {} });
    expect(BACKUP_NAME.test(restoreTaskId('a'.repeat(53), 0))).toBe(true);
  });

  it('takes the version from the revision\'s image tag over its chart\'s, and sets the tag when only the backup says it', () => {
    expect(revisionVersion({ appVersion: '2.6.20', values: { image: { all: { tag: 'v3.0.3' } } } })?.text).toBe('3.0.3');
    // The newest revision that ran 2.6.20 (revision 3 ran 3.0.3 on the same chart).
    const plan = planRestore(
      inputs({
        backup: { ...backup, milvusVersion: 'v2.6.20' },
        revisions: [
          { revision: 2, status: 'superseded', chart: 'milvus-5.0.22', appVersion: '2.6.20', values: {} },
          { revision: 3, status: 'deployed', chart: 'milvus-5.0.22', appVersion: '2.6.20', values: { image: { all: { tag: 'v3.0.3' } } } },
        ],
      }),
    );
    expect(plan.steps[1]).toMatchObject({ valuesOf: { revision: 2 }, set: {} });
    const tagged = planRestore(inputs({ backup: { ...backup, milvusVersion: 'v2.5.9' }, revisions: [{ revision: 4, status: 'superseded', chart: 'milvus-4.2.40', appVersion: '2.5.4', values: { image: { all: { tag: 'v2.5.9' } } } }] }));
    expect(tagged.steps[1]).toMatchObject({ set: {} });
    expect(planRestore(inputs({ milvusAddress: null })).steps.map((s) => s.kind)).not.toContain('check-data');
  });

  it('without the upgrade\'s snapshot, the data gate checks the backup\'s collections are there (rows not known)', () => {
    const plan = planRestore(inputs({ expected: null }));
    expect(plan.steps[4]).toMatchObject({ expected: [{ name: 'books', rowCount: null }, { name: 'archive', rowCount: null }] });
  });

  it('refuses what cannot make a new release, saying why', () => {
    expect(() => planRestore(inputs({ intoExists: true }))).toThrow('release road-restored already exists in prod: a restore goes into a NEW release');
    expect(() => planRestore(inputs({ into: 'road' }))).toThrow('a restore goes into a NEW release, not into road itself');
    expect(() => planRestore(inputs({ into: 'Road_2' }))).toThrow(/not a valid Helm release name/);
    expect(() => planRestore(inputs({ backup: { ...backup, state: 'failed', errorMessage: 'no space' } }))).toThrow(`backup ${backup.name} ended failed (no space): there is nothing to restore`);
    expect(() => planRestore(inputs({ backup: { ...backup, milvusVersion: 'v2.4.1' } }))).toThrow('no helm revision of road ran Milvus 2.4.1');
    expect(explained(() => planRestore(inputs({ restoreUrl: null })))).toMatch(/no milvus-backup server is configured for road-restored/);
    const external = inputs({ revisions: [{ revision: 1, status: 'superseded', chart: 'milvus-4.2.40', appVersion: '2.5.4', values: { externalS3: { enabled: true }, fullnameOverride: 'shared' } }] });
    expect(explained(() => planRestore(external))).toMatch(/^cannot restore backup mub_road\S+ into road-restored[\s\S]*external object storage[\s\S]*fullnameOverride=shared/);
    expect(restoreValuesProblems('road', { externalS3: { enabled: true }, externalEtcd: { enabled: false }, fullnameOverride: 'shared' })).toEqual([
      'road uses external object storage (externalS3.enabled=true): the new release would share it with road',
      "road sets fullnameOverride=shared: the new release's objects would take the names of road's",
    ]);
  });

  it('the run guard lets a restore install only itself, with its source\'s values, its chart and the worker\'s milvus-backup for it', () => {
    const plan = planRestore(inputs());
    const guard = (p: Plan, backupUrl = 'http://road-restored-milvus-backup.prod.svc:8080') =>
      runGuardProblems({ cluster: 'test', namespace: 'prod', release: 'road-restored', plan: p, settings: planSettings(), liveMilvusRepository: null, milvusAddress: 'road-restored-milvus.prod.svc:19530', backupUrl });
    expect(guard(plan)).toEqual([]);
    const withStep = (i: number, change: Partial<Step>) => ({ ...plan, steps: plan.steps.map((s, j) => (j === i ? ({ ...s, ...change } as Step) : s)) });
    expect(guard(withStep(1, { valuesOf: { release: 'other', revision: 1 } } as Partial<Step>))).toEqual(['a step installs with the values of other, not of road whose backup it restores']);
    expect(guard(withStep(1, { chartRef: 'evil/milvus' } as Partial<Step>))).toEqual(['a step installs chart evil/milvus, not zilliztech/milvus']);
    expect(guard(withStep(1, { set: { 'image.repository': 'evil/milvus' } } as Partial<Step>))).toEqual(['a step installs with --set image.repository=evil/milvus']);
    expect(guard({ ...plan, kind: 'upgrade' })).toContain('a step installs a release, which only a restore plan does');
    expect(guard(plan, 'http://elsewhere:8080')).toEqual(['the plan restores with http://road-restored-milvus-backup.prod.svc:8080, not with http://elsewhere:8080 as this worker\'s config says for road-restored']);
  });

  it('per-release addresses in the config win over the template', () => {
    const access = new ConfiguredBackupAccess({ urlTemplate: 'http://{release}-milvus-backup.{namespace}.svc:8080', byRelease: { 'prod/road-restored': 'http://127.0.0.1:9000' }, policy: 'one-way' }, {} as BackupService);
    expect(access.url({ namespace: 'prod', release: 'road-restored', fullname: 'road-restored-milvus' })).toBe('http://127.0.0.1:9000');
    expect(access.url({ namespace: 'prod', release: 'road', fullname: 'road-milvus' })).toBe('http://road-milvus-backup.prod.svc:8080');
  });
});

describe('the offer an upgrade that ended makes', () => {
  const hop = (firstStep: number, restore: boolean) => ({
    from: '2.5.4', to: '2.6.15', path: 'helm' as const, chart: null, set: {}, firstStep, steps: [], changes: [], warnings: [], rollback: null, noRollback: 'into 2.6',
    backup: { name: 'mub_b', url: 'http://b', reason: '', required: false, collections: [{ name: 'books', rows: 5 }] },
    restore: restore ? { backup: 'mub_b', url: 'http://b', into: 'road-restored', version: '2.5.4', chart: '4.2.40', estimatedSeconds: 300 } : null,
  });
  const plan = (restore: boolean) => ({ kind: 'upgrade', rollback: null, hops: [hop(0, restore)], steps: [{}, {}, {}] }) as unknown as Plan;
  it('is the restore once the hop\'s backup was taken, never before it, and none without a backup', () => {
    expect(restoreOfferAt(plan(true), 3)).toMatchObject({ offer: { backup: 'mub_b', into: 'road-restored' }, expected: [{ name: 'books', rows: 5 }] });
    expect(restoreOfferAt(plan(true), 0)).toBeNull();
    expect(restoreOfferAt(plan(false), 3)).toBeNull();
    expect(restoreOfferAt({ ...plan(true), kind: 'rollback' }, 3)).toBeNull();
  });
});

/** milvus-backup's restore in memory: a restore runs `reads` reads, then ends as `ends`. */
class MemoryRestores implements BackupService {
  readonly asked: RestoreRequest[] = [];
  tasks = new Map<string, RestoreInfo>();
  private reads = 0;
  constructor(private readonly ends: Partial<RestoreInfo> = {}, private readonly steps = 2) {}
  async get() {
    return null;
  }
  async listNames() {
    return [];
  }
  async create() {}
  async restore(_url: string, r: RestoreRequest) {
    this.asked.push(r);
    this.tasks.set(r.id!, { id: r.id!, state: 'executing', progress: 10, errorMessage: '', startTime: 5, endTime: 9, collections: (r.collectionNames ?? []).map((name) => ({ name, state: 'success', progress: 100 })) });
    return r.id!;
  }
  async getRestore(_url: string, id: string) {
    const t = this.tasks.get(id);
    if (!t) return null;
    this.reads += 1;
    return this.reads > this.steps ? { ...t, state: 'success' as const, progress: 100, ...this.ends } : t;
  }
}

describe('the restore steps', () => {
  const plan = planRestore(inputs());
  const install = plan.steps[1] as Extract<Step, { kind: 'helm-install' }>;
  const restore = plan.steps[3] as Extract<Step, { kind: 'restore-backup' }>;
  const ctx = (helm: FakeHelm, service: BackupService = new MemoryRestores()) => ({
    ...stepContext({ ...fakePorts({ helm }), backups: { service, policy: 'one-way' as const, url: () => restore.url, now: () => 0 } }, undefined, 1),
    release: 'road-restored',
    namespace: 'prod',
  });

  it('install: the values helm recorded of the source revision, read when it runs; a resumed run finds its release installed', async () => {
    const helm = new FakeHelm(null);
    helm.valuesByRevision.set(1, { cluster: { enabled: true }, minio: { persistence: { size: '10Gi' } } });
    const out = await helmInstall(install, ctx(helm));
    expect(helm.installs).toEqual([expect.objectContaining({ release: 'road-restored', namespace: 'prod', chartVersion: '4.2.40', values: { cluster: { enabled: true }, minio: { persistence: { size: '10Gi' } } } })]);
    expect(out.detail).toMatch(/road-restored installed: .*with the values of road revision 1/);
    const resumed = new FakeHelm({ name: 'road-restored', namespace: 'prod', revision: 1, status: 'deployed', chart: 'milvus-4.2.40', chartVersion: '4.2.40', appVersion: '2.5.4' });
    expect(await helmInstall(install, ctx(resumed))).toMatchObject({ skipped: true });
    expect(resumed.installs).toEqual([]);
  });

  it('install: a release left half-installed, or values that now point at shared stores, stop it with nothing installed', async () => {
    const failed = new FakeHelm({ name: 'road-restored', namespace: 'prod', revision: 1, status: 'failed', chart: 'milvus-4.2.40', chartVersion: '4.2.40', appVersion: '2.5.4' });
    await expect(helmInstall(install, ctx(failed))).rejects.toThrow('release road-restored is "failed" (chart 4.2.40): its install did not finish');
    const shared = new FakeHelm(null);
    shared.valuesByRevision.set(1, { externalEtcd: { enabled: true } });
    await expect(helmInstall(install, ctx(shared))).rejects.toThrow('the values of road revision 1 cannot make a new release');
    expect(shared.installs).toEqual([]);
  });

  it('restore: asked once under the plan\'s task id, waited for; a resumed run does not ask again; a failed one stops', async () => {
    const service = new MemoryRestores();
    const out = await restoreBackup(restore, ctx(new FakeHelm(null), service));
    expect(service.asked).toEqual([{ backupName: backup.name, collectionNames: ['books', 'archive'], id: restore.taskId }]);
    expect(out.detail).toBe(`backup ${backup.name} restored into road-restored: 2 collection(s) in 4s`);
    const again = await restoreBackup(restore, ctx(new FakeHelm(null), service));
    expect(service.asked).toHaveLength(1);
    expect(again.detail).toMatch(/\(found, asked earlier\)/);
    const failing = new MemoryRestores({ state: 'failed', errorMessage: 'collection already exist' });
    await expect(restoreBackup(restore, ctx(new FakeHelm(null), failing))).rejects.toThrow(`the restore of ${backup.name} into road-restored ended failed: collection already exist`);
  });
});
