import { describe, expect, it } from 'vitest';
import { planText } from '../../src/plan-text.js';
import type { Plan } from '../../src/upgrade/plan.js';

const plan = (changes: Plan['changes']): Plan => ({
  id: 'c/ns/rel@rollback-r2', kind: 'rollback', cluster: 'c', namespace: 'ns', release: 'rel', path: 'helm', from: '2.5.16', to: '2.4.23',
  chart: null, image: 'milvusdb/milvus:v2.4.23', reasons: [], warnings: [], steps: [],
  rollback: null, observed: { helmRevision: 3, helmStatus: 'deployed', chartVersion: '4.2.58', images: {} },
  changes, dataChanges: null,
});

describe('planText: the changes line, as the Slack card says it', () => {
  it('a plan whose changes were not worked out says so, rather than "none found"', () => {
    expect(planText(plan(undefined))).toContain('\n  changes: not listed for this plan\n');
  });

  it('an empty list is "none found"; a list is counted', () => {
    expect(planText(plan([]))).toContain('\n  changes: none found\n');
    const text = planText(plan([{ kind: 'Deployment', name: 'rel-milvus-proxy', change: 'changed', detail: 'proxy: a -> b' }]));
    expect(text).toContain('\n  changes: 1 changed, 0 added, 0 removed\n');
  });
});
