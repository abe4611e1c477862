/**
 * GPU images (issue 24): Milvus tags them `v<version>-gpu` (SPEC §9), a flavour of the same
 * version. Before, `v2.4.17-gpu` read as a pre-release of 2.4.17 and every plan wrote the CPU tag.
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/upgrade/errors.js';
import { runGuardProblems } from '../../src/upgrade/runner/run-guard.js';
import { runningFlavour, runningVersion } from '../../src/upgrade/plan.js';
import type { ReleaseState } from '../../src/upgrade/state.js';
import type { Step } from '../../src/upgrade/steps.js';
import { flavourOfImage, parseImageTag, parseVersion, versionOfImage } from '../../src/upgrade/milvus/version.js';
import { component, planHop, planRoute, planSettings, releaseState, thrown } from './helpers.js';


function gpuRelease(version: string, components = ['mixcoord', 'proxy', 'querynode', 'datanode', 'indexnode'], chartVersion = '4.2.25'): ReleaseState {
  return releaseState({ version, chartVersion, revision: 2, components: components.map((c) => component(c, { version, image: `milvusdb/milvus:v${version}-gpu` })) });
}

const hop = planHop;

const helmSet = (steps: readonly Step[]) => steps.flatMap((s) => (s.kind === 'helm-upgrade' ? [s.set] : []));
const images = (steps: readonly Step[]) =>
  steps.flatMap((s) => (s.kind === 'update-deployment' ? [s.target.image] : s.kind === 'start-milvus' ? s.targets.map((t) => t.image) : []));

describe('the GPU image flavour', () => {
  it('is read as a flavour of the version, not a pre-release', () => {
    expect(parseImageTag('v2.4.17-gpu')).toMatchObject({ version: { text: '2.4.17' }, flavour: 'gpu' });
    expect(parseImageTag('v2.4.17')).toMatchObject({ version: { text: '2.4.17' }, flavour: null });
    expect(parseImageTag('v2.5.0-beta')).toMatchObject({ version: { text: '2.5.0-beta' }, flavour: null });
    expect(versionOfImage('harbor.local:5000/ai/milvus:v2.4.17-gpu')?.text).toBe('2.4.17');
    expect(flavourOfImage('milvusdb/milvus:v2.4.17-gpu')).toBe('gpu');
    expect(flavourOfImage('milvusdb/milvus:v2.4.17')).toBeNull();
    const state = gpuRelease('2.4.17');
    expect(runningVersion(state).text).toBe('2.4.17');
    expect(runningFlavour(state)).toBe('gpu');
  });

  it('a target written with the flavour is refused, saying the flavour follows the release', () => {
    const err = thrown(() => parseVersion('2.4.23-gpu')) as InputError;
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe('"2.4.23-gpu" names an image flavour, not a Milvus version');
    expect(err.details.join(' ')).toMatch(/ask for 2\.4\.23: a release on gpu images stays on gpu images/);
  });

  it('the helm path keeps it, even with a chart that carries the target (its default tag is the CPU build)', () => {
    const p = hop(gpuRelease('2.4.17'), '2.4.23');
    expect(p.from).toBe('2.4.17');
    expect(helmSet(p.steps).map((s) => s['image.all.tag'])).toEqual(['v2.4.23-gpu']);
    // The guard of the worker accepts the flavoured tag it wrote.
    const problems = runGuardProblems({ cluster: p.cluster, namespace: p.namespace, release: p.release, plan: p, settings: planSettings(), liveMilvusRepository: 'milvusdb/milvus' });
    expect(problems).toEqual([]);
  });

  it('the rolling path keeps it on every Deployment', () => {
    const p = hop(gpuRelease('2.4.17'), '2.4.23', { strategy: 'rolling' });
    expect(p.path).toBe('rolling');
    const targets = images(p.steps);
    expect(targets.length).toBeGreaterThan(0);
    expect(new Set(targets)).toEqual(new Set(['milvusdb/milvus:v2.4.23-gpu']));
    expect(p.warnings.join(' ')).toContain('must set image.all.tag=v2.4.23-gpu');
  });

  it('a route into 2.6 keeps it on both hops', () => {
    const start = gpuRelease('2.4.23', ['mixcoord', 'proxy', 'querynode', 'datanode', 'indexnode'], '4.2.20');
    const { plan: route, end: at } = planRoute(start, '2.6.15');
    expect(helmSet(route.steps).map((s) => s['image.all.tag'])).toEqual(['v2.5.16-gpu', 'v2.6.15-gpu']);
    expect(runningFlavour(at)).toBe('gpu');
  });

  it('a CPU release stays on CPU images', () => {
    const cpu = releaseState({ version: '2.4.17', chartVersion: '4.2.25', revision: 2, components: ['proxy', 'querynode'].map((c) => component(c, { version: '2.4.17' })) });
    expect(helmSet(hop(cpu, '2.4.23').steps).map((s) => s['image.all.tag'])).toEqual(['v2.4.23']);
  });
});
