/**
 * Maintenance windows and freezes at run time (issue 28), on the control plane with real helm,
 * Slack over signed requests, the worker in the bot's process, and an injected clock (no test
 * sleeps until 02:00): the policy file gives the namespace "Sat 02:00-05:00 Europe/Paris" and
 * one release a freeze from 02:00 to 03:00.
 * - Approved Sat 01:00 Paris: held (the thread and the App Home say "runs Sat 12 Dec 02:00
 *   CET", nothing of the release changes); at 02:00 on the clock it runs.
 * - Approved at 04:45: a 30 min hop no longer fits, it waits for the next Saturday; `/milvus
 *   cancel` drops it and nothing changed.
 * - The frozen release approved at 02:10: held until 03:00, then it runs.
 * - A refusing freeze refuses `/milvus upgrade` at once; `/milvus windows` says what applies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { CHANNEL, SIGNING_SECRET, USERS, startBotEnv, type BotEnv } from './bot-env.js';
import { cluster, imagesByComponent, installRelease, newNamespace } from './helpers.js';
import { snapshotRelease, diffSnapshots } from './release-snapshot.js';
import { until } from './engine.js';
import { deriveState } from '../../src/upgrade/requests.js';
import { postSigned } from '../harness/slack-sign.js';

const paris = (iso: string) => DateTime.fromISO(iso, { zone: 'Europe/Paris' }).toMillis();

describe('maintenance windows and freezes', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  let bot: BotEnv;
  let clock = paris('2026-12-12T01:00');

  beforeAll(async () => {
    ns = await newNamespace('e2e-windows');
    await Promise.all(['early', 'late', 'held'].map((r) => installRelease(ns.name, r, '4.2.58')));
    const accessYaml = `rules:
  - namespaces: ["*"]
    releases: ["*"]
    requesters: ["${USERS.requester}"]
    approvers: ["${USERS.approver}"]
    channels: ["${CHANNEL}"]
windows:
  - namespaces: ["${ns.name}"]
    weekly: ["Sat 02:00-05:00 Europe/Paris"]
freezes:
  - releases: ["held"]
    from: "2026-12-12T02:00 Europe/Paris"
    to: "2026-12-12T03:00 Europe/Paris"
    reason: storage maintenance
  - releases: ["nope"]
    from: "2026-12-01T00:00 Europe/Paris"
    to: "2026-12-31T00:00 Europe/Paris"
    reason: year-end audit
    mode: refuse
`;
    bot = await startBotEnv({ accessYaml, now: () => clock, env: { SCHEDULE_RECHECK_MS: '300', HOP_EXPECTED_MINUTES: '30' } });
  });
  afterAll(async () => {
    await bot?.close();
    await ns?.cleanup();
  });

  async function askAndApprove(release: string): Promise<string> {
    await bot.slash(`upgrade ${release} 2.6.15 -n ${ns.name}`, USERS.requester);
    const id = await until(`the request of ${release}`, 120_000, async () => (await bot.store.activeFor('milvus-test', ns.name, release))?.id);
    const card = await until('its card', 30_000, async () => {
      const ts = (await bot.store.require(id)).place?.messageTs;
      return bot.stub.messages(CHANNEL).find((m) => m.ts === ts);
    });
    await bot.click('approve', id, USERS.approver, card.ts);
    return id;
  }

  const progressText = async (id: string) => {
    const r = await bot.store.require(id);
    return bot.stub.messages(CHANNEL).find((m) => m.ts === r.place?.progressTs)?.text ?? '';
  };

  it('approved at 01:00 Paris: held, said in the thread and on the App Home, nothing changes; at 02:00 on the clock it runs', async () => {
    const before = await snapshotRelease(cluster().kubeconfig, ns.name, 'early');
    const id = await askAndApprove('early');
    const held = await until('the hold recorded', 60_000, async () => (await bot.store.require(id)).scheduled);
    expect(held).toMatchObject({ at: paris('2026-12-12T02:00'), beforeStep: 0 });
    expect(held.text).toMatch(/^runs Sat 12 Dec 02:00 CET: the next opening of Sat 02:00-05:00 Europe\/Paris it fits in \(30 min expected\)$/);
    expect(await until('the thread to say it', 30_000, async () => /held by the maintenance window/.test(await progressText(id)) && (await progressText(id)))).toMatch(/runs Sat 12 Dec 02:00 CET/);
    // The App Home lists it among the scheduled runs.
    const event = JSON.stringify({ type: 'event_callback', team_id: 'T0TEAM0001', api_app_id: 'A0APP00001', event: { type: 'app_home_opened', user: USERS.approver, channel: 'D0APP00001', tab: 'home', event_ts: `${Date.now() / 1000}` }, event_id: `Ev${Date.now()}`, event_time: Math.floor(Date.now() / 1000) });
    await postSigned(bot.url, event, { signingSecret: SIGNING_SECRET, contentType: 'application/json' });
    await until('the App Home', 30_000, async () => bot.stub.home(USERS.approver));
    expect(JSON.stringify(bot.stub.home(USERS.approver)!.view)).toMatch(/Scheduled runs[^"]*early[^"]*runs Sat 12 Dec 02:00 CET/);
    // Several rechecks later, still held, the release untouched.
    await new Promise((r) => setTimeout(r, 1500));
    expect(deriveState(await bot.store.require(id), Date.now())).toBe('queued');
    expect(diffSnapshots(before, await snapshotRelease(cluster().kubeconfig, ns.name, 'early')).map((d) => d.text)).toEqual([]);
    clock = paris('2026-12-12T02:00');
    await until('the upgrade to end', 300_000, async () => /succeeded|failed/.test(deriveState(await bot.store.require(id), Date.now())));
    const r = await bot.store.require(id);
    expect(deriveState(r, Date.now()), r.error ?? '').toBe('succeeded');
    expect(r.scheduled).toBeNull();
    expect(new Set(Object.values(await imagesByComponent(ns.name, 'early')))).toEqual(new Set(['milvusdb/milvus:v2.6.15']));
  });

  it('approved at 04:45: a 30 min hop no longer fits, it waits for next Saturday; /milvus cancel drops it, nothing changed', async () => {
    clock = paris('2026-12-12T04:45');
    const before = await snapshotRelease(cluster().kubeconfig, ns.name, 'late');
    const id = await askAndApprove('late');
    const held = await until('the hold recorded', 60_000, async () => (await bot.store.require(id)).scheduled);
    expect(held.at).toBe(paris('2026-12-19T02:00'));
    const answer = await bot.slash(`cancel late -n ${ns.name}`, USERS.requester);
    expect(answer.status).toBe(200);
    await until('the cancel', 30_000, async () => deriveState(await bot.store.require(id), Date.now()) === 'cancelled');
    await new Promise((r) => setTimeout(r, 1000));
    expect(diffSnapshots(before, await snapshotRelease(cluster().kubeconfig, ns.name, 'late')).map((d) => d.text)).toEqual([]);
    expect((await bot.store.require(id)).startedAt).toBeNull();
  });

  it('a holding freeze: approved at 02:10 inside the window, held until the freeze ends at 03:00, then it runs; a refusing freeze refuses at once', async () => {
    clock = paris('2026-12-12T02:10');
    const id = await askAndApprove('held');
    const held = await until('the hold recorded', 60_000, async () => (await bot.store.require(id)).scheduled);
    expect(held.at).toBe(paris('2026-12-12T03:00'));
    expect(held.text).toMatch(/after the freeze \(storage maintenance\)/);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await bot.store.require(id)).startedAt).toBeNull();
    clock = paris('2026-12-12T03:00');
    await until('the upgrade to end', 300_000, async () => /succeeded|failed/.test(deriveState(await bot.store.require(id), Date.now())));
    expect(deriveState(await bot.store.require(id), Date.now())).toBe('succeeded');

    const refused = await bot.slash(`upgrade nope 2.6.15 -n ${ns.name}`, USERS.requester);
    const said = JSON.parse(refused.body || '{}').text ?? '';
    const ephemeral = await until('the refusal', 30_000, async () => said || bot.stub.ephemerals(CHANNEL).find((e) => /nope is frozen/.test(e.text))?.text);
    expect(ephemeral).toMatch(/nope is frozen: frozen until 2026-12-30T23:00:00.000Z: year-end audit/);

    await bot.slash(`windows held -n ${ns.name}`, USERS.requester);
    const windows = await until('the windows answer', 30_000, async () => bot.stub.ephemerals(CHANNEL).find((e) => e.text.startsWith('Maintenance windows of'))?.text);
    expect(windows).toMatch(/Sat 02:00-05:00 Europe\/Paris \(open now, closes Sat 12 Dec 05:00 CET\)/);
    expect(windows).toMatch(/An upgrade approved now \(a hop expected to take 30 min\): runs now/);
  });
});
