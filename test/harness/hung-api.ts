/**
 * A Kubernetes API server that accepts connections and never answers (not even the TLS
 * handshake), on 127.0.0.1, and a kubeconfig that points at it: what a hung API server looks like
 * to a client.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface HungApi {
  readonly port: number;
  /** The connections clients hold open to it now. */
  readonly sockets: ReadonlySet<Socket>;
  /** A kubeconfig whose one context (`context`) is this server. */
  kubeconfig(context?: string): string;
  close(): Promise<void>;
}

export async function startHungApi(): Promise<HungApi> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const dir = mkdtempSync(join(tmpdir(), 'mub-hung-api-'));
  return {
    port,
    sockets,
    kubeconfig(context = 'hung') {
      const file = join(dir, `kubeconfig-${context}`);
      writeFileSync(
        file,
        `apiVersion: v1\nkind: Config\nclusters:\n- name: ${context}\n  cluster:\n    server: https://127.0.0.1:${port}\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: ${context}\n  context:\n    cluster: ${context}\n    user: u\ncurrent-context: ${context}\n`,
        { mode: 0o600 },
      );
      return file;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
