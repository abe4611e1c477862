import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../harness/control-plane.js';
import { installDemoRelease, playStory, startDemoApp, type DemoApp } from '../harness/demo-story.js';
import { startSlackStub, type SlackStub } from '../harness/slack-stub.js';
import { testRedis } from '../integration/redis.js';
import { cluster, imagesByComponent } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';

describe('the demo story, watched in a browser', () => {
  let browser: Browser;
  let stub: SlackStub;
  let app: DemoApp;
  let redis: Awaited<ReturnType<typeof testRedis>>;
  const namespace = `e2e-browser-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    // Installed by scripts/setup-system.sh (npm's pretest); a missing browser is a failure, not a skip.
    expect(existsSync(CHROMIUM), `${CHROMIUM} missing: run bash scripts/setup-system.sh`).toBe(true);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    redis = await testRedis();
    await installDemoRelease(cluster(), namespace);
    stub = await startSlackStub();
    app = await startDemoApp(cluster(), stub, redis.prefix);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await stub?.close();
    await redis?.cleanup();
    await kubectl(cluster(), ['delete', 'namespace', namespace, '--wait=false']).catch(() => '');
  });

  it('shows the plan card, the live progress and the final state', async () => {
    const page = await browser.newPage();
    await page.goto(`${stub.baseUrl}/?refresh=0`);
    const seen: Record<string, string> = {};
    const look = async (stage: string) => {
      await page.reload();
      seen[stage] = await page.locator('body').innerText();
    };
    await playStory(stub, app, () => {}, namespace, look);
    // The card: title, buttons while pending.
    expect(seen.card).toMatch(/Milvus upgrade: my-release 2\.3\.11 → 2\.4\.23/);
    expect(seen.card).toMatch(/Approve/);
    expect(await page.locator('.message[data-ts]').count()).toBeGreaterThanOrEqual(3);
    // Live progress while running, then success, then the rollback.
    expect(seen.running).toMatch(/Upgrade: step \d+ of \d+/);
    expect(seen.succeeded).toMatch(/Upgrade succeeded: my-release runs Milvus 2\.4\.23/);
    expect(seen['rolled-back']).toMatch(/Rollback succeeded: my-release is back on 2\.3\.11/);
    await page.reload();
    expect(await page.locator('.button').allInnerTexts()).not.toContain('Approve');
    await page.screenshot({ path: `${redis.prefix.replace(/:$/, '')}.png`.replace(/^/, '/tmp/'), fullPage: true });
    expect(new Set(Object.values(await imagesByComponent(namespace, 'my-release')))).toEqual(new Set(['milvusdb/milvus:v2.3.11']));
  });
});
