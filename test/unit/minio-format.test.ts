/**
 * MinIO's old FS format (issue 24): a single-drive MinIO on an image that reads FS (charts up to
 * 4.0.12: RELEASE.2022-03-17T06-34-49Z) must not be moved to one that cannot (4.0.13 on:
 * RELEASE.2023-03-20T20-16-18Z): the plan is refused with the fix that keeps its image.
 */
import { describe, expect, it } from 'vitest';
import { minioFormatLosses, readsFsFormat } from '../../src/upgrade/milvus/minio.js';
import { dataRisks } from '../../src/upgrade/planner/data-guard.js';
import { withHelmChanges } from '../../src/upgrade/planner/plan-changes.js';
import { DataRiskError } from '../../src/upgrade/planner/data-guard.js';
import type { KubeObject } from '../../src/upgrade/objects.js';
import type { Plan } from '../../src/upgrade/plan.js';

const OLD = 'RELEASE.2022-03-17T06-34-49Z';
const NEW = 'RELEASE.2023-03-20T20-16-18Z';
const workload = (kind: 'Deployment' | 'StatefulSet', tag: string, name = 'solo-minio'): KubeObject => ({
  apiVersion: 'apps/v1',
  kind,
  metadata: { name, labels: { app: 'minio', release: 'solo' } },
  spec: { template: { spec: { containers: [{ name: 'minio', image: `minio/minio:${tag}` }] } } },
});
const risksOf = (live: KubeObject[], after: KubeObject[]) => dataRisks({ before: live, after, live, changes: [], queue: null });

describe('MinIO FS format', () => {
  it('tags before RELEASE.2022-10-29 read the FS format; later ones, and what is no MinIO release, do not', () => {
    expect(readsFsFormat(OLD)).toBe(true);
    expect(readsFsFormat('RELEASE.2020-11-06T23-17-07Z')).toBe(true);
    expect(readsFsFormat('RELEASE.2022-10-29T06-21-33Z')).toBe(false);
    expect(readsFsFormat(NEW)).toBe(false);
    expect(readsFsFormat('latest')).toBe(false);
    expect(readsFsFormat(null)).toBe(false);
  });

  it('a single-drive MinIO (Deployment) moved from an FS-reading image to one that is not is a data risk naming both images', () => {
    const risks = risksOf([workload('Deployment', OLD)], [workload('Deployment', NEW)]);
    expect(risks).toHaveLength(1);
    expect(risks[0]!.subject).toBe('MinIO');
    expect(risks[0]!.reason).toContain(`Deployment/solo-minio runs minio/minio:${OLD} on one drive`);
    expect(risks[0]!.reason).toContain(`starts minio/minio:${NEW}, which cannot read it ("found backend type fs")`);
  });

  it('no risk when the image is kept, when it already could not read FS, or for distributed MinIO (a StatefulSet: erasure-coded data)', () => {
    expect(risksOf([workload('Deployment', OLD)], [workload('Deployment', OLD)])).toEqual([]);
    expect(risksOf([workload('Deployment', NEW)], [workload('Deployment', 'RELEASE.2024-12-18T13-15-44Z')])).toEqual([]);
    expect(risksOf([workload('StatefulSet', OLD)], [workload('StatefulSet', NEW)])).toEqual([]);
    // The bucket job's minio/mc is not the server.
    const mc = (tag: string): KubeObject => ({ ...workload('Deployment', tag, 'solo-minio-make-bucket'), spec: { template: { spec: { containers: [{ name: 'mc', image: `minio/mc:${tag}` }] } } } });
    expect(minioFormatLosses([mc(OLD)], [mc(NEW)])).toEqual([]);
  });

  it('the refusal gives the fix: keep minio.image.tag on the chart the release runs now, then plan again', () => {
    const plan = {
      release: 'solo',
      namespace: 'ns1',
      to: '2.2.13',
      chart: { ref: 'zilliztech/milvus', version: '4.0.31', appVersion: '2.2.13' },
      observed: { helmRevision: 1, helmStatus: 'deployed', chartVersion: '4.0.12', images: {} },
      messageQueue: { kind: 'rocksmq', note: '' },
      steps: [],
      warnings: [],
    } as unknown as Plan;
    const live = [workload('Deployment', OLD)];
    let error: unknown;
    try {
      withHelmChanges(plan, { before: live, after: [workload('Deployment', NEW)], live }, { charts: [], allowDataChanges: null });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DataRiskError);
    expect((error as DataRiskError).fixes[0]).toBe(
      `keep MinIO's image (what the release runs now): helm upgrade solo zilliztech/milvus -n ns1 --version 4.0.12 --reuse-values --set minio.image.tag=${OLD}, then plan again; the later upgrade keeps that value`,
    );
  });
});
