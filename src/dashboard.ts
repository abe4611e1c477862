/**
 * The optional queue dashboard (Bull Board): off unless DASHBOARD_PORT is set, behind a token
 * (HTTP basic auth, any user name, the token as password, or `Authorization: Bearer <token>`),
 * read-only unless configured otherwise. On a port of its own so it is never exposed with
 * Slack's endpoint by accident.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import express, { type NextFunction, type Request, type Response } from 'express';

export interface DashboardOptions {
  readonly queue: Queue;
  readonly port: number;
  readonly token: string;
  readonly readOnly: boolean;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function tokenOf(header: string | undefined): string | null {
  if (!header) return null;
  const [scheme, value] = header.split(' ', 2);
  if (!value) return null;
  if (scheme?.toLowerCase() === 'bearer') return value;
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : null;
  }
  return null;
}

export async function startDashboard(o: DashboardOptions): Promise<{ port: number; close(): Promise<void> }> {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath('/');
  createBullBoard({ queues: [new BullMQAdapter(o.queue, { readOnlyMode: o.readOnly })], serverAdapter });
  const app = express();
  app.disable('x-powered-by');
  app.use((req: Request, res: Response, next: NextFunction) => {
    const token = tokenOf(req.headers.authorization);
    if (token !== null && sameSecret(token, o.token)) return next();
    res.setHeader('WWW-Authenticate', 'Basic realm="milvus-upgrade-bot queue"');
    res.status(401).send('token required');
  });
  app.use('/', serverAdapter.getRouter());
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(o.port, () => resolve(s));
  });
  const addr = server.address();
  return {
    port: addr && typeof addr === 'object' ? addr.port : o.port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
