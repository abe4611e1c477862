/**
 * Fleets (issue 28), the plan: on the control plane with real helm and the fixture charts, six
 * releases in two namespaces (and one outside the selector). `fleet plan 2.6.15 --select
 * team-*\/milvus-*` plans each on its own: the one already on 2.6.15 and the one already past it
 * are listed with their reason and left out, the rest go in waves 1,50%,100%, the canary
 * first; nothing of any release changes. A selector that names nothing, and waves that do not add
 * up, are refused at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cluster, installRelease, newNamespace } from './helpers.js';
import { CHANNEL, USERS, startBotEnv } from './bot-env.js';
import { snapshotRelease, diffSnapshots } from './release-snapshot.js';

describe('fleet plan', () => {
  let x: { name: string; cleanup: () => Promise<void> };
  let y: { name: string; cleanup: () => Promise<void> };
  // Namespaces get a suffix of their own: the selector names both by their shared prefix.
  let prefix: string;

  beforeAll(async () => {
    x = await newNamespace('e2e-fleet-x');
    y = await newNamespace('e2e-fleet-y');
    prefix = 'e2e-fleet-';
    const installs: Array<[string, string, string]> = [
      [x.name, 'milvus-a', '4.2.58'],
      [x.name, 'milvus-b', '4.2.20'],
      [x.name, 'milvus-c', '5.0.22'],
      [y.name, 'milvus-d', '4.2.58'],
      [y.name, 'milvus-e', '5.0.19'],
      [y.name, 'other', '4.2.58'],
    ];
    // Two of them labelled as helm labels a release (`helm install --labels`).
    const gold = new Set(['milvus-a', 'milvus-d']);
    for (const [ns, release, chart] of installs) await installRelease(ns, release, chart, {}, gold.has(release) ? { tier: 'gold' } : {});
  });
  afterAll(async () => {
    await x?.cleanup();
    await y?.cleanup();
  });

  it('plans each release on its own, lists the refused with their reason, puts the rest in waves with the canary first, and changes nothing', async () => {
    const names = ['milvus-a', 'milvus-b', 'milvus-c'].map((r) => [x.name, r] as const).concat(['milvus-d', 'milvus-e', 'other'].map((r) => [y.name, r] as const));
    const before = await Promise.all(names.map(([ns, r]) => snapshotRelease(cluster().kubeconfig, ns, r)));
    const r = await cli(['fleet', 'plan', '2.6.15', '--select', `${prefix}*/milvus-*`, '--waves', '1,50%,100%', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as {
      waves: Array<{ releases: Array<{ namespace: string; release: string; from: string; to: string; path: string; route: string[] }> }>;
      refused: Array<{ namespace: string; release: string; reason: string }>;
    };
    const waves = plan.waves.map((w) => w.releases.map((m) => `${m.namespace === x.name ? 'x' : 'y'}/${m.release}`));
    // Three planned (1, then up to 50% = 2, then the rest), the canary first by name (no Milvus read).
    expect(waves).toEqual([['x/milvus-a'], ['x/milvus-b'], ['y/milvus-d']]);
    expect(plan.waves[1]!.releases[0]).toMatchObject({ from: '2.4.16', to: '2.6.15', route: ['2.4.16', '2.5.16', '2.6.15'] });
    expect(plan.waves[0]!.releases[0]).toMatchObject({ from: '2.5.16', to: '2.6.15', route: ['2.5.16', '2.6.15'] });
    // Refused, with their reasons; the others go on. `other` is not selected at all.
    expect(plan.refused.map((f) => f.release).sort()).toEqual(['milvus-c', 'milvus-e']);
    expect(plan.refused.find((f) => f.release === 'milvus-e')!.reason).toMatch(/2\.6\.15/);
    expect(plan.refused.find((f) => f.release === 'milvus-c')!.reason).toMatch(/Milvus 2\.6\.15 is not newer than the running 2\.6\.20/);
    expect(JSON.stringify(plan)).not.toContain('"other"');
    // A plan changes nothing.
    const after = await Promise.all(names.map(([ns, rel]) => snapshotRelease(cluster().kubeconfig, ns, rel)));
    before.forEach((b, i) => expect(diffSnapshots(b, after[i]!).map((d) => d.text), names[i]!.join('/')).toEqual([]));

    const text = await cli(['fleet', 'plan', '2.6.15', '--select', `${prefix}*/milvus-*`, '--waves', '1,50%,100%']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^Fleet plan: e2e-fleet-\*\/milvus-\* to Milvus 2\.6\.15, 3 release\(s\) in 3 wave\(s\), at most 5 at once\n {2}wave 1 \(canary\):/);
    expect(text.stdout).toMatch(/refused \(left out; the others go on\):/);
  });

  it('-l key=value keeps only the releases with that helm label; a label nobody has names nothing', async () => {
    const r = await cli(['fleet', 'plan', '2.6.15', '--select', `${prefix}*/milvus-*`, '-l', 'tier=gold', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { selector: string; waves: Array<{ releases: Array<{ release: string }> }>; refused: unknown[] };
    expect(plan.waves.flatMap((w) => w.releases.map((m) => m.release)).sort()).toEqual(['milvus-a', 'milvus-d']);
    expect(plan.selector).toBe(`${prefix}*/milvus-* -l tier=gold`);
    expect(plan.refused).toEqual([]);
    const none = await cli(['fleet', 'plan', '2.6.15', '--select', `${prefix}*/milvus-*`, '-l', 'tier=silver']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/names no Milvus release/);
  });

  it('Slack: /milvus fleet plan answers privately with the same waves and refusals; a bad selector is answered at once with the form', async () => {
    const bot = await startBotEnv();
    try {
      await bot.slash(`fleet plan 2.6.15 --select ${prefix}*/milvus-* --waves 1,50%,100%`, USERS.requester);
      const isAnswer = (e: { user: string; text: string }) => e.user === USERS.requester && e.text.startsWith('Fleet plan:');
      await bot.stub.waitFor(() => bot.stub.ephemerals(CHANNEL).some(isAnswer), 120_000);
      const text = bot.stub.ephemerals(CHANNEL).find(isAnswer)!.text;
      expect(text).toMatch(/3 release\(s\) in 3 wave\(s\)[\s\S]*wave 1 \(canary\):\n {4}milvus-test\/e2e-fleet-x-\S+\/milvus-a: 2\.5\.16 -&gt; 2\.6\.15 by helm/);
      expect(text).toMatch(/refused \(left out; the others go on\):[\s\S]*milvus-c: Milvus 2\.6\.15 is not newer than the running 2\.6\.20/);
      expect(text).toMatch(/This is a preview: nothing was changed/);
      const bad = await bot.slash('fleet plan 2.6.15 --select team-x', USERS.requester);
      expect(JSON.parse(bad.body).text).toMatch(/"team-x" is not a fleet selector[\s\S]*\/milvus fleet plan\|upgrade <version> --select/);
    } finally {
      await bot.close();
    }
  });

  it('refuses at once a selector that names nothing, waves that do not add up, a selector that is not one', async () => {
    const none = await cli(['fleet', 'plan', '2.6.15', '--select', 'nowhere-*/milvus-*']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/the selector nowhere-\*\/milvus-\* names no Milvus release in/);
    const waves = await cli(['fleet', 'plan', '2.6.15', '--select', `${prefix}*/milvus-*`, '--waves', '1,25%']);
    expect(waves.code).toBe(2);
    expect(waves.stderr).toMatch(/the waves 1,25% do not end at 100%/);
    const bad = await cli(['fleet', 'plan', '2.6.15', '--select', 'team-x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/"team-x" is not a fleet selector[\s\S]*team-\*\/milvus-\*/);
  });
});
