/**
 * A Kubernetes API server that accepts connections and never answers (a hung API server, on
 * 127.0.0.1): a step's wait still ends at its timeout, and a cancel ends it at once (issue 25,
 * item 3; before, the wait awaited the read for as long as it took: for ever here).
 */
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/cluster/clock.js';
import { KubernetesClusterOps } from '../../src/cluster/kube.js';
import { API_CALL_TIMEOUT_MS } from '../../src/cluster/kube-client.js';
import { Cancelled, UpgradeError } from '../../src/upgrade/errors.js';
import type { Ports } from '../../src/upgrade/ports.js';
import { waitRollout } from '../../src/upgrade/runner/run-support.js';
import { stepContext } from '../unit/fakes.js';
import { startHungApi, type HungApi } from '../harness/hung-api.js';

describe('a step wait against an API server that never answers', () => {
  let hung: HungApi;
  let ports: Ports;

  beforeAll(async () => {
    hung = await startHungApi();
    const kc = new KubeConfig();
    kc.loadFromFile(hung.kubeconfig());
    // Only the cluster and the clock are used by a rollout wait.
    ports = { cluster: new KubernetesClusterOps(kc), clock: systemClock, helm: {} as Ports['helm'], sessions: {} as Ports['sessions'] };
  });
  afterAll(async () => hung.close());

  const context = (signal?: AbortSignal) => stepContext(ports, signal, 200);

  it('a 2 s wait times out after about 2 s, saying the read did not answer', async () => {
    const started = Date.now();
    const err = await waitRollout(['rel-milvus-proxy'], 2, context()).then(() => null, (e: unknown) => e);
    const took = Date.now() - started;
    expect(err).toBeInstanceOf(UpgradeError);
    expect((err as UpgradeError).code).toBe('timeout');
    expect((err as UpgradeError).message).toContain('the last read of the cluster did not answer');
    expect(took).toBeGreaterThanOrEqual(1_900);
    expect(took).toBeLessThan(10_000);
    expect(hung.sockets.size).toBeGreaterThan(0);
  });

  it('a single API call ends at its deadline, saying the API did not answer (not for ever)', async () => {
    const started = Date.now();
    const err = await ports.cluster.podsHealth('default', 'rel').then(() => null, (e: unknown) => e);
    const took = Date.now() - started;
    expect(err).toBeInstanceOf(UpgradeError);
    expect((err as UpgradeError).message).toMatch(new RegExp(`the Kubernetes API did not answer within ${API_CALL_TIMEOUT_MS / 1000} s while`));
    expect(took).toBeGreaterThanOrEqual(API_CALL_TIMEOUT_MS - 500);
    expect(took).toBeLessThan(API_CALL_TIMEOUT_MS + 10_000);
  }, API_CALL_TIMEOUT_MS + 20_000);

  it('a 600 s wait cancelled after 300 ms ends with Cancelled at once', async () => {
    const cancel = new AbortController();
    const started = Date.now();
    setTimeout(() => cancel.abort(), 300);
    const err = await waitRollout(['rel-milvus-proxy'], 600, context(cancel.signal)).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(Cancelled);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
