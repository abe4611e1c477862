/**
 * The fleet card (issue 28) as the Slack client shows it, in a real headless Chromium on the
 * stub's page: asked with /milvus fleet upgrade, approved once by another person, followed to the
 * end. Screenshots go to SCREENSHOT_DIR (`npm run screenshots` writes the README's), else to a
 * temporary folder.
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL, USERS, startBotEnv, type BotEnv } from './bot-env.js';
import { installRelease, newNamespace } from './helpers.js';
import { until } from './engine.js';
import { RedisFleetStore } from '../../src/jobs/fleets.js';

const CHROMIUM = '/usr/bin/chromium';

describe('the fleet card in a browser', () => {
  let browser: Browser;
  let bot: BotEnv;
  let ns: { name: string; cleanup: () => Promise<void> };
  const shots = process.env.SCREENSHOT_DIR ? resolve(process.env.SCREENSHOT_DIR) : mkdtempSync(join(tmpdir(), 'mub-shots-'));

  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} missing: run bash scripts/setup-system.sh`).toBe(true);
    mkdirSync(shots, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    ns = await newNamespace('e2e-fleetcard');
    await Promise.all(['milvus-a', 'milvus-b', 'milvus-c'].map((r) => installRelease(ns.name, r, '4.2.58')));
    bot = await startBotEnv();
  });
  afterAll(async () => {
    await browser?.close();
    await bot?.close();
    await ns?.cleanup();
  });

  it('shows the waves and each release\'s state, Approve the fleet, then every release succeeded', async () => {
    await bot.slash(`fleet upgrade 2.6.15 --select ${ns.name}/milvus-* --waves 1,100%`, USERS.requester);
    await bot.stub.waitFor(() => bot.stub.messages(CHANNEL).some((m) => m.text.startsWith('Fleet upgrade fleet-')), 180_000);
    const card = bot.stub.messages(CHANNEL).find((m) => m.text.startsWith('Fleet upgrade fleet-'))!;
    const id = /fleet-\d+/.exec(card.text)![0];
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(`${bot.stub.baseUrl}/`);
    const shown = page.locator(`#pane > .message[data-ts="${card.ts}"]`);
    await shown.locator('button[data-action-id="fleet_approve"]').waitFor({ state: 'visible', timeout: 30_000 });
    expect(await shown.locator('.block-header').innerText()).toBe(`Milvus fleet upgrade: ${ns.name}/milvus-* → 2.6.15`);
    const waiting = await shown.innerText();
    expect(waiting).toMatch(/3 release\(s\) in 2 wave\(s\)/);
    expect(waiting).toMatch(/Wave 1 \(canary\)/);
    // (The selector's own `*` stays: it is the header's plain text.)
    expect(waiting, 'no raw mrkdwn is left').not.toMatch(/\*(?:Wave|e2e)|[a-z0-9]\*\s|`/);
    await page.screenshot({ path: join(shots, '9-fleet-card.png'), fullPage: true });

    await bot.click('fleet_approve', id, USERS.approver, card.ts);
    const fleets = new RedisFleetStore(bot.store.redis, bot.prefix);
    const ended = await until('the fleet to end', 400_000, async () => (await fleets.require(id)).ended, 500);
    expect(ended.outcome).toBe('succeeded');
    await until('the card to say so', 30_000, async () => /succeeded/.test(bot.stub.messages(CHANNEL).find((m) => m.ts === card.ts)!.text));
    await page.reload();
    await shown.waitFor({ state: 'visible' });
    const done = await shown.innerText();
    expect(done).toMatch(/fleet succeeded/);
    expect((done.match(/2\.5\.16 → 2\.6\.15 \(helm\): succeeded/g) ?? []).length).toBe(3);
    expect(await shown.locator('button[data-action-id="fleet_approve"]').count()).toBe(0);
    await page.screenshot({ path: join(shots, '10-fleet-done.png'), fullPage: true });
  });
});
