/**
 * The bot's pause mark is findable from Kubernetes alone (issue 25: a sweep after Redis lost
 * everything): setPaused sets the label with the annotation and spec.paused in one patch and
 * removes both on resume, and releasesPausedByBot lists by that label. The real adapter over HTTP
 * against a local stand-in of the API server that records what it is sent.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesClusterOps } from '../../src/cluster/kube.js';
import { PAUSED_BY_BOT_ANNOTATION, PAUSED_BY_BOT_LABEL } from '../../src/upgrade/steps.js';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly body: unknown;
}

describe('the pause mark as a label', () => {
  let server: Server;
  let dir: string;
  let ops: KubernetesClusterOps;
  const seen: Seen[] = [];
  const deployment = (name: string, release: string) => ({ metadata: { name, labels: { 'app.kubernetes.io/instance': release, [PAUSED_BY_BOT_LABEL]: 'true' } }, spec: {} });

  beforeAll(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', body: raw ? JSON.parse(raw) : null });
        res.writeHead(200, { 'content-type': 'application/json' });
        const list = { kind: 'DeploymentList', apiVersion: 'apps/v1', metadata: {}, items: [deployment('a-milvus-proxy', 'a'), deployment('a-milvus-querynode', 'a'), deployment('b-milvus-proxy', 'b')] };
        res.end(JSON.stringify(req.method === 'GET' ? list : { kind: 'Deployment', apiVersion: 'apps/v1', metadata: { name: 'x' } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    dir = mkdtempSync(join(tmpdir(), 'mub-pause-label-'));
    const file = join(dir, 'kubeconfig');
    writeFileSync(file, `apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster:\n    server: http://127.0.0.1:${port}\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: local\n  context:\n    cluster: local\n    user: u\ncurrent-context: local\n`, { mode: 0o600 });
    const kc = new KubeConfig();
    kc.loadFromFile(file);
    ops = new KubernetesClusterOps(kc);
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('pausing sets the label with the annotation and the pause, in one patch; resuming removes both', async () => {
    seen.length = 0;
    await ops.setPaused('ns1', 'a-milvus-proxy', true, 'ordered-helm');
    await ops.setPaused('ns1', 'a-milvus-proxy', false, null);
    expect(seen.map((s) => [s.method, s.url])).toEqual([
      ['PATCH', '/apis/apps/v1/namespaces/ns1/deployments/a-milvus-proxy'],
      ['PATCH', '/apis/apps/v1/namespaces/ns1/deployments/a-milvus-proxy'],
    ]);
    expect(seen[0]!.body).toEqual({ metadata: { annotations: { [PAUSED_BY_BOT_ANNOTATION]: 'ordered-helm' }, labels: { [PAUSED_BY_BOT_LABEL]: 'true' } }, spec: { paused: true } });
    expect(seen[1]!.body).toEqual({ metadata: { annotations: { [PAUSED_BY_BOT_ANNOTATION]: null }, labels: { [PAUSED_BY_BOT_LABEL]: null } }, spec: { paused: false } });
  });

  it('lists the releases with a Deployment carrying the label, once each', async () => {
    seen.length = 0;
    expect(await ops.releasesPausedByBot('ns1')).toEqual(['a', 'b']);
    expect(seen).toHaveLength(1);
    const url = new URL(seen[0]!.url, 'http://x');
    expect(url.pathname).toBe('/apis/apps/v1/namespaces/ns1/deployments');
    expect(url.searchParams.get('labelSelector')).toBe(PAUSED_BY_BOT_LABEL);
  });
});
