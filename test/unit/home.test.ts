/**
 * The App Home: what each person sees, from their access rules, the releases helm lists and the
 * requests the bot keeps; built by gatherHome (through fakes) and rendered by homeView.
 */
import type { WebClient } from '@slack/web-api';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { parseAccessConfig } from '../../src/bot/access.js';
import { BotHandlers } from '../../src/bot/handlers.js';
import { capabilitiesOn, scopesOf } from '../../src/bot/home-access.js';
import { gatherHome, type HomeDeps } from '../../src/bot/home-data.js';
import { HOME_MAX_RELEASES, homeErrorView, homeView } from '../../src/bot/home.js';
import { UpgradeError } from '../../src/upgrade/errors.js';
import type { UpgradeRequest } from '../../src/upgrade/requests.js';
import type { HelmReleaseInfo } from '../../src/upgrade/state.js';
import { blockText, expectWithinLimits } from './block-limits.js';
import { releaseState, upgradeRequest } from './helpers.js';
import { testSealer } from '../fixtures/test-sealer.js';

const NOW = Date.UTC(2026, 11, 3, 9, 0);
const REQ = 'U0REQ00001';
const APP = 'U0APP00001';
const NOBODY = 'U0NOBODY01';
const CHANNEL = 'C0OPS00001';

const RULES = parseAccessConfig(`rules:
  - namespaces: [milvus]
    requesters: ["${REQ}"]
    approvers: ["${APP}"]
    channels: ["${CHANNEL}"]
  - clusters: [far]
    namespaces: [milvus]
    requesters: ["${REQ}"]
`);

const info = (name: string, namespace = 'milvus', o: Partial<HelmReleaseInfo> = {}): HelmReleaseInfo => ({ name, namespace, revision: 2, status: 'deployed', chart: 'milvus-4.1.24', chartVersion: '4.1.24', appVersion: '2.3.11', ...o });

function request(o: Partial<UpgradeRequest> & Pick<UpgradeRequest, 'id'>): UpgradeRequest {
  return upgradeRequest({
    cluster: 'main',
    namespace: 'milvus',
    release: 'my-release',
    plan: { from: '2.3.11', to: '2.4.23' } as UpgradeRequest['plan'],
    requester: { id: REQ, via: 'slack' },
    createdAt: NOW - 60_000,
    expiresAt: NOW + 3_600_000,
    ...o,
  });
}

interface World {
  releases?: Record<string, HelmReleaseInfo[] | Error>;
  unreadable?: Record<string, Error>;
  history?: Record<string, UpgradeRequest[]>;
  rules?: HomeDeps['rules'];
}

/** An engine and a store over plain data; `main` is the default cluster. */
function deps(w: World): HomeDeps & { statusCalls: string[] } {
  const statusCalls: string[] = [];
  return {
    statusCalls,
    rules: w.rules ?? RULES,
    groups: { groupsOf: async () => [] },
    now: () => NOW,
    engine: {
      clusterName: (c) => c ?? 'main',
      releases: async (cluster, namespace) => {
        const got = w.releases?.[`${cluster ?? 'main'}/${namespace ?? '*'}`] ?? [];
        if (got instanceof Error) throw got;
        return got;
      },
      status: async (cluster, namespace, release) => {
        const key = `${cluster ?? 'main'}/${namespace}/${release}`;
        statusCalls.push(key);
        const err = w.unreadable?.[key];
        if (err) throw err;
        return { state: releaseState({ release, namespace, version: '2.3.11' }), running: '2.3.11' };
      },
    },
    store: { history: async (cluster, namespace, release) => w.history?.[`${cluster}/${namespace}/${release}`] ?? [] },
  };
}

const WORLD: World = {
  releases: { 'main/milvus': [info('my-release')], 'far/milvus': new UpgradeError('step-failed', 'no context "far" in the kubeconfig') },
  history: { 'main/milvus/my-release': [request({ id: 'req-17' })] },
};

async function homeOf(user: string, w: World = WORLD) {
  const view = homeView(await gatherHome(deps(w), user));
  expect(view.type).toBe('home');
  expectWithinLimits(view.blocks, 'home');
  return { view, text: blockText(view.blocks) };
}

describe('access as the Home sees it', () => {
  it('scopes: the clusters and namespaces of the rules naming the person; every namespace wins over a list', () => {
    expect(scopesOf(RULES, new Set([REQ]), 'main')).toEqual([
      { cluster: 'main', namespace: 'milvus' },
      { cluster: 'far', namespace: 'milvus' },
    ]);
    expect(scopesOf(RULES, new Set([APP]), 'main')).toEqual([{ cluster: 'main', namespace: 'milvus' }]);
    expect(scopesOf(RULES, new Set([NOBODY]), 'main')).toEqual([]);
    const wide = parseAccessConfig(`rules:\n  - namespaces: [a]\n    readers: ["${NOBODY}"]\n  - releases: [x]\n    readers: ["${NOBODY}"]\n`);
    expect(scopesOf(wide, new Set([NOBODY]), 'main')).toEqual([{ cluster: 'main', namespace: null }]);
  });

  it('capabilities: a channel-bound rule says from where; the Home grants nothing a command would not', () => {
    const target = { cluster: 'main', namespace: 'milvus', release: 'my-release' };
    expect(capabilitiesOn(RULES, { user: REQ, groups: [] }, target)).toEqual([
      { action: 'request', channels: [CHANNEL] },
      { action: 'rollback', channels: [CHANNEL] },
      { action: 'read', channels: [CHANNEL] },
    ]);
    expect(capabilitiesOn(RULES, { user: APP, groups: [] }, target).map((c) => c.action)).toEqual(['approve', 'rollback', 'read']);
    expect(capabilitiesOn(RULES, { user: NOBODY, groups: [] }, target)).toEqual([]);
    expect(capabilitiesOn(RULES, { user: REQ, groups: [] }, { ...target, cluster: 'far' })).toEqual([
      { action: 'request', channels: 'any' },
      { action: 'rollback', channels: 'any' },
      { action: 'read', channels: 'any' },
    ]);
  });
});

describe('the App Home', () => {
  it('a requester sees the release, its version, helm, the last request in progress, and what they may do', async () => {
    const { text } = await homeOf(REQ);
    expect(text).toContain('*my-release* · namespace `milvus` · cluster `main`');
    expect(text).toContain('Milvus *2.3.11* · helm revision 2, deployed · chart milvus-4.1.24');
    expect(text).toMatch(/:arrows_counterclockwise: In progress: `req-17` upgrade 2\.3\.11 → 2\.4\.23: \*pending approval\*, asked by <@U0REQ00001> <!date\^\d+\^\{date_short_pretty\} \{time\}\|2026-12-03 08:59 UTC>/);
    expect(text).toContain(`You may request upgrades, roll back, read from <#${CHANNEL}>.`);
    expect(text).toMatch(/`\/milvus plan my-release <version> -n milvus`/);
    expect(text).toMatch(/`\/milvus upgrade my-release <version> -n milvus`/);
  });

  it('an unreachable cluster is shown with its reason, not dropped', async () => {
    const { text } = await homeOf(REQ);
    expect(text).toContain(':warning: Releases in namespace `milvus` of cluster `far` could not be listed: no context "far" in the kubeconfig');
  });

  it('an approver only may approve, not request; a finished request is the last one, not in progress', async () => {
    const done = request({ id: 'req-9', phase: 'succeeded', approvals: [{ by: { id: APP, via: 'slack' }, at: NOW }] });
    const { text } = await homeOf(APP, { ...WORLD, history: { 'main/milvus/my-release': [done] } });
    expect(text).toContain(`You may approve, roll back, read from <#${CHANNEL}>.`);
    expect(text).not.toMatch(/request upgrades/);
    expect(text).toMatch(/Last request: `req-9` upgrade 2\.3\.11 → 2\.4\.23: \*succeeded\*/);
    expect(text).not.toMatch(/In progress/);
    // The approver's rules do not reach the far cluster: it is not theirs to see.
    expect(text).not.toMatch(/far/);
  });

  it('a person no rule names gets a sentence, not an empty page; nothing is read for them', async () => {
    const d = deps(WORLD);
    const view = homeView(await gatherHome(d, NOBODY));
    expect(blockText(view.blocks)).toMatch(/not named in any of this bot's access rules/);
    expect(view.blocks.some((b) => b.type === 'section' && /my-release/.test(b.text?.text ?? ''))).toBe(false);
    expect(d.statusCalls).toEqual([]);
  });

  it('a release that cannot be read shows why, with what helm recorded', async () => {
    const { text } = await homeOf(REQ, { ...WORLD, unreadable: { 'main/milvus/my-release': new UpgradeError('transient', 'Kubernetes API unreachable while listing Deployments: ECONNREFUSED') } });
    expect(text).toContain(':warning: Could not be read: Kubernetes API unreachable while listing Deployments: ECONNREFUSED');
    expect(text).toContain("Helm's record: helm revision 2, deployed · chart milvus-4.1.24");
    expect(text).toContain('*my-release*');
  });

  it('no release there: said so', async () => {
    const { text } = await homeOf(REQ, { releases: { 'main/milvus': [] }, rules: parseAccessConfig(`rules:\n  - namespaces: [milvus]\n    requesters: ["${REQ}"]\n`) });
    expect(text).toMatch(/No Milvus release found there/);
  });

  it('60 releases: the first 40 in order, "…and 20 more", only those 40 read, within Slack limits', async () => {
    const many = Array.from({ length: 60 }, (_, i) => info(`r${String(i).padStart(2, '0')}`));
    const d = deps({ releases: { 'main/milvus': [...many].reverse() } });
    const view = homeView(await gatherHome(d, REQ));
    expectWithinLimits(view.blocks, 'home');
    const text = blockText(view.blocks);
    expect(text).toContain('*r00*');
    expect(text).toContain('*r39*');
    expect(text).not.toContain('*r40*');
    expect(text).toContain('…and 20 more releases');
    expect(d.statusCalls).toHaveLength(HOME_MAX_RELEASES);
  });

  it('long reasons and many unlisted places stay within the limits', async () => {
    const rules = parseAccessConfig(`rules:\n  - clusters: [${Array.from({ length: 15 }, (_, i) => `c${i}`).join(', ')}]\n    requesters: ["${REQ}"]\n`);
    const releases = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`c${i}/*`, new Error('x'.repeat(5000))]));
    const view = homeView(await gatherHome(deps({ rules, releases }), REQ));
    expectWithinLimits(view.blocks, 'home');
    expect(blockText(view.blocks)).toContain('…and 5 more places could not be listed');
  });

  it('the error Home says what went wrong', () => {
    const view = homeErrorView('Redis is unavailable; nothing was done. Try again when it is back.', NOW);
    expectWithinLimits(view.blocks, 'home');
    expect(blockText(view.blocks)).toMatch(/:warning: Your releases could not be shown: Redis is unavailable/);
  });
});

describe('the app_home_opened handler', () => {
  function handlers(d: HomeDeps, storeUp = true) {
    return new BotHandlers({
      ...d,
      store: d.store as never,
      engine: d.engine as never,
      queue: { enqueue: async () => {} },
      sealer: testSealer,
      groups: d.groups as never,
      approvals: { needed: 1, allowSelf: false, ttlMs: 3_600_000, rollbackNeeded: 1 },
      logger: pino({ level: 'silent' }),
      storeUp: () => storeUp,
    });
  }
  function client(fail = false) {
    const published: Array<{ user_id: string; view: { blocks: unknown[] } }> = [];
    const c = { views: { publish: async (a: { user_id: string; view: { blocks: unknown[] } }) => (fail ? Promise.reject(new Error('boom')) : void published.push(a)) } };
    return { published, client: c as unknown as WebClient };
  }

  it('publishes the Home of the person who opened it', async () => {
    const { published, client: c } = client();
    await handlers(deps(WORLD)).home(REQ, c);
    expect(published).toHaveLength(1);
    expect(published[0]!.user_id).toBe(REQ);
    expect(JSON.stringify(published[0]!.view)).toContain('my-release');
  });

  it('a store failure publishes an error section instead of the list; Redis away says so', async () => {
    const broken = deps(WORLD);
    const { published, client: c } = client();
    await handlers({ ...broken, store: { history: () => Promise.reject(new Error('Connection is closed.')) } }).home(REQ, c);
    expect(JSON.stringify(published[0]!.view)).toMatch(/could not be shown: Connection is closed/);
    await handlers(deps(WORLD), false).home(REQ, c);
    expect(JSON.stringify(published[1]!.view)).toMatch(/could not be shown: Redis is unavailable/);
  });

  it('a failed publish is logged, not thrown out of Bolt', async () => {
    const { client: c } = client(true);
    await expect(handlers(deps(WORLD)).home(REQ, c)).resolves.toBeUndefined();
  });
});
