/**
 * The API clients of src/cluster/kube-client.ts reuse their TLS connections, where the stock
 * client opens one per request. A local HTTPS server on 127.0.0.1 (a throw-away self-signed
 * certificate made with openssl) counts the TLS connections and answers like the API server.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApiClient } from '../../src/cluster/kube-client.js';

describe('Kubernetes API clients that keep their connections', () => {
  let dir: string;
  let server: Server;
  let connections = 0;
  const auth: string[] = [];
  let kubeconfig: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mub-kube-client-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore', timeout: 30_000 });
    server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')), keepAliveTimeout: 30_000 }, (req, res) => {
      auth.push(String(req.headers.authorization));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: [{ metadata: { name: 'default' } }] }));
    });
    server.on('secureConnection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster:\n    server: https://127.0.0.1:${port}\n    certificate-authority: ${join(dir, 'cert.pem')}\nusers:\n- name: u\n  user:\n    token: secret-token\ncontexts:\n- name: local\n  context:\n    cluster: local\n    user: u\ncurrent-context: local\n`,
    );
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const load = () => {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    return kc;
  };

  it('20 requests, one after the other: one TLS connection, each request still authenticated and the CA still checked', async () => {
    const before = connections;
    const api = makeApiClient(load(), CoreV1Api);
    for (let i = 0; i < 20; i++) expect((await api.listNamespace()).items.map((n) => n.metadata?.name)).toEqual(['default']);
    expect(connections - before).toBe(1);
    expect(auth.slice(-20)).toEqual(Array.from({ length: 20 }, () => 'Bearer secret-token'));
  });

  it('the API groups of one kubeconfig share the connections', async () => {
    const before = connections;
    const kc = load();
    const a = makeApiClient(kc, CoreV1Api);
    const b = makeApiClient(kc, CoreV1Api);
    for (let i = 0; i < 5; i++) await Promise.all([a.listNamespace(), b.listNamespace()]).then((r) => r.forEach((x) => expect(x.items).toHaveLength(1)));
    expect(connections - before).toBeLessThanOrEqual(2);
  });

  it('the stock client opens one per request (what this replaces)', async () => {
    const before = connections;
    const api = load().makeApiClient(CoreV1Api);
    for (let i = 0; i < 5; i++) await api.listNamespace();
    expect(connections - before).toBe(5);
  });

  it('a server whose certificate the kubeconfig does not trust is refused, shared agent or not', async () => {
    const other = mkdtempSync(join(tmpdir(), 'mub-kube-client-ca-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=other', '-keyout', join(other, 'k.pem'), '-out', join(other, 'c.pem')], { stdio: 'ignore', timeout: 30_000 });
      const kc = load();
      const text = readFileSync(kubeconfig, 'utf8').replace(join(dir, 'cert.pem'), join(other, 'c.pem'));
      writeFileSync(join(other, 'kubeconfig'), text);
      kc.loadFromFile(join(other, 'kubeconfig'));
      await expect(makeApiClient(kc, CoreV1Api).listNamespace()).rejects.toThrow(/certificate|self.signed|unable to verify/i);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
