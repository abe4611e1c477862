import { describe, expect, it } from 'vitest';
import { ProgramFailed } from '../../src/cluster/exec.js';
import { maskUrlCredentials, PreflightError } from '../../src/upgrade/errors.js';
import { planUpgrade } from '../../src/upgrade/planner/upgrade.js';
import { parseVersion } from '../../src/upgrade/milvus/version.js';
import {
  ARCHIVED_REPO_URL,
  assertNoProblems,
  releaseProblems,
  toolingProblems,
} from '../../src/upgrade/planner/preflight.js';
import { component, milvusIndex, planSettings, releaseState, thrown, tooling } from './helpers.js';

const REPO = 'zilliztech';
const URL = 'https://zilliztech.github.io/milvus-helm';

describe('toolingProblems (SPEC §1)', () => {
  it('none for helm 3.14+, Kubernetes 1.20+ and the zilliztech repository', () => {
    expect(toolingProblems(tooling(), REPO, URL)).toEqual([]);
    expect(toolingProblems(tooling({ helmVersion: 'v3.14.0', kubernetesVersion: 'v1.20.0' }), REPO, URL)).toEqual([]);
    expect(toolingProblems(tooling({ kubernetesVersion: 'v1.28.3+k3s1' }), REPO, URL)).toEqual([]);
    expect(toolingProblems(tooling({ kubernetesVersion: 'v1.27.8-gke.1067004' }), REPO, URL)).toEqual([]);
  });

  it('none when the repository is not configured yet (the run adds it)', () => {
    expect(toolingProblems(tooling({ repos: {} }), REPO, URL)).toEqual([]);
  });

  it('none for the same URL with a trailing slash or other case', () => {
    expect(toolingProblems(tooling({ repos: { zilliztech: `${URL}/` } }), REPO, URL)).toEqual([]);
    expect(toolingProblems(tooling({ repos: { zilliztech: URL.toUpperCase() } }), REPO, URL)).toEqual([]);
  });

  it.each(['v3.13.0', '3.13.0', 'v3.13.3', 'v2.17.0'])('helm %s is too old (needs 3.14.0)', (helmVersion) => {
    const problems = toolingProblems(tooling({ helmVersion }), REPO, URL);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('3.14.0');
    expect(problems[0]).toContain('--reset-then-reuse-values');
  });

  it('an unreadable helm version is a problem', () => {
    expect(toolingProblems(tooling({ helmVersion: 'garbage' }), REPO, URL)).toHaveLength(1);
  });

  it.each(['v1.19.16', '1.19.0', 'v1.18.0+k3s1'])('Kubernetes %s is too old (needs 1.20.0)', (kubernetesVersion) => {
    const problems = toolingProblems(tooling({ kubernetesVersion }), REPO, URL);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('1.20.0');
  });

  it.each([ARCHIVED_REPO_URL, 'https://milvus-io.github.io/milvus-helm'])(
    'the archived repository %s under the repo name: the message tells how to fix it',
    (archived) => {
      const problems = toolingProblems(tooling({ repos: { zilliztech: archived } }), REPO, URL);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain('archived');
      expect(problems[0]).toContain('4.0.31');
      expect(problems[0]).toContain(`helm repo remove ${REPO} && helm repo add ${REPO} ${URL}`);
      expect(problems[0]).toContain('helm repo update');
    },
  );

  it('an archived repository under another name is not a problem', () => {
    expect(toolingProblems(tooling({ repos: { zilliztech: URL, milvus: ARCHIVED_REPO_URL } }), REPO, URL)).toEqual([]);
  });

  it('another URL under the repo name is a problem with its fix', () => {
    const problems = toolingProblems(tooling({ repos: { zilliztech: 'https://example.com/charts' } }), REPO, URL);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('https://example.com/charts');
    expect(problems[0]).toContain(`helm repo add ${REPO} ${URL}`);
  });

  it('lists every problem at once', () => {
    const problems = toolingProblems(
      tooling({ helmVersion: 'v3.13.0', kubernetesVersion: 'v1.19.0', repos: { zilliztech: ARCHIVED_REPO_URL } }),
      REPO,
      URL,
    );
    expect(problems).toHaveLength(3);
  });
});

describe('releaseProblems (SPEC §3)', () => {
  it('none for a deployed, rolled-out release', () => {
    expect(releaseProblems(releaseState())).toEqual([]);
  });

  it.each(['pending-upgrade', 'failed', 'pending-rollback', 'uninstalling'])('status %s is a problem', (status) => {
    const problems = releaseProblems(releaseState({ status, revision: 7 }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`"${status}"`);
    expect(problems[0]).toContain('revision 7');
    expect(problems[0]).toContain('helm history prod -n milvus');
  });

  it('a Deployment not rolled out is a problem naming it', () => {
    const state = releaseState({
      components: ['proxy', component('querynode', { replicas: 3, rolledOut: false })],
    });
    const problems = releaseProblems(state);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('prod-milvus-querynode');
    expect(problems[0]).toContain('0/3');
  });

  it('a Deployment whose controller has not seen the change is a problem', () => {
    const c = { ...component('proxy'), generation: 5, observedGeneration: 4 };
    expect(releaseProblems(releaseState({ components: [c] }))).toHaveLength(1);
  });

  it('a release without Deployments is a problem', () => {
    const problems = releaseProblems(releaseState({ components: [] }));
    expect(problems).toEqual(['no Milvus Deployments found for release prod in milvus']);
  });
});

describe('assertNoProblems', () => {
  it('throws a PreflightError carrying the problems', () => {
    const err = thrown(() => assertNoProblems(['a', 'b'], 'cannot upgrade prod')) as PreflightError;
    expect(err).toBeInstanceOf(PreflightError);
    expect(err.code).toBe('preflight');
    expect(err.message).toBe('cannot upgrade prod: nothing was changed');
    expect(err.details).toEqual(['a', 'b']);
    expect(err.explain()).toBe('cannot upgrade prod: nothing was changed\n  - a\n  - b');
  });

  it('does nothing without problems', () => {
    expect(() => assertNoProblems([], 'x')).not.toThrow();
  });
});

describe('a chart repository URL with credentials', () => {
  it('is shown without them in preflight messages, the plan step and helm errors', () => {
    expect(maskUrlCredentials('see https://bot:s3cr3t@charts.example/milvus and oci://u@r.example/x')).toBe('see https://***@charts.example/milvus and oci://***@r.example/x');
    expect(maskUrlCredentials('https://charts.example/milvus')).toBe('https://charts.example/milvus');
    const withCreds = 'https://bot:s3cr3t@charts.example/milvus';
    const problems = toolingProblems(tooling({ repos: { [REPO]: 'https://other:pw@elsewhere.example' } }), REPO, withCreds);
    expect(problems.join('\n')).not.toMatch(/s3cr3t|other:pw/);
    expect(problems[0]).toContain('https://***@charts.example/milvus');
    const plan = planUpgrade({
      request: { cluster: 'c', namespace: 'milvus', release: 'prod', target: parseVersion('2.4.23') },
      state: releaseState({ version: '2.3.11' }),
      tooling: tooling({ repos: {} }),
      charts: milvusIndex(),
      settings: planSettings({ repoUrl: withCreds }),
    });
    expect(plan.steps[0]!.description).toBe('refresh the chart repository zilliztech (https://***@charts.example/milvus)');
    const failed = new ProgramFailed('helm', ['repo', 'add'], 1, `Error: looks like "${withCreds}" is not a valid chart repository`, false, false);
    expect(failed.message).not.toContain('s3cr3t');
  });
});
