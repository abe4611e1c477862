/** What Slack shows of Milvus itself (issue 26): the card's data, the summary's gate and gaps, status. */
import { describe, expect, it } from 'vitest';
import { dataOutcomeLines, dataSection, planCard } from '../../src/bot/views.js';
import { statusMessage } from '../../src/bot/status-view.js';
import { parseCommand } from '../../src/bot/commands.js';
import type { PlanData } from '../../src/upgrade/data-snapshot.js';
import type { Plan } from '../../src/upgrade/plan.js';
import type { LogEntry } from '../../src/upgrade/requests.js';
import { releaseState, upgradeRequest } from './helpers.js';
import { snapshotOf } from './fakes.js';

const T0 = 1_800_000_000_000;
const data: PlanData = {
  address: 'rel-milvus.ns.svc:19530',
  snapshot: snapshotOf([['books', 'loaded', 12_000], ['<!channel>', 'not-loaded', 3]]),
  canaries: [{ collection: 'books', primaryField: 'id', ids: ['1'], primaryIsString: false, vectorField: 'v' }],
  notChecked: null,
  required: true,
  withoutChecksBy: null,
};
const gate = { kind: 'check-data' as const, address: data.address!, expected: [], canaries: [], timeoutSeconds: 60, description: 'check data' };
const plan: Plan = {
  id: 'c/ns/rel@2.4.23', kind: 'upgrade', cluster: 'c', namespace: 'ns', release: 'rel', path: 'helm', from: '2.4.5', to: '2.4.23', chart: null,
  image: 'milvusdb/milvus:v2.4.23', reasons: [], warnings: [], steps: [{ kind: 'wait-rollout', deployments: [], timeoutSeconds: 1, description: 'check' }, gate],
  rollback: null, observed: { helmRevision: 1, helmStatus: 'deployed', chartVersion: '4.2.25', images: {} }, data,
};
const request = (over = {}) => upgradeRequest({ id: 'req-1', cluster: 'c', namespace: 'ns', release: 'rel', plan, requester: { id: 'U0REQ', via: 'slack' }, place: { channel: 'C1' }, createdAt: T0, ...over });

describe('the data on Slack', () => {
  it('the card shows Milvus\'s view, collections escaped', () => {
    const text = JSON.stringify(planCard(request(), 'x', T0).blocks);
    expect(text).toContain('*Data* v2.4.5, healthy, 2 collection(s) (1 loaded, 12,003 rows) (Milvus at rel-milvus.ns.svc:19530)');
    expect(text).toContain('books: loaded, 12,000 rows');
    expect(text).toContain('&lt;!channel&gt;: not-loaded');
  });

  it('a card whose data was not read says so, and who allowed it', () => {
    expect(dataSection({ ...data, snapshot: null, notChecked: 'Milvus at x cannot be read: 14 UNAVAILABLE', withoutChecksBy: 'U0APP' })).toBe(
      ':warning: *Data not checked*: Milvus at x cannot be read: 14 UNAVAILABLE (run without data checks, allowed by U0APP)',
    );
  });

  it('the summary says each gate passed and the availability measured; nothing while running', () => {
    const log: LogEntry[] = [{ at: T0, type: 'run', event: { type: 'step-finished', index: 1, total: 2, skipped: false, detail: 'Milvus v2.4.23 healthy, 1 loaded collection(s) loaded again' } }];
    const availability = { collection: 'books', durationMs: 60_000, query: { samples: 60, failed: 0, longestGapMs: 1100, firstError: null }, search: { samples: 60, failed: 2, longestGapMs: 3400, firstError: '4 DEADLINE_EXCEEDED' } };
    expect(dataOutcomeLines(request({ phase: 'succeeded', availability }), log)).toEqual([
      ':white_check_mark: Data gate passed 1 of 1 time(s): Milvus v2.4.23 healthy, 1 loaded collection(s) loaded again',
      ':bar_chart: collection books during the run: longest query gap 1.1 s (0 of 60 failed); longest search gap 3.4 s (2 of 60 failed, first: 4 DEADLINE_EXCEEDED)',
    ]);
    expect(dataOutcomeLines(request({ phase: 'failed', plan: { ...plan, data: { ...data, notChecked: 'off' } } }), [])).toEqual([':warning: Data not checked: off']);
  });

  it('/milvus status shows Milvus\'s view or why it was not read', () => {
    const state = releaseState({ release: 'rel', version: '2.4.5' });
    const seen = statusMessage({ state, running: '2.4.5', active: null, milvus: data.snapshot! });
    expect(seen.text).toContain('Data: v2.4.5, healthy, 2 collection(s) (1 loaded, 12,003 rows)');
    expect(JSON.stringify(seen.blocks)).toContain('• `books` loaded, 12,000 rows');
    expect(statusMessage({ state, running: '2.4.5', active: null, milvus: { notRead: 'UNAVAILABLE' } }).text).toContain(':warning: Data not checked: UNAVAILABLE');
  });

  it('/milvus upgrade takes --without-data-checks; /milvus plan does not', () => {
    expect(parseCommand('upgrade rel 2.4.23 --without-data-checks')).toMatchObject({ name: 'upgrade', withoutDataChecks: true });
    expect(() => parseCommand('plan rel 2.4.23 --without-data-checks')).toThrow();
  });
});
