import { describe, expect, it } from 'vitest';
import { planUpgrade } from '../../src/upgrade/planner/upgrade.js';
import { hopViews, type Plan } from '../../src/upgrade/plan.js';
import { joinRoute, stateAfter } from '../../src/upgrade/planner/route.js';
import { oneWayReason, refuseMissingBackup, restoredName, withBackup, type BackupContext } from '../../src/upgrade/planner/backup-plan.js';
import { backupLines } from '../../src/upgrade/backup-lines.js';
import { runGuardProblems } from '../../src/upgrade/runner/run-guard.js';
import { rollbackPlanFor } from '../../src/upgrade/planner/rollback.js';
import { BACKUP_NAME } from '../../src/upgrade/backup.js';
import { parseVersion } from '../../src/upgrade/milvus/version.js';
import type { ChartEntry } from '../../src/upgrade/milvus/charts.js';
import type { ReleaseState } from '../../src/upgrade/state.js';
import { planJson } from '../../src/plan-text.js';
import { parseCommand } from '../../src/bot/commands.js';
import { backupSection, wayBackLines } from '../../src/bot/views.js';
import { component, milvusIndex, planSettings, releaseState, tooling } from './helpers.js';

const charts: ChartEntry[] = [...milvusIndex(), { chartVersion: '5.0.22', appVersion: '2.6.20' }];
const EMBEDDED = { streaming: { woodpecker: { embedded: true } }, woodpecker: { enabled: false } };
const at = Date.UTC(2026, 11, 7, 21, 4);
const ctx = (o: Partial<BackupContext> = {}): BackupContext => ({
  url: 'http://prod-backup.milvus.svc:8080',
  policy: 'one-way',
  plannedAt: at,
  collections: [{ name: 'books', rows: 1200 }, { name: 'empty', rows: 0 }],
  timeoutSeconds: 3600,
  ...o,
});

function release(version: string, chartVersion: string, components: string[]): ReleaseState {
  return releaseState({ version, chartVersion, revision: 4, components: components.map((c) => component(c, { version })) });
}
const NEW = ['mixcoord', 'streamingnode', 'querynode', 'datanode', 'proxy'];

function hop(state: ReleaseState, target: string): Plan {
  return planUpgrade({ request: { cluster: 'test', namespace: state.namespace, release: state.release, target: parseVersion(target) }, state, tooling: tooling(), charts, settings: planSettings(), computedValues: EMBEDDED });
}

describe('backups bound to the plan', () => {
  it('into 3.0: the backup is the hop\'s first step, required, named after the request; the way back is a restore into a new release', () => {
    const p = withBackup(hop(release('2.6.20', '5.0.22', NEW), '3.0.3'), ctx(), '5.0.22');
    expect(p.steps[0]).toMatchObject({ kind: 'backup', url: 'http://prod-backup.milvus.svc:8080', name: 'mub_prod_2_6_20_to_3_0_3_20261207T210400', expected: ctx().collections });
    expect(BACKUP_NAME.test(p.backup!.name)).toBe(true);
    expect(p.backup).toMatchObject({ required: true, reason: 'before the step into 3.0 (no image rollback)' });
    expect(p.restore).toMatchObject({ backup: p.backup!.name, into: 'prod-restored', version: '2.6.20', chart: '5.0.22' });
    expect(p.restore!.estimatedSeconds).toBeGreaterThan(300);
    expect(p.noRollback).toMatch(/no image rollback.*the way back: restore backup mub_prod_2_6_20_to_3_0_3_20261207T210400 into a NEW release prod-restored at Milvus 2\.6\.20 \(chart 5\.0\.22\)/);
    // The health gate still counts restarts from the hop's first change, one index later.
    const before = hop(release('2.6.20', '5.0.22', NEW), '3.0.3');
    const gates = (q: Plan) => q.steps.flatMap((s) => (s.kind === 'check-health' ? [s.sinceStep] : []));
    expect(gates(p)).toEqual(gates(before).map((g) => g + 1));
    expect(p.steps.slice(1)).toHaveLength(before.steps.length);
  });

  it('into 2.6 and the migration are one-way; a 2.5 patch upgrade is not, unless the policy says always', () => {
    expect(oneWayReason({ from: '2.5.16', to: '2.6.15', path: 'helm' })).toMatch(/into 2\.6/);
    expect(oneWayReason({ from: '2.1.4', to: '2.2.14', path: 'migrate' })).toMatch(/migration/);
    expect(oneWayReason({ from: '2.6.20', to: '3.0.3', path: 'helm' })).toMatch(/into 3\.0/);
    expect(oneWayReason({ from: '2.5.10', to: '2.5.16', path: 'helm' })).toBeNull();
    const patch = hop(release('2.5.10', '4.2.58', ['mixcoord', 'querynode', 'datanode', 'indexnode', 'proxy']), '2.5.16');
    expect(withBackup(patch, ctx(), '4.2.58')).toMatchObject({ backup: null, restore: null });
    const always = withBackup(patch, ctx({ policy: 'always' }), '4.2.58');
    expect(always.steps[0]!.kind).toBe('backup');
    expect(always.backup).toMatchObject({ required: true, reason: 'before every upgrade (policy)' });
    // A hop with a rollback keeps it: no restore offer.
    expect(always.restore).toBeNull();
    expect(always.rollback).not.toBeNull();
  });

  it('no service: into 3.0 the plan is held until an approver says --without-backup; before 2.6 a loud warning only', () => {
    const p30 = withBackup(hop(release('2.6.20', '5.0.22', NEW), '3.0.3'), ctx({ url: null }), '5.0.22');
    expect(p30.backupMissing).toMatchObject({ required: true });
    expect(p30.steps.some((s) => s.kind === 'backup')).toBe(false);
    expect(() => refuseMissingBackup(p30)).toThrow(/cannot be upgraded without a backup: no milvus-backup service is configured for prod/);
    expect(() => refuseMissingBackup({ ...p30, withoutBackup: { by: 'U-approver' } })).not.toThrow();
    expect(backupLines({ ...p30, withoutBackup: { by: 'U-approver' } })).toContainEqual(expect.stringMatching(/^backup: NONE, run without one as allowed by U-approver/));
    const p26 = withBackup(hop(release('2.5.16', '4.2.58', ['mixcoord', 'querynode', 'datanode', 'indexnode', 'proxy']), '2.6.15'), ctx({ url: null }), '4.2.58');
    expect(p26.backupMissing).toMatchObject({ required: false });
    expect(p26.warnings.join(' ')).toMatch(/NO BACKUP before a step that cannot be rolled back \(the step into 2\.6/);
    expect(() => refuseMissingBackup(p26)).not.toThrow();
  });

  it('a route: the backup only before the one-way hop, each hop in --json with backup or null, and rollback or noRollback with the restore offer', () => {
    const start = release('2.6.15', '5.0.19', NEW);
    const first = hop(start, '2.6.20');
    const second = hop(stateAfter(start, first), '3.0.3');
    const route = joinRoute([withBackup(first, ctx(), '5.0.19'), withBackup(second, ctx(), '5.0.22')], ['3.0 from 2.6.20']);
    const json = planJson(route) as { hops: { backup: unknown; rollback: unknown; noRollback: string | null; restore: { into: string } | null }[] };
    expect(json.hops[0]).toMatchObject({ backup: null, restore: null, noRollback: null });
    expect(json.hops[0]!.rollback).not.toBeNull();
    expect(json.hops[1]).toMatchObject({ backup: { required: true }, rollback: null, restore: { into: 'prod-restored', version: '2.6.20' } });
    expect(json.hops[1]!.noRollback).toMatch(/the way back: restore backup/);
    expect(route.steps[route.hops![1]!.firstStep]!.kind).toBe('backup');
    // A one-hop plan is one hop in --json too.
    const single = planJson(withBackup(second, ctx(), '5.0.22')) as { hops: unknown[] };
    expect(single.hops).toHaveLength(1);
    expect(hopViews(withBackup(second, ctx(), '5.0.22'))[0]).toMatchObject({ backup: { name: expect.stringMatching(/^mub_prod_/) } });
  });

  it('the worker runs a backup only at its own config\'s server, under a name milvus-backup takes', () => {
    const p = withBackup(hop(release('2.6.20', '5.0.22', NEW), '3.0.3'), ctx(), '5.0.22');
    const guard = (plan: Plan, backupUrl: string | null) =>
      runGuardProblems({ cluster: 'test', namespace: 'milvus', release: 'prod', plan, settings: planSettings(), liveMilvusRepository: 'milvusdb/milvus', backupUrl });
    expect(guard(p, 'http://prod-backup.milvus.svc:8080')).toEqual([]);
    expect(guard(p, 'http://elsewhere:8080').join(' ')).toMatch(/takes its backup at http:\/\/prod-backup\.milvus\.svc:8080, not at http:\/\/elsewhere:8080/);
    expect(guard(p, null).join(' ')).toMatch(/not at no milvus-backup server/);
    const renamed = { ...p, steps: p.steps.map((s) => (s.kind === 'backup' ? { ...s, name: 'x; rm -rf' } : s)) };
    expect(guard(renamed, 'http://prod-backup.milvus.svc:8080').join(' ')).toMatch(/is not one milvus-backup takes/);
  });

  it('2.1 -> 2.2 migration: the milvus-backup backup first, then the migration\'s own metadata backup; both on the card, and its own rollback kept', () => {
    const state = releaseState({ version: '2.1.4', chartVersion: '3.2.18', revision: 2 });
    const migration = planUpgrade({ request: { cluster: 'test', namespace: state.namespace, release: state.release, target: parseVersion('2.2.14') }, state, tooling: tooling(), charts, settings: planSettings() });
    const p = withBackup(migration, ctx({ collections: [] }), '3.2.18');
    expect(p.path).toBe('migrate');
    expect(p.steps[0]).toMatchObject({ kind: 'backup', expected: [] });
    expect(p.steps.some((st) => st.kind === 'run-meta-migration' && st.action === 'backup')).toBe(true);
    expect(p.backup).toMatchObject({ reason: 'before the 2.1 -> 2.2 metadata migration', required: false });
    expect(p.restore).toBeNull();
    expect(p.rollback?.path).toBe('migrate');
    expect(backupLines(p)).toEqual([expect.stringMatching(/^backup: mub_prod_2_1_4_to_2_2_14_\d{8}T\d{6} at http:\/\/prod-backup\.milvus\.svc:8080, before the 2\.1 -> 2\.2 metadata migration; checked against 0 collection\(s\)$/)]);
    expect(p.steps[0]!.description).toMatch(/Milvus was not read: not checked against the data/);
  });

  it('Slack: /milvus upgrade takes --without-backup (not /milvus plan); the card\'s Backup section is loud when none can be taken', () => {
    expect(parseCommand('upgrade rel 3.0.3 --without-backup')).toMatchObject({ name: 'upgrade', withoutBackup: true });
    expect(() => parseCommand('plan rel 3.0.3 --without-backup')).toThrow();
    const missing = withBackup(hop(release('2.6.20', '5.0.22', NEW), '3.0.3'), ctx({ url: null }), '5.0.22');
    expect(JSON.stringify(backupSection(missing))).toMatch(/:rotating_light: \*backup: REQUIRED and not possible: no milvus-backup service is configured for prod/);
    expect(backupSection(hop(release('2.5.10', '4.2.58', ['mixcoord', 'querynode', 'datanode', 'indexnode', 'proxy']), '2.5.16'))).toEqual([]);
  });

  it('the summary of an ended upgrade with no rollback: why, and the restore offer; after 3.0, the guide\'s words', () => {
    const plan = withBackup(hop(release('2.6.20', '5.0.22', NEW), '3.0.3'), ctx(), '5.0.22');
    const request = { kind: 'upgrade', plan, completedSteps: plan.steps.length, startedAt: 1 } as unknown as Parameters<typeof wayBackLines>[0];
    const lines = wayBackLines(request, 'succeeded');
    expect(lines[0]).toMatch(/^:leftwards_arrow_with_hook: No Roll back: from 3\.0 there is no image rollback.*the way back: restore backup mub_prod_/);
    expect(lines[1]).toMatch(/before enabling any 3\.0 feature/);
    expect(wayBackLines(request, 'running')).toEqual([]);
    const patch = hop(release('2.5.10', '4.2.58', ['mixcoord', 'querynode', 'datanode', 'indexnode', 'proxy']), '2.5.16');
    expect(wayBackLines({ ...request, plan: patch } as typeof request, 'succeeded')).toEqual([]);
  });

  it('a rollback takes no backup and offers no restore of its own: the upgrade\'s are not carried into its plan', () => {
    const patch = withBackup(hop(release('2.5.10', '4.2.58', ['mixcoord', 'querynode', 'datanode', 'indexnode', 'proxy']), '2.5.16'), ctx({ policy: 'always' }), '4.2.58');
    expect(patch.backup).not.toBeNull();
    const rollback = rollbackPlanFor(patch)!;
    expect(rollback.kind).toBe('rollback');
    expect(rollback.backup).toBeUndefined();
    expect(rollback.restore).toBeUndefined();
    expect(rollback.steps.some((s) => s.kind === 'backup')).toBe(false);
    expect(backupLines(rollback)).toEqual([]);
  });

  it('restoredName stays a helm release name', () => {
    expect(restoredName('prod')).toBe('prod-restored');
    expect(restoredName('a'.repeat(53)).length).toBeLessThanOrEqual(53);
  });
});
