/**
 * Holds the recorded expectations of test/fixtures/helm-yaml-cases.ts to the real helm binary:
 * each case's YAML is a chart's values.yaml, and `helm template` prints `toJson .Values`. If a
 * helm upgrade reads YAML differently, this fails before the parser's unit test can lie.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHelmYaml } from '../../src/cluster/helm-yaml.js';
import { HELM_YAML_CASES } from '../fixtures/helm-yaml-cases.js';
import { HELM_BIN } from '../harness/control-plane.js';

const execFileAsync = promisify(execFile);
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'helm-yaml-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function helmReads(yaml: string, n: number): Promise<unknown> {
  const chart = join(dir, `c${n}`);
  await mkdir(join(chart, 'templates'), { recursive: true });
  await writeFile(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: q\nversion: 0.1.0\n');
  await writeFile(join(chart, 'templates', 'values.json'), '{{ toJson .Values }}\n');
  await writeFile(join(chart, 'values.yaml'), yaml);
  const { stdout } = await execFileAsync(HELM_BIN, ['template', 'x', chart, '--show-only', 'templates/values.json'], {
    timeout: 30_000,
    env: { ...process.env, HELM_CACHE_HOME: join(dir, 'cache'), HELM_CONFIG_HOME: join(dir, 'config'), HELM_DATA_HOME: join(dir, 'data') },
  });
  const json = stdout.split('\n').find((l) => l.startsWith('{'));
  if (!json) throw new Error(`helm printed no JSON:\n${stdout}`);
  return JSON.parse(json) as unknown;
}

describe('helm reads each recorded case as recorded, and so does parseHelmYaml', () => {
  it.each(HELM_YAML_CASES.map((c, i) => [c.quirk, c, i] as const))('%s', async (_quirk, c, i) => {
    const helm = await helmReads(c.yaml, i);
    expect(helm).toEqual(c.helm);
    expect(parseHelmYaml(c.yaml)).toEqual(helm);
  });

  it('helm refuses a null key, and so does parseHelmYaml', async () => {
    await expect(helmReads('~: x\n', 999)).rejects.toThrow(/unsupported map key/);
    expect(() => parseHelmYaml('~: x\n')).toThrow(/null/);
  });
});
