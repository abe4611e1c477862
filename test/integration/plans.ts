import type { Plan } from '../../src/upgrade/plan.js';

/** A small but complete plan record, for store tests that never run it. */
export function fakePlan(release = 'my-release', namespace = 'default', cluster = 'test'): Plan {
  return {
    id: `${cluster}/${namespace}/${release}@2.4.23`,
    kind: 'upgrade',
    cluster,
    namespace,
    release,
    path: 'rolling',
    from: '2.2.13',
    to: '2.4.23',
    chart: null,
    image: 'milvusdb/milvus:v2.4.23',
    reasons: ['test'],
    steps: [],
    warnings: [],
    rollback: null,
    observed: { helmRevision: 1, helmStatus: 'deployed', chartVersion: '4.0.31', images: {} },
  };
}
