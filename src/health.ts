/**
 * /healthz (the process is up), /readyz (the checks that gate readiness answer; the others are
 * reported) and /metrics. Served on the bot's HTTP port as Bolt custom routes, or by a small
 * server of its own (Socket Mode, worker-only processes).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export type Check = () => Promise<void>;

export interface HealthRoute {
  readonly path: string;
  readonly method: string;
  readonly handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

async function withTimeout(check: Check, ms: number): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([check(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)))]);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(options: {
  /** What the process cannot work without: one failing makes /readyz 503. */
  checks: Readonly<Record<string, Check>>;
  /**
   * Reported under `checks` and `degraded`, never 503: a Kubernetes API that does not answer must
   * not take the bot out of its Service (Slack could no longer reach it to hear that it is down).
   */
  informational?: Readonly<Record<string, Check>>;
  registry: Registry;
  timeoutMs?: number;
}): HealthRoute[] {
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  return [
    { path: '/healthz', method: 'GET', handler: async (_req, res) => json(res, 200, { ok: true }) },
    {
      path: '/readyz',
      method: 'GET',
      handler: async (_req, res) => {
        const results: Record<string, string> = {};
        const degraded: string[] = [];
        let ok = true;
        const run = (checks: Readonly<Record<string, Check>>, gates: boolean) =>
          Object.entries(checks).map(async ([name, check]) => {
            const problem = await withTimeout(check, options.timeoutMs ?? 3000);
            results[name] = problem ?? 'ok';
            if (problem && gates) ok = false;
            else if (problem) degraded.push(name);
          });
        await Promise.all([...run(options.checks, true), ...run(options.informational ?? {}, false)]);
        json(res, ok ? 200 : 503, { ok, checks: results, ...(degraded.length ? { degraded: degraded.sort() } : {}) });
      },
    },
    {
      path: '/metrics',
      method: 'GET',
      handler: async (_req, res) => {
        res.writeHead(200, { 'content-type': options.registry.contentType });
        res.end(await options.registry.metrics());
      },
    },
  ];
}

/** A server with only these routes, for processes without the bot's HTTP receiver. */
export async function serveRoutes(routes: readonly HealthRoute[], port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const route = routes.find((r) => r.path === path && r.method === req.method);
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    route.handler(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, resolve));
  return server;
}
