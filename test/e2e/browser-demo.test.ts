/**
 * The interactive demo in a real headless Chromium: a person types the slash command in the stub's
 * page, switches to the approver and clicks Approve, then clicks Roll back through its confirm
 * dialog, and the rollback's approver approves in the thread. Every request the page makes reaches
 * the app signed as Slack signs it. Screenshots of each stage go to SCREENSHOT_DIR (the README's
 * come from `npm run screenshots`), else to a temporary folder.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/control-plane.js';
import { DEMO, installDemoRelease, startDemoApp, type DemoApp } from '../harness/demo-story.js';
import { knobConfigMapName } from '../harness/fake-milvus/follow.js';
import { KNOB_ANNOTATIONS } from '../harness/fake-milvus/release-rules.js';
import { startSlackStub, type SlackStub } from '../harness/slack-stub.js';
import { testRedis } from '../integration/redis.js';
import { cluster, imagesByComponent, NOT_FOUND, onlyIf } from './helpers.js';
import { diffSnapshots, snapshotRelease } from './release-snapshot.js';

const CHROMIUM = '/usr/bin/chromium';
const STEP_MS = 180_000;

describe('the demo, clicked in a browser', () => {
  let browser: Browser;
  let stub: SlackStub;
  let app: DemoApp;
  let redis: Awaited<ReturnType<typeof testRedis>>;
  const namespace = `e2e-browser-${randomBytes(3).toString('hex')}`;
  const shots = process.env.SCREENSHOT_DIR ? resolve(process.env.SCREENSHOT_DIR) : mkdtempSync(join(tmpdir(), 'mub-shots-'));

  beforeAll(async () => {
    // Installed by scripts/setup-system.sh (npm's pretest); a missing browser is a failure, not a skip.
    expect(existsSync(CHROMIUM), `${CHROMIUM} missing: run bash scripts/setup-system.sh`).toBe(true);
    mkdirSync(shots, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    redis = await testRedis();
    await installDemoRelease(cluster(), namespace);
    stub = await startSlackStub({ wallClockTs: true });
    app = await startDemoApp(cluster(), stub, redis.prefix, { interactive: true, milvusIn: namespace });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await stub?.close();
    await redis?.cleanup();
    // Cleanup: a namespace that is already gone is fine, nothing else is.
    await kubectl(cluster(), ['delete', 'namespace', namespace, '--wait=false']).catch(onlyIf(NOT_FOUND));
  });

  const actAs = async (page: Page, name: 'alice' | 'bob') => {
    await page.selectOption('#as', { label: name });
  };
  const shot = async (page: Page, name: string) => {
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  };
  const paneText = (page: Page) => page.locator('#pane').innerText();

  it('types the command, approves, rolls back through the confirm dialog, and the page follows', async () => {
    const before = await snapshotRelease(cluster().kubeconfig, namespace, DEMO.release);
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(`${stub.baseUrl}/`);
    await actAs(page, 'alice');
    await page.fill('#command', `/milvus upgrade ${DEMO.release} 2.4.23 -n ${namespace}`);
    await page.press('#command', 'Enter');

    // The card, rendered as Slack renders it: header, bold, code, emoji, styled buttons.
    const approve = page.locator('#pane > .message > .content > .blocks button[data-action-id="approve"]').first();
    await approve.waitFor({ state: 'visible', timeout: STEP_MS });
    // The card by its ts: it keeps being the same message after its buttons go.
    const cardTs = await approve.evaluate((el) => el.closest<HTMLElement>('.message')?.dataset.ts ?? '');
    const card = page.locator(`#pane > .message[data-ts="${cardTs}"]`);
    expect(await card.locator('.block-header').innerText()).toBe(`Milvus upgrade: ${DEMO.release} 2.3.11 → 2.4.23`);
    expect(await card.locator('.section-text b', { hasText: 'Release' }).count()).toBe(1);
    expect(await card.locator('code', { hasText: DEMO.release }).count()).toBeGreaterThan(0);
    expect(await approve.getAttribute('class')).toMatch(/\bprimary\b/);
    expect(await card.locator('button[data-action-id="reject"]').getAttribute('class')).toMatch(/\bdanger\b/);
    const cardText = await card.innerText();
    expect(cardText, 'no raw mrkdwn or shortcodes are left').not.toMatch(/\*Release\*|`|:[a-z0-9_+-]+:/);
    expect(await page.locator('.message.person', { hasText: '/milvus upgrade' }).count()).toBe(1);
    // Milvus's own view, read by the bot from the fake Milvus that follows the release.
    expect(cardText).toMatch(/Data v2\.3\.11, healthy, 3 collection\(s\) \(2 loaded, 15,650 rows\) \(Milvus at 127\.0\.0\.1:\d+\)/);
    expect(cardText).toMatch(/books: loaded, 12,000 rows/);
    await shot(page, '1-plan-card');

    // The requester cannot approve her own request: Slack shows her why, only to her.
    await approve.click();
    await page.locator('.ephemeral', { hasText: /approve/i }).first().waitFor({ state: 'visible', timeout: STEP_MS });

    await actAs(page, 'bob');
    await approve.click();
    await page.getByText(/Upgrade (succeeded|failed)/).first().waitFor({ state: 'visible', timeout: STEP_MS });
    expect(await paneText(page)).toMatch(/Upgrade succeeded: my-release runs Milvus 2\.4\.23/);
    expect(await paneText(page)).toMatch(/Data gate passed 1 of 1 time\(s\): Milvus v2\.4\.23 healthy, 2 loaded collection\(s\) loaded again/);
    expect(await paneText(page)).toMatch(/longest query gap \d+\.\d s/);
    expect(await card.locator('> .content > .blocks button[data-action-id="approve"], > .content > .blocks button[data-action-id="reject"]').count(), 'the card lost its decision buttons').toBe(0);
    expect(await card.innerText()).toMatch(/Approved by @bob/);
    expect(await page.locator('.edited').count()).toBeGreaterThan(0);
    await shot(page, '2-upgraded');

    // Roll back asks first, in Slack's confirm dialog.
    await actAs(page, 'alice');
    await page.locator('.thread button[data-action-id="rollback"]').click();
    const dialog = page.locator('dialog#confirm');
    await dialog.waitFor({ state: 'visible' });
    expect(await dialog.locator('h2').innerText()).toBe('Roll back?');
    await shot(page, '3-rollback-confirm');
    await page.locator('#confirm-ok').click();

    const approveRollback = page.locator('.thread button[data-action-id="approve"]');
    await approveRollback.waitFor({ state: 'visible', timeout: STEP_MS });
    await actAs(page, 'bob');
    // The rollback's card lists what the rollback does: the upgrade's changes undone.
    const rollbackCard = page.locator('.thread .message.reply').filter({ has: page.locator('button[data-action-id="approve"]') });
    const rollbackText = await rollbackCard.innerText();
    expect(rollbackText).toMatch(/Changes 5 changed · 4 added · 1 removed/);
    expect(rollbackText).toMatch(/my-release-milvus-mixcoord: deleted \(ran milvusdb\/milvus:v2\.4\.23\)/);
    expect(rollbackText).toMatch(/milvusdb\/milvus:v2\.4\.23 -> milvusdb\/milvus:v2\.3\.11/);
    expect(rollbackText).not.toMatch(/v2\.3\.11 -> milvusdb\/milvus:v2\.4\.23/);
    await shot(page, '4-rollback-card');
    // The rollback's request id, as its card carries it (ids are numbers that never repeat, not 1, 2...).
    const rollbackId = (await approveRollback.getAttribute('data-value')) ?? '';
    expect(rollbackId).toMatch(/^req-\d+$/);
    await approveRollback.click();
    await page.getByText(/Rollback (succeeded|failed)/).first().waitFor({ state: 'visible', timeout: STEP_MS });
    expect(await paneText(page)).toMatch(/Rollback succeeded: my-release is back on 2\.3\.11/);
    await shot(page, '5-rolled-back');

    // Every request the page made went through the app's signature check (else no answer at all).
    expect(app.client.events.map((e) => `${e.kind} ${e.user}`)).toEqual([
      `command ${DEMO.alice}`,
      `click ${DEMO.alice}`,
      `click ${DEMO.bob}`,
      `click ${DEMO.alice}`,
      `click ${DEMO.bob}`,
    ]);
    expect(new Set(Object.values(await imagesByComponent(namespace, DEMO.release)))).toEqual(new Set(['milvusdb/milvus:v2.3.11']));
    // The whole release after the round trip: every workload, PVC and image as it was. The four
    // coordinators are new objects under their old names: the upgrade's mixcoord replaced them and
    // helm's rollback created them again (stateless Deployments); every StatefulSet and PVC is the same object.
    const diff = diffSnapshots(before, await snapshotRelease(cluster().kubeconfig, namespace, DEMO.release));
    expect(diff.filter((d) => d.field !== 'uid').map((d) => d.text)).toEqual([]);
    expect(diff.filter((d) => d.field === 'uid').map((d) => `${d.kind} ${d.name}`)).toEqual(
      ['datacoord', 'indexcoord', 'querycoord', 'rootcoord'].map((c) => `Deployment ${DEMO.release}-milvus-${c}`),
    );

    // /milvus status answers, only to her, with one row per component: image, ready, restarts.
    await actAs(page, 'alice');
    await page.fill('#command', `/milvus status ${DEMO.release} -n ${namespace}`);
    await page.press('#command', 'Enter');
    const status = page.locator('.ephemeral', { hasText: 'proxy' }).last();
    await status.waitFor({ state: 'visible', timeout: STEP_MS });
    const statusText = await status.innerText();
    expect(statusText).toMatch(/Only visible to you/);
    expect(statusText).toMatch(/milvusdb\/milvus:v2\.3\.11/);
    expect(statusText).toMatch(/restart/i);
    expect(statusText, 'no raw mrkdwn or shortcodes are left').not.toMatch(/`|:[a-z0-9_+-]+:(?!\d)/);
    await status.screenshot({ path: join(shots, '6-status.png') });

    // The App Home: Slack sends app_home_opened when she opens the tab; the app publishes her view.
    await page.locator('.sidebar [data-view="home"]').click();
    const home = page.locator('#pane .home', { hasText: DEMO.release });
    await home.waitFor({ state: 'visible', timeout: STEP_MS });
    await page.getByText(rollbackId).first().waitFor({ state: 'visible', timeout: STEP_MS });
    const homeText = await home.innerText();
    expect(homeText).toMatch(/Milvus releases you can act on/);
    expect(homeText).toMatch(/2\.3\.11/);
    expect(homeText).toContain(rollbackId);
    expect(stub.home(DEMO.alice)?.view, 'published with views.publish for her').toBeTruthy();
    await shot(page, '7-home');

    // A collection that stays loading after the upgrade while every pod is Ready (the fake's knob):
    // the data gate fails naming it, and the summary offers the rollback.
    await kubectl(cluster(), ['-n', namespace, 'create', 'configmap', knobConfigMapName(DEMO.release)]);
    await kubectl(cluster(), ['-n', namespace, 'annotate', 'configmap', knobConfigMapName(DEMO.release), `${KNOB_ANNOTATIONS.stuckLoadingFrom}=2.4.23`]);
    await page.locator('.sidebar [data-view="channel"]').click();
    await page.fill('#command', `/milvus upgrade ${DEMO.release} 2.4.23 -n ${namespace}`);
    await page.press('#command', 'Enter');
    const second = page.locator('#pane > .message > .content > .blocks button[data-action-id="approve"]').first();
    await second.waitFor({ state: 'visible', timeout: STEP_MS });
    await actAs(page, 'bob');
    await second.click();
    const failed = page.locator('.thread .message', { hasText: /Upgrade failed/ }).last();
    await failed.waitFor({ state: 'visible', timeout: STEP_MS });
    expect(await failed.innerText()).toMatch(/the data gate failed after 60s: collection (books|reviews): still loading at 0% \(it was loaded before\)/);
    expect(await failed.locator('button[data-action-id="rollback"]').count()).toBe(1);
    await shot(page, '8-data-gate-failed');
  });
});
