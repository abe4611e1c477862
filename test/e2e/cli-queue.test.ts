import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveState } from '../../src/upgrade/requests.js';
import { RedisRequestStore } from '../../src/jobs/requests.js';
import { REDIS_URL, testRedis } from '../integration/redis.js';
import { spawnWorker } from './engine.js';
import { TEST_SEAL_KEY } from '../fixtures/test-sealer.js';
import { CLI_KEY_PREFIX, cli, imagesByComponent, installRelease, newNamespace } from './helpers.js';

describe('the CLI and the audit trail', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    ns = await newNamespace('e2e-cliq');
  });
  afterAll(async () => ns.cleanup());

  it('a direct run is recorded: request, requester cli:<user>, every step, the outcome', async () => {
    await installRelease(ns.name, 'direct', '4.1.24');
    const run = await cli(['upgrade', 'direct', '2.4.5', '-n', ns.name, '--yes']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const id = /request (req-\d+)/.exec(run.stdout)?.[1];
    expect(id).toBeDefined();
    const redis = new Redis(REDIS_URL);
    try {
      const store = new RedisRequestStore(redis, CLI_KEY_PREFIX);
      const r = await store.require(id!);
      expect(deriveState(r, Date.now())).toBe('succeeded');
      expect(r.requester).toMatchObject({ via: 'cli', id: expect.stringMatching(/^cli:/) });
      const log = await store.log(id!);
      expect(log.filter((e) => e.type === 'run' && e.event.type === 'step-finished')).toHaveLength(r.plan.steps.length);
      expect(r.plan.steps.length).toBeGreaterThan(3);
      // A second CLI upgrade while none is active is fine; history lists both, newest first.
      const back = await cli(['rollback', 'direct', '-n', ns.name, '--yes']);
      expect(back.code, back.stdout + back.stderr).toBe(0);
      const history = await store.history('milvus-test', ns.name, 'direct');
      expect(history.map((h) => [h.kind, deriveState(h, Date.now())])).toEqual([['rollback', 'rolled-back'], ['upgrade', 'succeeded']]);
    } finally {
      redis.disconnect();
    }
  });

  it('--queue hands the upgrade to a worker process and follows it to the end', async () => {
    await installRelease(ns.name, 'queued', '4.1.24');
    const env = await testRedis();
    const worker = spawnWorker(env.prefix);
    const keyFile = join(mkdtempSync(join(tmpdir(), 'cli-seal-')), 'key');
    writeFileSync(keyFile, `${TEST_SEAL_KEY}\n`, { mode: 0o600 });
    try {
      // Without the deployment's seal key the workers would refuse the run: said at once, nothing recorded.
      const keyless = await cli(['upgrade', 'queued', '2.4.5', '-n', ns.name, '--yes', '--queue'], { KEY_PREFIX: env.prefix });
      expect(keyless.code, keyless.stdout + keyless.stderr).toBe(2);
      expect(keyless.stderr).toContain("--queue needs the deployment's approval seal key");
      expect(await env.redis.keys(`${env.prefix}req:*`)).toEqual([]);

      const run = await cli(['upgrade', 'queued', '2.4.5', '-n', ns.name, '--yes', '--queue', '--seal-key-file', keyFile], { KEY_PREFIX: env.prefix });
      expect(run.code, run.stdout + run.stderr + worker.output()).toBe(0);
      expect(run.stdout).toMatch(/queued as job req-\d+/);
      expect(run.stdout).toMatch(/\[3\/\d+\] +done: revision 2 deployed with chart 4\.1\.36/);
      expect(run.stdout).toMatch(/\] +done: \d+ pods ready and still ready after 1s, no restarts/);
      expect(new Set(Object.values(await imagesByComponent(ns.name, 'queued')))).toEqual(new Set(['milvusdb/milvus:v2.4.5']));
    } finally {
      worker.child.kill('SIGTERM');
      await env.cleanup();
    }
  });

  it('refuses to record when Redis cannot be reached, and runs nothing', async () => {
    await installRelease(ns.name, 'noredis', '4.1.24');
    const r = await cli(['upgrade', 'noredis', '2.4.5', '-n', ns.name, '--yes', '--redis-url', 'redis://127.0.0.1:1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
    expect(new Set(Object.values(await imagesByComponent(ns.name, 'noredis')))).toEqual(new Set(['milvusdb/milvus:v2.3.11']));
  });
});
