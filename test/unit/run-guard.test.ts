/** What a worker refuses to run whatever the record says (issue 25, item 1: run-time invariants). */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PLAN_SETTINGS, type Plan } from '../../src/upgrade/plan.js';
import { planUpgrade } from '../../src/upgrade/planner/upgrade.js';
import { PLANNED_SET_KEYS, runGuardProblems, type RunGuardInputs } from '../../src/upgrade/runner/run-guard.js';
import { parseVersion } from '../../src/upgrade/milvus/version.js';
import type { Step } from '../../src/upgrade/steps.js';
import { milvusIndex, planSettings, releaseState, tooling } from './helpers.js';

const state = releaseState({ version: '2.4.5' });
const planned = (strategy?: 'rolling' | 'helm'): Plan =>
  planUpgrade({
    request: { cluster: 'test', namespace: state.namespace, release: state.release, target: parseVersion('2.4.23'), ...(strategy ? { strategy } : {}) },
    state,
    tooling: tooling(),
    charts: milvusIndex(),
    settings: planSettings(),
  });
const inputs = (plan: Plan, over: Partial<RunGuardInputs> = {}): RunGuardInputs => ({
  cluster: 'test', namespace: state.namespace, release: state.release, plan, settings: { ...DEFAULT_PLAN_SETTINGS, ...planSettings() }, liveMilvusRepository: state.imageRepository, ...over,
});
const withStep = (plan: Plan, kind: Step['kind'], change: (s: Step) => Step): Plan => ({ ...plan, steps: plan.steps.map((s) => (s.kind === kind ? change(s) : s)) });

describe('runGuardProblems', () => {
  it('a plan the bot made passes, helm and rolling alike', () => {
    expect(runGuardProblems(inputs(planned('helm')))).toEqual([]);
    expect(runGuardProblems(inputs(planned('rolling')))).toEqual([]);
  });

  it('a data gate or canary that would dial another address than the worker\'s config names is refused (the credentials go there)', () => {
    const gate: Step = { kind: 'check-data', address: 'prod-milvus.milvus.svc:19530', expected: [], canaries: [], timeoutSeconds: 60, description: 'gate' };
    const withGate: Plan = { ...planned('helm'), steps: [...planned('helm').steps, gate] };
    expect(runGuardProblems(inputs(withGate, { milvusAddress: 'prod-milvus.milvus.svc:19530' }))).toEqual([]);
    const evil: Plan = { ...withGate, steps: [...planned('helm').steps, { ...gate, address: 'attacker.example:19530' }] };
    expect(runGuardProblems(inputs(evil, { milvusAddress: 'prod-milvus.milvus.svc:19530' }))).toEqual([
      "the plan reads Milvus at attacker.example:19530, not at prod-milvus.milvus.svc:19530 as this worker's config says (the release's credentials go there)",
    ]);
    const canaryElsewhere: Plan = { ...planned('helm'), data: { address: 'attacker.example:19530', snapshot: null, canaries: [{ collection: 'c', primaryField: 'id', ids: ['1'], primaryIsString: false, vectorField: null }], notChecked: null, required: true, withoutChecksBy: null } };
    expect(runGuardProblems(inputs(canaryElsewhere, { milvusAddress: null }))).toEqual([
      "the plan reads Milvus at attacker.example:19530, not at no address as this worker's config says (the release's credentials go there)",
    ]);
  });

  it('another chart, another repository, or a --set no plan writes is refused', () => {
    const evil = withStep(planned('helm'), 'helm-upgrade', (s) => ({ ...s, chartRef: 'oci://attacker.example/charts/evil' }) as Step);
    expect(runGuardProblems(inputs(evil))).toEqual([`a step upgrades with chart oci://attacker.example/charts/evil, not ${planSettings().repoName}/milvus`]);
    const repo = withStep(planned('helm'), 'helm-repo-update', (s) => ({ ...s, repoUrl: 'https://attacker.example/charts' }) as Step);
    expect(runGuardProblems(inputs(repo))[0]).toMatch(/^a step refreshes chart repository/);
    const set = withStep(planned('helm'), 'helm-upgrade', (s) => ({ ...s, set: { 'image.all.repository': 'attacker/milvus' } }) as Step);
    expect(runGuardProblems(inputs(set))).toEqual(['a step sets image.all.repository, which no plan of this bot sets']);
    const tag = withStep(planned('helm'), 'helm-upgrade', (s) => ({ ...s, set: { 'image.all.tag': 'latest', 'streaming.enabled': 'yes please' } }) as Step);
    expect(runGuardProblems(inputs(tag))).toEqual(['a step sets image.all.tag=latest', 'a step sets streaming.enabled=yes please']);
  });

  it('an image outside the release\'s Milvus repository is refused, and so is any image when none is seen', () => {
    const evil = withStep(planned('rolling'), 'update-deployment', (s) => s.kind === 'update-deployment' ? { ...s, target: { ...s.target, image: 'attacker.example/evil:v2.4.23' } } : s);
    const problems = runGuardProblems(inputs(evil));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((p) => p.includes('attacker.example/evil:v2.4.23 is not from the release\'s Milvus repository'))).toBe(true);
    expect(runGuardProblems(inputs(planned('rolling'), { liveMilvusRepository: null }))[0]).toMatch(/\(none seen\)$/);
  });

  it('a plan for another release than the request\'s is refused', () => {
    expect(runGuardProblems(inputs(planned('helm'), { release: 'other' }))[0]).toMatch(/^the plan is for test\/.*, the request for test\/.*\/other$/);
  });

  it('a migration image other than the configured one is refused', () => {
    const step: Step = { kind: 'run-meta-migration', action: 'migrate', pod: 'p', image: 'attacker/migrate:v1', configMap: 'c', pvc: 'v', configFile: 'f', timeoutSeconds: 60, description: 'm' };
    expect(runGuardProblems(inputs({ ...planned('helm'), steps: [step] }))).toEqual([
      `a step runs migration image attacker/migrate:v1, not the configured ${DEFAULT_PLAN_SETTINGS.migration.image}`,
    ]);
  });

  it('knows every --set key the planner writes', () => {
    expect([...PLANNED_SET_KEYS].sort()).toEqual(
      ['dataCoordinator.enabled', 'image.all.tag', 'indexCoordinator.enabled', 'indexNode.enabled', 'kafka.enabled', 'mixCoordinator.enabled', 'pulsar.enabled', 'pulsarv3.enabled', 'queryCoordinator.enabled', 'rootCoordinator.enabled', 'streaming.enabled', 'woodpecker.enabled'],
    );
  });
});
