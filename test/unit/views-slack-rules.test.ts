/**
 * Every view the bot posts, checked with the rules the Slack stub answers invalid_blocks with
 * (block-kit-rules.ts): the plan card in each state, a rollback card, the progress message of each
 * phase, the changes list, the status answer, the App Home and its error view. Built from plans
 * the planner makes (planUpgrade, planRollback, rollbackPlanFor, a route), then pushed past what
 * people type: long and many warnings, long errors and reasons, mentions and mrkdwn in them.
 */
import type { KnownBlock, SectionBlock } from '@slack/web-api';
import { describe, expect, it } from 'vitest';
import { homeErrorView, homeView, type HomeData, type HomeRelease } from '../../src/bot/home.js';
import { mentionList } from '../../src/bot/handlers.js';
import { statusMessage } from '../../src/bot/status-view.js';
import { changesBlocks, planCard, progressMessage, type MessageView } from '../../src/bot/views.js';
import type { ObjectChange } from '../../src/upgrade/objects.js';
import { planUpgrade } from '../../src/upgrade/planner/upgrade.js';
import type { Plan } from '../../src/upgrade/plan.js';
import type { LogEntry, Phase, UpgradeRequest } from '../../src/upgrade/requests.js';
import { planRollback, rollbackPlanFor } from '../../src/upgrade/planner/rollback.js';
import { joinRoute, stateAfter, waypoints } from '../../src/upgrade/planner/route.js';
import type { ReleaseState } from '../../src/upgrade/state.js';
import { parseVersion } from '../../src/upgrade/milvus/version.js';
import { MAX_MESSAGE_TEXT, validateBlocks, validateView, type Surface } from '../harness/block-kit-rules.js';
import { blockText } from './block-limits.js';
import { component, milvusIndex, planSettings, releaseState, revision, tooling, upgradeRequest } from './helpers.js';

const T0 = Date.UTC(2026, 11, 3, 9, 0);
const REQ = 'U0REQ00001';
const APP = 'U0APP00001';
const index = milvusIndex();

/** What a person could put in a reason, and an adapter in an error: a ping, mrkdwn, entities. */
const NASTY = 'ping <@U123> *bold* `code` &<> ';
const long = (n: number) => NASTY.repeat(Math.ceil(n / NASTY.length)).slice(0, n);

function upgradePlan(state: ReleaseState, target: string): Plan {
  return planUpgrade({ request: { cluster: 'main', namespace: state.namespace, release: state.release, target: parseVersion(target) }, state, tooling: tooling(), charts: index, settings: planSettings() });
}

/** What the service does, without its I/O: each hop planned from the state the previous one leaves. */
function route(state: ReleaseState, target: string): Plan {
  const stops = waypoints(parseVersion(state.components[0]!.versionLabel!), parseVersion(target), index);
  const hops: Plan[] = [];
  let at = state;
  for (const leg of [...stops.map((s) => ({ v: s.version.text, set: s.set })), { v: target, set: {} }]) {
    const p = planUpgrade({ request: { cluster: 'main', namespace: at.namespace, release: at.release, target: parseVersion(leg.v), extraSet: leg.set }, state: at, tooling: tooling(), charts: index, settings: planSettings() });
    hops.push(p);
    at = stateAfter(at, p);
  }
  return joinRoute(hops, stops.map((s) => s.why));
}

const change = (i: number, detail?: string): ObjectChange => ({
  kind: 'Deployment',
  name: `my-release-milvus-querynode-${i}`,
  change: i % 5 === 0 ? 'added' : i % 7 === 0 ? 'removed' : 'changed',
  detail: detail ?? `querynode: milvusdb/milvus:v2.4.5 -> milvusdb/milvus:v2.4.23${i % 3 === 0 ? '; replicas 2 -> 3' : ''}`,
});
const changes = (n: number, detail?: string) => Array.from({ length: n }, (_, i) => change(i, detail));

/** The helm upgrade 2.4.5 -> 2.4.23 of `my-release` (11 steps, three warnings, a rollback). */
const HELM = upgradePlan(releaseState({ release: 'my-release', version: '2.4.5', chartVersion: '4.1.36' }), '2.4.23');
const WITH_CHANGES: Plan = { ...HELM, changes: changes(9), messageQueue: { kind: 'pulsar-v2', note: 'message queue: Pulsar v2, kept' } };

function request(over: Partial<UpgradeRequest> = {}): UpgradeRequest {
  return upgradeRequest({
    id: 'req-42', cluster: 'main', namespace: 'milvus', release: 'my-release', plan: WITH_CHANGES, requester: { id: REQ, via: 'slack' }, place: { channel: 'C0OPS00001', messageTs: '1.1', progressTs: '1.2' },
    createdAt: T0,
    ...over,
  });
}
const approved = { approvals: [{ by: { id: APP, via: 'slack' as const }, at: T0 + 60_000 }] };
const ran = (phase: Phase, over: Partial<UpgradeRequest> = {}) => request({ ...approved, phase, startedAt: T0 + 120_000, ...over });

const run = (event: Extract<LogEntry, { type: 'run' }>['event']): LogEntry => ({ at: T0, type: 'run', event });
/** Steps 1 and 2 done, step 3 (the helm upgrade) under way. */
const LOG: LogEntry[] = [
  run({ type: 'step-started', index: 0, total: 11, description: HELM.steps[0]!.description }),
  run({ type: 'step-finished', index: 0, total: 11, skipped: false, detail: 'repository refreshed' }),
  run({ type: 'step-started', index: 1, total: 11, description: HELM.steps[1]!.description }),
  run({ type: 'step-finished', index: 1, total: 11, skipped: false, detail: '9 Deployments paused' }),
  run({ type: 'step-started', index: 2, total: 11, description: HELM.steps[2]!.description }),
  run({ type: 'step-progress', index: 2, total: 11, message: 'helm upgrade: revision 4 pending-upgrade' }),
];

/** Slack would take it: no error from the stub's rules, and a fallback text within Slack's limit. */
function valid<V extends { blocks: KnownBlock[] }>(view: V, surface: Exclude<Surface, 'modal'>): V {
  expect(validateBlocks(view.blocks, surface)).toEqual([]);
  if ('text' in view && typeof view.text === 'string') {
    expect(view.text.length).toBeGreaterThan(0);
    expect(view.text.length).toBeLessThanOrEqual(MAX_MESSAGE_TEXT);
  }
  return view;
}

const headerOf = (blocks: readonly KnownBlock[]) => (blocks[0]?.type === 'header' ? blocks[0].text.text : null);
const actionIds = (blocks: readonly KnownBlock[]) => blocks.flatMap((b) => (b.type === 'actions' ? b.elements.map((e) => ('action_id' in e ? e.action_id : undefined)) : []));
const sections = (blocks: readonly KnownBlock[]) => blocks.filter((b): b is SectionBlock => b.type === 'section').map((b) => b.text?.text ?? '');
/** The last context line of a card: who decided, or what is still needed. */
const lastContext = (blocks: readonly KnownBlock[]) => {
  const b = blocks.filter((x) => x.type === 'context').at(-1);
  const el = b?.type === 'context' ? b.elements[0] : undefined;
  return el && 'text' in el ? el.text : null;
};

const headline = (v: MessageView) => sections(v.blocks)[0]!.split('\n')[0];

const release = (name: string, o: Partial<HomeRelease> = {}): HomeRelease => ({
  cluster: 'main', namespace: 'milvus', release: name, helm: { revision: 3, status: 'deployed', chart: 'milvus-4.1.36' }, running: '2.4.5',
  last: { id: 'req-42', kind: 'upgrade', from: '2.4.5', to: '2.4.23', state: 'running', requester: REQ, createdAt: T0, inProgress: true },
  may: [{ action: 'request', channels: ['C0OPS00001'] }, { action: 'read', channels: 'any' }], ...o,
});
const home = (o: Partial<HomeData> = {}): HomeData => ({ now: T0, named: true, scopes: [{ cluster: 'main', namespace: 'milvus' }], releases: [release('my-release')], unlisted: [], ...o });

describe('the plan card in each state is one Slack takes', () => {
  const HEADER = 'Milvus upgrade: my-release 2.4.5 → 2.4.23';
  const card = (r: UpgradeRequest, now = T0) => valid(planCard(r, mentionList([APP]), now), 'message');

  it('pending: Approve and Reject (and Show all changes), what is needed and until when', () => {
    const { text, blocks } = card(request());
    expect(headerOf(blocks)).toBe(HEADER);
    expect(text).toBe('Milvus upgrade of my-release: 2.4.5 → 2.4.23 (helm), pending approval');
    expect(actionIds(blocks)).toEqual(['show_changes', 'approve', 'reject']);
    expect(lastContext(blocks)).toMatch(/^Needs 1 approval\(s\) from <@U0APP00001>; expires <!date\^\d+\^\{time\}\|in time>\.$/);
    const all = blockText(blocks);
    expect(all).toContain('*Changes* 6 changed · 2 added · 1 removed · message queue: Pulsar v2, kept');
    expect(all).toContain('…and 3 more: *Show all changes*');
    expect(all).toContain('*Warnings*\n:warning: no chart carries Milvus 2.4.23');
    expect(all).toContain(`Requested by <@${REQ}> · req-42 · rollback: helm rollback my-release to revision 3`);
  });

  const decided: Array<[string, UpgradeRequest, number, string, string]> = [
    ['approved', request(approved), T0, 'approved', ':white_check_mark: Approved by <@U0APP00001>'],
    ['queued', request({ ...approved, phase: 'queued' }), T0, 'queued', ':white_check_mark: Approved by <@U0APP00001>'],
    ['running', ran('running'), T0, 'running', ':white_check_mark: Approved by <@U0APP00001>'],
    ['succeeded', ran('succeeded', { finishedAt: T0 + 600_000, completedSteps: 11 }), T0, 'succeeded', ':white_check_mark: Approved by <@U0APP00001>'],
    ['failed', ran('failed', { finishedAt: T0 + 600_000, completedSteps: 2, error: 'helm upgrade failed: timed out waiting for the condition' }), T0, 'failed', ':white_check_mark: Approved by <@U0APP00001>'],
    ['rolling back', ran('rolling-back'), T0, 'rolling back', ':white_check_mark: Approved by <@U0APP00001>'],
    ['rolled back', ran('rolled-back', { finishedAt: T0 + 900_000 }), T0, 'rolled back', ':white_check_mark: Approved by <@U0APP00001>'],
    ['rejected', request({ rejection: { by: { id: APP, via: 'slack' }, at: T0 + 60_000, reason: 'not during the load test' } }), T0, 'rejected', ':no_entry: Rejected by <@U0APP00001>: not during the load test'],
    ['expired', request(), T0 + 3_600_000, 'expired', ':hourglass: Expired without approval'],
    ['cancelled', request({ phase: 'cancelled', cancelRequested: { by: { id: REQ, via: 'slack' }, at: T0 + 30_000 } }), T0, 'cancelled', ':octagonal_sign: Cancelled by <@U0REQ00001>'],
    ['cancelled after approval', ran('cancelled', { cancelRequested: { by: { id: REQ, via: 'slack' }, at: T0 + 300_000 } }), T0, 'cancelled', ':white_check_mark: Approved by <@U0APP00001>'],
  ];
  it.each(decided)('%s: no decision buttons, who decided', (_name, r, now, words, decision) => {
    const { text, blocks } = card(r, now);
    expect(headerOf(blocks)).toBe(HEADER);
    expect(text).toBe(`Milvus upgrade of my-release: 2.4.5 → 2.4.23 (helm), ${words}`);
    expect(actionIds(blocks)).toEqual(['show_changes']);
    expect(lastContext(blocks)).toBe(decision);
  });

  it('a plan with no change listed has no Show all changes button, and says so', () => {
    const { blocks } = card(request({ plan: { ...HELM, changes: [] } }));
    expect(actionIds(blocks)).toEqual(['approve', 'reject']);
    expect(sections(blocks)).toContain('*Changes* none found · message queue unknown');
  });

  it('a rollback card (from the Rollback button, needing approval): its own title, steps and Approve/Reject', () => {
    const back = rollbackPlanFor(HELM)!;
    const r = request({ id: 'req-43', kind: 'rollback', plan: back, rollbackOf: 'req-42', requester: { id: APP, via: 'slack' } });
    const { text, blocks } = card(r);
    expect(headerOf(blocks)).toBe('Milvus rollback: my-release 2.4.23 → 2.4.5');
    expect(text).toBe('Milvus rollback of my-release: 2.4.23 → 2.4.5 (helm), pending approval');
    expect(actionIds(blocks)).toEqual(['approve', 'reject']);
    expect(sections(blocks).find((s) => s.startsWith('*Steps*'))).toMatch(/\n1\. /);
  });

  it('a rollback planned from helm history (/milvus rollback)', () => {
    const state = releaseState({ release: 'my-release', version: '2.4.23', chartVersion: '4.2.25', revision: 3 });
    const back = planRollback({ cluster: 'main', state, history: [revision(1, 'superseded', '4.1.24', '2.3.11'), revision(2, 'superseded', '4.1.36', '2.4.5'), revision(3, 'deployed', '4.2.25', '2.4.23')], tooling: tooling() });
    const { blocks } = card(request({ kind: 'rollback', plan: back }));
    expect(headerOf(blocks)).toBe('Milvus rollback: my-release 2.4.23 → 2.4.5');
    expect(blockText(blocks)).toContain('*Changes* not listed for this plan');
  });

  it('a three-hop route (2.1.4 -> 2.2.14 -> 2.5.16 -> 2.6.15): every hop and its way back, within the limits', () => {
    const p = route(releaseState({ release: 'my-release', version: '2.1.4', chartVersion: '3.2.18', revision: 1 }), '2.6.15');
    const { blocks } = card(request({ plan: p }));
    expect(headerOf(blocks)).toBe('Milvus upgrade: my-release 2.1.4 → 2.6.15');
    const all = blockText(blocks);
    expect(all).toContain('*Route* 2.1.4 → 2.2.14 → 2.5.16 → 2.6.15');
    expect(all).toMatch(/hop 3 \(2\.5\.16 → 2\.6\.15\): no rollback: into Milvus 2\.6 there is no way back/);
  });
});

describe('the progress message of each phase is one Slack takes', () => {
  const progress = (r: UpgradeRequest, log: readonly LogEntry[] = [], now = T0 + 192_000, canRollBack = false) => valid(progressMessage(r, log, now, { canRollBack }), 'message');

  it.each([
    ['pending', request(), ':hourglass_flowing_sand: *Upgrade waiting for approval*'],
    ['approved', request(approved), ':white_check_mark: *Upgrade approved, waiting for a worker*'],
    ['queued', request({ ...approved, phase: 'queued' }), ':inbox_tray: *Upgrade approved, waiting for a worker*'],
    ['starting', ran('running'), ':arrows_counterclockwise: *Upgrade starting*'],
    ['rejected', request({ rejection: { by: { id: APP, via: 'slack' }, at: T0 } }), ':no_entry: *Upgrade rejected*'],
    ['expired', request({ expiresAt: T0 }), ':hourglass: *Upgrade expired*'],
  ])('%s', (_name, r, expected) => {
    const v = progress(r);
    expect(headline(v)).toBe(expected);
    expect(actionIds(v.blocks)).toEqual([]);
  });

  it('running: the step, what happens now, the steps done and the time', () => {
    const v = progress(ran('running'), LOG);
    expect(v.text).toBe(`Upgrade: step 3 of 11: ${HELM.steps[2]!.description} — Now: helm upgrade: revision 4 pending-upgrade`);
    expect(sections(v.blocks)[0]).toBe(`:arrows_counterclockwise: *Upgrade: step 3 of 11: ${HELM.steps[2]!.description}*\nNow: helm upgrade: revision 4 pending-upgrade`);
    expect(lastContext(v.blocks)).toBe('2/11 steps done · elapsed 1m12s · req-42');
  });

  it('running with a cancel asked, by someone from the terminal', () => {
    const v = progress(ran('running', { cancelRequested: { by: { id: 'cli:alice', via: 'cli' }, at: T0 } }), LOG);
    expect(sections(v.blocks)[0]!.split('\n')).toEqual([`:arrows_counterclockwise: *Upgrade: step 3 of 11: ${HELM.steps[2]!.description}*`, 'Now: helm upgrade: revision 4 pending-upgrade', 'Cancel requested by cli:alice: stopping']);
  });

  it('running with a cancel asked in Slack: the person is a mention, not escaped text', () => {
    const v = progress(ran('running', { cancelRequested: { by: { id: 'U0BOB00002', via: 'slack' }, at: T0 } }), LOG);
    expect(sections(v.blocks)[0]!.split('\n')[2]).toBe('Cancel requested by <@U0BOB00002>: stopping');
    const odd = progress(ran('running', { cancelRequested: { by: { id: 'cli:<x>&y', via: 'cli' }, at: T0 } }), LOG);
    expect(sections(odd.blocks)[0]!.split('\n')[2]).toBe('Cancel requested by cli:&lt;x&gt;&amp;y: stopping');
  });

  it('rolling back', () => {
    const v = progress(ran('rolling-back'), LOG);
    expect(headline(v)).toMatch(/^:rewind: \*Upgrade: step 3 of 11: /);
  });

  it('succeeded, with the Rollback button and its confirm dialog', () => {
    const v = progress(ran('succeeded', { finishedAt: T0 + 600_000, completedSteps: 11 }), [], T0 + 700_000, true);
    expect(headline(v)).toBe(':large_green_circle: *Upgrade succeeded: my-release runs Milvus 2.4.23*');
    const after = v.blocks.find((b) => b.type === 'actions');
    expect(after).toEqual({
      type: 'actions',
      block_id: 'after',
      elements: [
        {
          type: 'button',
          action_id: 'rollback',
          style: 'danger',
          text: { type: 'plain_text', text: 'Roll back' },
          value: 'req-42',
          confirm: {
            title: { type: 'plain_text', text: 'Roll back?' },
            text: { type: 'mrkdwn', text: 'Undo req-42 on my-release: helm rollback my-release to revision 3 (chart 4.1.36, Milvus 2.4.5), components in reverse order' },
            confirm: { type: 'plain_text', text: 'Roll back' },
            deny: { type: 'plain_text', text: 'Keep it' },
          },
        },
      ],
    });
  });

  it('failed: at which step, and the error (escaped)', () => {
    const v = progress(ran('failed', { finishedAt: T0 + 600_000, completedSteps: 2, error: 'helm upgrade failed: <timeout> & no pods' }), LOG, T0 + 700_000, true);
    expect(sections(v.blocks)[0]).toBe(':red_circle: *Upgrade failed at step 3 of 11*\nhelm upgrade failed: &lt;timeout&gt; &amp; no pods');
    expect(actionIds(v.blocks)).toEqual(['rollback']);
  });

  it('cancelled during a step', () => {
    const v = progress(ran('cancelled', { finishedAt: T0 + 600_000 }), LOG);
    expect(headline(v)).toBe(':octagonal_sign: *Upgrade cancelled during step 3 of 11*');
  });

  it('rolled back (the upgrade), and the rollback that succeeded', () => {
    expect(headline(progress(ran('rolled-back', { finishedAt: T0 + 900_000 })))).toBe(':leftwards_arrow_with_hook: *Upgrade was rolled back*');
    const back = request({ id: 'req-43', kind: 'rollback', plan: rollbackPlanFor(HELM)!, rollbackOf: 'req-42', phase: 'rolled-back', startedAt: T0, finishedAt: T0 + 60_000 });
    expect(headline(progress(back))).toBe(':leftwards_arrow_with_hook: *Rollback succeeded: my-release is back on 2.4.5*');
  });
});

describe('the changes list is one Slack takes, however many there are', () => {
  it.each([0, 1, 40, 5000])('%i changes', (n) => {
    const blocks = changesBlocks({ ...HELM, changes: changes(n) });
    valid({ blocks }, 'message');
    expect(sections(blocks)[0]).toBe(`*All changes of main/milvus/my-release@2.4.23* (${n})`);
    const listed = sections(blocks).slice(1).flatMap((s) => s.split('\n'));
    expect(listed.length).toBe(Math.min(n, listed.length));
    if (n > 0) expect(listed[0]).toBe(':heavy_plus_sign: Deployment `my-release-milvus-querynode-0`: querynode: milvusdb/milvus:v2.4.5 -&gt; milvusdb/milvus:v2.4.23; replicas 2 -&gt; 3');
    if (n <= 40) expect(listed).toHaveLength(n);
    else expect(lastContext(blocks)).toMatch(new RegExp(`^${n - listed.length} more not shown: \`milvus-upgrade plan my-release 2\\.4\\.23 -n milvus --json\``));
  });
});

describe('the status answer and the App Home are ones Slack takes', () => {
  it('status of a release with Attu beside it and a request in progress', () => {
    const state = releaseState({ release: 'my-release', version: '2.4.5', components: ['proxy', 'querynode', 'datanode'], others: [component('attu', { fullname: 'my-release-milvus', image: 'zilliz/attu:v2.4.12' })] });
    const { text, blocks } = valid(statusMessage({ state, running: '2.4.5', restarts: { proxy: 0, querynode: 3 }, active: { id: 'req-42', state: 'running' } }), 'message');
    expect(headerOf(blocks)).toBe('my-release runs Milvus 2.4.5');
    expect(text.split('\n')[0]).toBe('*my-release* runs Milvus 2.4.5 (helm revision 3, deployed, chart milvus-4.1.36)');
    expect(blockText(blocks)).toContain(':arrows_counterclockwise: Request in progress: `req-42` (*running*)');
  });

  it('the Home of a person with one release', () => {
    const view = valid(homeView(home()), 'home');
    expect(validateView(view, 'home')).toEqual([]);
    expect(headerOf(view.blocks)).toBe('Milvus releases you can act on');
    expect(blockText(view.blocks)).toContain(':arrows_counterclockwise: In progress: `req-42` upgrade 2.4.5 → 2.4.23: *running*');
  });

  it('the Home of a person no rule names', () => {
    const view = valid(homeView(home({ named: false, scopes: [], releases: [] })), 'home');
    expect(blockText(view.blocks)).toMatch(/not named in any of this bot's access rules/);
  });

  it('the Home error view', () => {
    const view = valid(homeErrorView('Redis is unavailable; nothing was done. Try again when it is back.', T0), 'home');
    expect(validateView(view, 'home')).toEqual([]);
    expect(sections(view.blocks)[0]).toBe(':warning: Your releases could not be shown: Redis is unavailable; nothing was done. Try again when it is back.. Open this tab again to retry.');
  });
});

describe('past what people type: still within the limits, clipped and escaped', () => {
  const card = (r: UpgradeRequest, approvers = mentionList([APP]), now = T0) => valid(planCard(r, approvers, now), 'message');

  it('60 warnings of 5,000 characters with mentions and mrkdwn: one clipped, escaped section', () => {
    const { blocks } = card(request({ plan: { ...WITH_CHANGES, warnings: Array.from({ length: 60 }, () => long(5000)) } }));
    const warnings = sections(blocks).find((s) => s.startsWith('*Warnings*'))!;
    expect(warnings.length).toBe(2900);
    expect(warnings.startsWith('*Warnings*\n:warning: ping &lt;@U123&gt; *bold* `code` &amp;&lt;&gt; ')).toBe(true);
    expect(JSON.stringify(blocks)).not.toContain('<@U123>');
  });

  it('an error of 5,000 characters with mentions and mrkdwn: the progress message clips and escapes it', () => {
    const error = long(5000);
    const v = valid(progressMessage(ran('failed', { finishedAt: T0 + 600_000, completedSteps: 2, error }), LOG, T0 + 700_000, { canRollBack: true }), 'message');
    const first = sections(v.blocks)[0]!;
    expect(first.length).toBe(2900);
    expect(first.startsWith(':red_circle: *Upgrade failed at step 3 of 11*\nping &lt;@U123&gt; *bold* `code` &amp;&lt;&gt; ')).toBe(true);
    expect(JSON.stringify(v.blocks)).not.toContain('<@U123>');
    // The notification text is mrkdwn too: escaped, so the error's mention pings nobody.
    expect(v.text).toBe(`Upgrade failed at step 3 of 11 — ${error.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}`);
    expect(v.text).not.toContain('<@U123>');
  });

  it('a rejection reason of 5,000 characters: the decision line is clipped, escaped', () => {
    const { blocks } = card(request({ rejection: { by: { id: APP, via: 'slack' }, at: T0, reason: long(5000) } }));
    const decision = lastContext(blocks)!;
    expect(decision.length).toBe(3000);
    expect(decision.startsWith(':no_entry: Rejected by <@U0APP00001>: ping &lt;@U123&gt; *bold*')).toBe(true);
    expect(decision.endsWith('…')).toBe(true);
  });

  it('400 approvers: the line that names them is clipped', () => {
    const many = mentionList(Array.from({ length: 400 }, (_, i) => `U${String(i).padStart(9, '0')}`));
    const { blocks } = card(request(), many);
    const needs = lastContext(blocks)!;
    expect(needs.length).toBe(3000);
    expect(needs.startsWith('Needs 1 approval(s) from <@U000000000>, <@U000000001>')).toBe(true);
    expect(actionIds(blocks)).toEqual(['show_changes', 'approve', 'reject']);
  });

  it('a release name of 53 characters (the most DNS-1123 allows) in every view', () => {
    const name = `r${'e'.repeat(51)}1`;
    const p = upgradePlan(releaseState({ release: name, version: '2.4.5', chartVersion: '4.1.36' }), '2.4.23');
    const r = request({ release: name, plan: { ...p, changes: changes(12), warnings: [...p.warnings, long(5000)] } });
    expect(headerOf((card(r)).blocks)).toBe(`Milvus upgrade: ${name} 2.4.5 → 2.4.23`);
    const done = valid(progressMessage({ ...r, ...approved, phase: 'succeeded', startedAt: T0, finishedAt: T0 + 1 }, [], T0 + 2, { canRollBack: true }), 'message');
    expect(headline(done)).toBe(`:large_green_circle: *Upgrade succeeded: ${name} runs Milvus 2.4.23*`);
    valid({ blocks: changesBlocks(r.plan) }, 'message');
    const { blocks } = valid(statusMessage({ state: releaseState({ release: name }), running: '2.4.5', active: { id: 'req-42', state: 'running' } }), 'message');
    expect(headerOf(blocks)).toBe(`${name} runs Milvus 2.4.5`);
  });

  it('changes whose details run to 5,000 characters: one per section, cut, none empty', () => {
    for (const n of [1, 3, 60]) {
      const blocks = changesBlocks({ ...HELM, changes: changes(n, long(5000)) });
      valid({ blocks }, 'message');
      const listed = sections(blocks).slice(1);
      expect(listed.length).toBe(Math.min(n, 48));
      for (const s of listed) {
        expect(s).toMatch(/^:(heavy_plus_sign|heavy_minus_sign|pencil2): Deployment `my-release-milvus-querynode-\d+`: ping &lt;@U123&gt; /);
        expect(s.length).toBe(2900);
      }
      if (n > 48) expect(lastContext(blocks)).toMatch(new RegExp(`^${n - 48} more not shown: `));
    }
  });

  it('data changes allowed with long risks, and a long message queue note', () => {
    const risks = Array.from({ length: 30 }, (_, i) => ({ subject: `StatefulSet/my-release-pulsar-bookie-${i}`, reason: long(300) }));
    const { blocks } = card(request({ plan: { ...WITH_CHANGES, dataChanges: { allowedBy: APP, risks }, messageQueue: { kind: 'pulsar-v2', note: long(4000) } } }));
    expect(sections(blocks).find((s) => s.startsWith('*Changes*'))!.length).toBeLessThanOrEqual(2900);
  });

  it('the Home and its error view with long, nasty reasons: clipped, escaped', () => {
    const releases = [release('my-release', { unreadable: long(5000) }), ...Array.from({ length: 45 }, (_, i) => release(`r${i}`))];
    const unlisted = Array.from({ length: 12 }, (_, i) => ({ cluster: `c${i}`, namespace: null, reason: long(5000) }));
    const view = valid(homeView(home({ releases, unlisted, scopes: Array.from({ length: 200 }, (_, i) => ({ cluster: `cluster-${i}`, namespace: `namespace-${i}` })) })), 'home');
    expect(validateView(view, 'home')).toEqual([]);
    const all = blockText(view.blocks);
    expect(all).toContain(':warning: Could not be read: ping &lt;@U123&gt; *bold* `code` &amp;&lt;&gt; ');
    expect(all).toContain('…and 6 more releases');
    expect(all).toContain(':warning: …and 2 more places could not be listed.');
    expect(all).not.toContain('<@U123>');
    const err = valid(homeErrorView(long(5000), T0), 'home');
    expect(sections(err.blocks)[0]).toMatch(/^:warning: Your releases could not be shown: ping &lt;@U123&gt; .*…\. Open this tab again to retry\.$/);
  });

  it('status with a 2,100-character image holding mentions', () => {
    const image = `milvusdb/milvus:${long(2100)}`;
    const { blocks } = valid(statusMessage({ state: releaseState({ release: 'my-release', components: [component('proxy', { image })] }), running: '2.4.5', active: null }), 'message');
    expect(JSON.stringify(blocks)).not.toContain('<@U123>');
  });
});
