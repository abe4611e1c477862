/**
 * The data gate's rules (issue 26): what a plan reads of Milvus, where the gate goes in a plan,
 * when an unchecked plan is refused, and what the gate's step accepts after a hop.
 */
import { describe, expect, it } from 'vitest';
import { dataProblems, planDataLines, type PlanData } from '../../src/upgrade/data-snapshot.js';
import { PreflightError, UpgradeError } from '../../src/upgrade/errors.js';
import { dataGateStep, readPlanData, refuseUncheckedData, withDataGate } from '../../src/upgrade/planner/data-gate.js';
import { checkData } from '../../src/upgrade/runner/run-data.js';
import { makeRollbackPlan, makeUpgradePlan, type EngineDeps } from '../../src/upgrade/planner/service.js';
import type { ChartEntry } from '../../src/upgrade/milvus/charts.js';
import type { ReleaseObserver } from '../../src/upgrade/ports.js';
import type { Step } from '../../src/upgrade/steps.js';
import { FakeHelm, FakeMilvusAccess, fakePorts, snapshotOf, stepContext } from './fakes.js';
import { milvusIndex, planSettings, rejected, releaseState, revision, tooling } from './helpers.js';

const where = { namespace: 'milvus', release: 'prod', fullname: 'prod-milvus' };

describe('dataProblems', () => {
  const before = [
    { name: 'books', loaded: true, rowCount: 1000 },
    { name: 'cold', loaded: false, rowCount: 50 },
  ];

  it('finds nothing when Milvus holds what it held', () => {
    expect(dataProblems(before, snapshotOf([['books', 'loaded', 1200], ['cold', 'not-loaded', 50]]))).toEqual([]);
  });

  it('names the collection and the check that fails', () => {
    expect(dataProblems(before, snapshotOf([['books', 'loading', 900]], false))).toEqual([
      'CheckHealth: unhealthy (querynode down)',
      'collection books: still loading (it was loaded before)',
      'collection books: 900 rows, fewer than the 1,000 before',
      'collection cold: gone',
    ]);
  });

  it('says how far a load has come when Milvus tells', () => {
    const now = snapshotOf([['books', 'loading', 1000]]);
    const withProgress = { ...now, collections: [{ ...now.collections[0]!, loadingProgress: 42 }] };
    expect(dataProblems([{ name: 'books', loaded: true, rowCount: 1000 }], withProgress)).toEqual(['collection books: still loading at 42% (it was loaded before)']);
  });

  it('does not ask a collection that was not loaded to be loaded, nor compare unknown row counts', () => {
    expect(dataProblems([{ name: 'cold', loaded: false, rowCount: null }], snapshotOf([['cold', 'not-loaded', 0]]))).toEqual([]);
  });
});

describe('readPlanData', () => {
  it('reads the snapshot and a canary for each loaded collection with rows, at the config\'s address', async () => {
    const m = new FakeMilvusAccess();
    m.snapshots = [snapshotOf([['books', 'loaded', 10], ['empty', 'loaded', 0], ['cold', 'not-loaded', 5]])];
    m.canaryIds = { books: ['1', '2', '3'] };
    const data = await readPlanData(m, where);
    expect(data.address).toBe('prod-milvus.milvus.svc:19530');
    expect(data.notChecked).toBeNull();
    expect(data.required).toBe(true);
    expect(data.canaries.map((c) => [c.collection, c.ids])).toEqual([['books', ['1', '2', '3']]]);
  });

  it('a bad address template or a collection without a canary key does not fail the plan', async () => {
    const m = new FakeMilvusAccess();
    m.address = () => {
      throw new UpgradeError('bad-input', 'MILVUS_ADDRESS gives "x" for prod, which is not host:port');
    };
    expect(await readPlanData(m, where)).toMatchObject({ address: null, notChecked: 'MILVUS_ADDRESS gives "x" for prod, which is not host:port' });
    const keyless = new FakeMilvusAccess();
    keyless.snapshots = [snapshotOf([['books', 'loaded', 10], ['blobs', 'loaded', 5]])];
    keyless.canaryIds = { books: ['1'] };
    const pick = keyless.reader.pickCanary;
    keyless.reader.pickCanary = async (e, collection, n) => {
      if (collection === 'blobs') throw new UpgradeError('invalid-state', 'collection blobs has no Int64 or VarChar primary key');
      return pick(e, collection, n);
    };
    const data = await readPlanData(keyless, where);
    expect(data.notChecked).toBeNull();
    expect(data.canaries.map((c) => c.collection)).toEqual(['books']);
  });

  it('for status, the snapshot only: no canary is picked', async () => {
    const m = new FakeMilvusAccess();
    m.snapshots = [snapshotOf([['books', 'loaded', 10]])];
    let picks = 0;
    m.reader.pickCanary = async () => {
      picks += 1;
      return null;
    };
    const data = await readPlanData(m, where, { withCanaries: false });
    expect(data.snapshot?.collections).toHaveLength(1);
    expect(data.canaries).toEqual([]);
    expect(picks).toBe(0);
  });

  it('says why when Milvus cannot be read, and never throws', async () => {
    const m = new FakeMilvusAccess();
    m.snapshots = ['Milvus at prod-milvus.milvus.svc:19530 cannot be read: 14 UNAVAILABLE'];
    const data = await readPlanData(m, where, { address: '127.0.0.1:19530' });
    expect(data).toMatchObject({ address: '127.0.0.1:19530', snapshot: null, required: true, withoutChecksBy: null });
    expect(data.notChecked).toContain('14 UNAVAILABLE');
  });

  it('reads nothing when the checks are off or there is no access, and says so', async () => {
    const m = new FakeMilvusAccess();
    m.checks = 'off';
    for (const access of [m, undefined]) {
      const data = await readPlanData(access, where);
      expect(data).toMatchObject({ address: null, snapshot: null, required: false });
      expect(data.notChecked).toContain('MILVUS_DATA_CHECKS=off');
    }
    expect(m.endpoints).toEqual([]);
  });
});

const checked: PlanData = {
  address: 'prod-milvus.milvus.svc:19530',
  snapshot: snapshotOf([['books', 'loaded', 10]]),
  canaries: [{ collection: 'books', primaryField: 'id', ids: ['1'], primaryIsString: false, vectorField: 'vector' }],
  notChecked: null,
  required: true,
  withoutChecksBy: null,
};
const unreadable: PlanData = { ...checked, snapshot: null, canaries: [], notChecked: 'cannot be read: UNAVAILABLE' };

describe('refuseUncheckedData', () => {
  it('refuses a required, unchecked plan without an approver\'s override, saying how to go on', () => {
    const err = (() => {
      try {
        refuseUncheckedData({ release: 'prod', data: unreadable });
      } catch (e) {
        return e;
      }
    })() as PreflightError;
    expect(err).toBeInstanceOf(PreflightError);
    expect(err.message).toBe("prod's data cannot be checked: cannot be read: UNAVAILABLE");
    expect(err.details.join(' ')).toContain('--without-data-checks');
  });

  it.each([
    ['a checked plan', checked],
    ['an override', { ...unreadable, withoutChecksBy: 'U0APPROVER' }],
    ['checks off in the config', { ...unreadable, required: false }],
  ])('lets %s through', (_what, data) => {
    expect(() => refuseUncheckedData({ release: 'prod', data })).not.toThrow();
  });

  it('lets a plan of an older bot (no data field) through', () => {
    expect(() => refuseUncheckedData({ release: 'prod' })).not.toThrow();
  });
});

describe('planDataLines', () => {
  it('lists the collections, folding after eight, and says what the gate checks', () => {
    const many = snapshotOf(Array.from({ length: 10 }, (_, i) => [`c${i}`, 'loaded', i] as [string, 'loaded', number]));
    const lines = planDataLines({ ...checked, snapshot: many });
    expect(lines[0]).toBe('data: v2.4.5, healthy, 10 collection(s) (10 loaded, 45 rows) (Milvus at prod-milvus.milvus.svc:19530)');
    expect(lines).toContain('  c7: loaded, 7 rows');
    expect(lines).not.toContain('  c8: loaded, 8 rows');
    expect(lines).toContain('  …and 2 more');
    expect(lines[lines.length - 1]).toContain('1 canary query');
  });

  it('says who allowed an unchecked run, or that an approver must', () => {
    expect(planDataLines(unreadable)).toEqual(['data not checked: cannot be read: UNAVAILABLE (an upgrade needs --without-data-checks from an approver)']);
    expect(planDataLines({ ...unreadable, withoutChecksBy: 'U1' })[0]).toContain('allowed by U1');
  });
});

describe('the gate in a plan', () => {
  it('closes the hop and its rollback, appended last so no step index moves', () => {
    const gate = dataGateStep(checked, 'prod', 600)!;
    const steps: Step[] = [{ kind: 'helm-repo-update', repoName: 'r', repoUrl: 'u', description: 'refresh' }];
    const plan = withDataGate({ steps, rollback: { path: 'helm', summary: 'helm rollback', steps } } as never, gate);
    expect(plan.steps.map((s) => s.kind)).toEqual(['helm-repo-update', 'check-data']);
    expect(plan.rollback!.steps.map((s) => s.kind)).toEqual(['helm-repo-update', 'check-data']);
    expect(gate).toMatchObject({ address: 'prod-milvus.milvus.svc:19530', expected: [{ name: 'books', loaded: true, rowCount: 10 }], timeoutSeconds: 600 });
  });

  it('is not there when the data was not read', () => {
    expect(dataGateStep(unreadable, 'prod', 600)).toBeNull();
  });
});

class Observer implements ReleaseObserver {
  constructor(private readonly state = releaseState({ version: '2.4.5' })) {}
  tooling = async () => tooling();
  release = async () => this.state;
  objects = async () => [];
}

class IndexedHelm extends FakeHelm {
  override async searchCharts(): Promise<ChartEntry[]> {
    return milvusIndex();
  }
}

function engine(milvus: FakeMilvusAccess | undefined): EngineDeps {
  return { clusterName: 'test', observer: new Observer(), helm: new IndexedHelm(null), settings: planSettings(), ...(milvus ? { milvus } : {}) };
}

describe('makeUpgradePlan with Milvus', () => {
  it('carries the snapshot and ends the plan and its rollback with the data gate', async () => {
    const m = new FakeMilvusAccess();
    m.snapshots = [snapshotOf([['books', 'loaded', 10]])];
    m.canaryIds = { books: ['7'] };
    const plan = await makeUpgradePlan(engine(m), { release: 'prod', namespace: 'milvus', version: '2.4.23' });
    expect(plan.data?.snapshot?.collections).toHaveLength(1);
    expect(plan.steps.at(-1)).toMatchObject({ kind: 'check-data', canaries: [{ collection: 'books', ids: ['7'] }] });
    expect(plan.rollback?.steps.at(-1)?.kind).toBe('check-data');
  });

  it('gives --milvus-address precedence and records who runs without data checks', async () => {
    const m = new FakeMilvusAccess();
    m.snapshots = ['UNAVAILABLE'];
    const plan = await makeUpgradePlan(engine(m), { release: 'prod', namespace: 'milvus', version: '2.4.23', milvusAddress: '127.0.0.1:1', withoutDataChecks: { by: 'U0APPROVER' } });
    expect(plan.data).toMatchObject({ address: '127.0.0.1:1', notChecked: 'UNAVAILABLE', withoutChecksBy: 'U0APPROVER' });
    expect(plan.steps.some((s) => s.kind === 'check-data')).toBe(false);
  });

  it('plans a rollback with the gate when Milvus answers, and without it (never refused) when not', async () => {
    const history = [revision(1, 'superseded', '4.1.24', '2.3.11'), revision(2, 'deployed', '4.2.25', '2.4.5')];
    const helm = new (class extends IndexedHelm {
      override async history() {
        return history;
      }
    })(null);
    const m = new FakeMilvusAccess();
    m.snapshots = [snapshotOf([['books', 'loaded', 10]])];
    const d = { ...engine(m), helm };
    expect((await makeRollbackPlan(d, 'milvus', 'prod')).steps.at(-1)?.kind).toBe('check-data');
    m.snapshots = ['UNAVAILABLE'];
    const blind = await makeRollbackPlan(d, 'milvus', 'prod');
    expect(blind.steps.some((s) => s.kind === 'check-data')).toBe(false);
    expect(blind.data?.notChecked).toBe('UNAVAILABLE');
  });
});

describe('check-data after a hop', () => {
  const step = dataGateStep(checked, 'prod', 60) as Extract<Step, { kind: 'check-data' }>;

  function ports(m: FakeMilvusAccess) {
    return { ...fakePorts(), milvus: m };
  }

  it('waits while Milvus comes back and the collection loads, then passes', async () => {
    const m = new FakeMilvusAccess();
    m.snapshots = ['14 UNAVAILABLE', snapshotOf([['books', 'loading', 10]]), snapshotOf([['books', 'loaded', 12]])];
    const progress: string[] = [];
    const ctx = { ...stepContext(ports(m)), progress: async (t: string) => void progress.push(t) };
    const out = await checkData(step, ctx);
    expect(out.detail).toBe('Milvus v2.4.5 healthy, 1 loaded collection(s) loaded again, no row count lower, 1 canary answered');
    expect(progress).toEqual([
      'Milvus at prod-milvus.milvus.svc:19530 not answering yet: 14 UNAVAILABLE',
      'collection books: still loading (it was loaded before)',
    ]);
    // The credentials come from the access each time, never from the step.
    expect(JSON.stringify(step)).not.toContain('pw');
    expect(m.endpoints).toHaveLength(1);
  });

  it('fails at its timeout naming the collection that stays loading', async () => {
    const m = new FakeMilvusAccess();
    m.snapshots = [snapshotOf([['books', 'loading', 10]])];
    const err = (await rejected(() => checkData(step, stepContext(ports(m))))) as UpgradeError;
    expect(err.code).toBe('timeout');
    expect(err.message).toBe('the data gate failed after 60s: collection books: still loading (it was loaded before)');
  });

  it.each([
    ['rows lost', { found: 0, searchHits: null }, 'collection books: canary query found 0 of its 1 rows'],
    ['an empty search', { found: 1, searchHits: 0 }, 'collection books: canary search returned no result'],
    ['a query that times out', 'Milvus at x: Query of collection books failed: 4 DEADLINE_EXCEEDED', 'collection books: canary failed: Milvus at x: Query of collection books failed: 4 DEADLINE_EXCEEDED'],
  ])('fails on %s, naming the collection and the check', async (_what, answer, words) => {
    const m = new FakeMilvusAccess();
    m.snapshots = [snapshotOf([['books', 'loaded', 10]])];
    m.probes = { books: answer };
    const err = (await rejected(() => checkData(step, stepContext(ports(m))))) as UpgradeError;
    expect(err.message).toBe(`the data gate failed after 60s: ${words}`);
  });

  it('refuses to run on a worker that cannot read Milvus', async () => {
    const err = (await rejected(() => checkData(step, stepContext(fakePorts())))) as UpgradeError;
    expect(err.message).toContain('this worker cannot read Milvus');
  });
});
