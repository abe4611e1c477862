/**
 * A stand-in milvus-backup server for tests (issue 27): no milvus-backup binary runs here, so this
 * serves its REST API (zilliztech/milvus-backup `milvus-backup server`, core/server/*.go) over
 * real HTTP on 127.0.0.1, with the paths, bodies, codes, messages and JSON the real handlers give
 * (read in its source at v0.5.16+; the routes in fake-milvus-backup/handlers.ts, the JSON in
 * fake-milvus-backup/views.ts, the tasks in fake-milvus-backup/tasks.ts).
 *
 * What it models:
 * - POST /api/v1/create {backup_name, async}: async answers at once and the task runs, one step
 *   every `knobs.stepMs`: initial (progress 1), executing (5, then 28, 52, 76, 100 as collections
 *   are copied), success; the collections are read from `collections()` when it executes, each
 *   of `rowCount * 16 + 1024` bytes (0 without rows). Sync waits for the end. The real refusals:
 *   an empty name is a panic (HTTP 500, empty body), ValidateName's messages (code 400), a name
 *   whose latest task did not fail (code 3, `... (existing task <id>)`), a body gin cannot bind
 *   (HTTP 400).
 * - GET /api/v1/get_backup?backup_name=|backup_id=: the task manager's view, storage's (size,
 *   version, collections) once the task succeeded; a name without a task is code 0 and an empty
 *   `data`, as the real server since 0.5.10.
 * - POST /api/v1/restore {backup_name, collection_names, collection_suffix, async, id}: from
 *   storage (code 400 `backup <name> not found`); the task executes in steps like a backup,
 *   fails as the real one when a target collection exists (`existsInTarget`), and on success
 *   hands the restored collections (suffix appended, rows as backed up) to `restoreInto`.
 * - GET /api/v1/get_restore?id= (unknown: code 3 `task not found`), GET /api/v1/list (storage),
 *   DELETE /api/v1/delete?backup_name= (storage only), GET /api/v1/hello, gin's 404 page.
 * - `restart()`: tasks are memory, storage is not. Then get_backup of a stored backup says none,
 *   and a create of its name answers code 0 and stays `initial` for ever (the real prepare()
 *   returns without marking the task failed).
 * - two servers on one backup bucket (`storage`: the other fake's): one backs up, the other restores.
 * - knobs (fake-milvus-backup/tasks.ts FakeBackupKnobs): failNextCreate, dropCollection,
 *   stepMs, refuse, down, delayMs; every request is recorded in `requests`.
 *
 * What it does not: object storage or any real data (rows are a number carried from the source
 * to the target), databases other than `default`, create's collection filters (collection_names,
 * db_collections, filter: every collection is backed up), restore's renames, plans, db filters,
 * drop/skip options and RBAC, restore_secondary, check, schemas and index infos in the briefs,
 * timeouts (state 4), per-collection failures, Go's random order of restore collection tasks
 * (here in backup order), and the time a real backup takes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBackup, deleteBackup, getBackup, getRestore, listBackups, restoreBackup, type Answer, type Call } from './fake-milvus-backup/handlers.js';
import { Tasks, type FakeBackupKnobs, type FakeBackupTask, type FakeRestoreTask, type FakeStoredBackup, type SourceCollection } from './fake-milvus-backup/tasks.js';
import { goJson } from './fake-milvus-backup/views.js';

export type { FakeBackupCollection, FakeBackupKnobs, FakeBackupTask, FakeRestoreTask, FakeStoredBackup, SourceCollection } from './fake-milvus-backup/tasks.js';

export interface FakeMilvusBackupOptions {
  /** The Milvus being backed up: read when a backup executes. */
  readonly collections?: () => readonly SourceCollection[];
  /** Where a restore puts its collections (named with the suffix) when it succeeds. */
  readonly restoreInto?: (collections: SourceCollection[]) => void;
  /** Whether the restore's target has a collection of that name (the real restore then fails). */
  readonly existsInTarget?: (name: string) => boolean;
  /** The version a backup records (the backed-up Milvus's GetVersion). */
  readonly milvusVersion?: () => string;
  readonly knobs?: Partial<FakeBackupKnobs>;
  /**
   * The storage of another fake (its `backups`): as two milvus-backup servers on one backup bucket,
   * one configured for the source Milvus, the other for the Milvus a restore writes into.
   */
  readonly storage?: ReadonlyMap<string, FakeStoredBackup>;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** The body parsed as JSON; the raw text when it is not; null without one. */
  readonly body: unknown;
  /** The Authorization header (a proxy in front may want one); null without. */
  readonly authorization: string | null;
}

export interface FakeMilvusBackup {
  /** `http://127.0.0.1:<port>` (the API is under /api/v1). */
  readonly url: string;
  readonly knobs: FakeBackupKnobs;
  readonly requests: RecordedRequest[];
  /** Storage: finished backups by name (what list and restore read). */
  readonly backups: ReadonlyMap<string, FakeStoredBackup>;
  /** The task manager: the latest backup task of each name. */
  readonly tasks: ReadonlyMap<string, FakeBackupTask>;
  readonly restores: ReadonlyMap<string, FakeRestoreTask>;
  /** milvus-backup restarted: every task forgotten (running ones stop), storage kept. */
  restart(): void;
  close(): Promise<void>;
}

type Route = (tasks: Tasks, call: Call) => Answer | Promise<Answer>;

const ROUTES: Readonly<Record<string, Route>> = {
  'POST /api/v1/create': createBackup,
  'GET /api/v1/get_backup': getBackup,
  'POST /api/v1/restore': restoreBackup,
  'GET /api/v1/get_restore': getRestore,
  'GET /api/v1/list': listBackups,
  'DELETE /api/v1/delete': deleteBackup,
  'GET /api/v1/hello': () => ({ status: 200, text: 'Hello, This is backup service' }),
};

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parsed(body: string): unknown {
  if (body === '') return null;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return body;
  }
}

function send(res: ServerResponse, answer: Answer): void {
  if (res.destroyed || res.writableEnded) return;
  if (answer.json !== undefined) {
    res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(goJson(answer.json));
  } else {
    res.writeHead(answer.status, answer.text ? { 'content-type': 'text/plain; charset=utf-8' } : {});
    res.end(answer.text ?? '');
  }
}

/** Starts the stand-in on a loopback port; knobs and sources can be changed while it runs. */
export async function startFakeMilvusBackup(options: FakeMilvusBackupOptions = {}): Promise<FakeMilvusBackup> {
  const knobs: FakeBackupKnobs = { failNextCreate: false, dropCollection: null, stepMs: 20, refuse: null, down: false, delayMs: 0, ...options.knobs };
  const tasks = new Tasks({
    knobs,
    collections: options.collections ?? (() => []),
    restoreInto: options.restoreInto ?? (() => undefined),
    existsInTarget: options.existsInTarget ?? (() => false),
    milvusVersion: options.milvusVersion ?? (() => 'v2.4.23'),
    ...(options.storage ? { storage: options.storage as Map<string, FakeStoredBackup> } : {}),
  });
  const requests: RecordedRequest[] = [];
  const delays = new Set<NodeJS.Timeout>();

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const body = await readBody(req);
      const method = req.method ?? 'GET';
      const authorization = req.headers.authorization ?? null;
      requests.push({ method, path: url.pathname, query: Object.fromEntries(url.searchParams), body: parsed(body), authorization });
      if (knobs.down === 'close') return req.socket.destroy();
      if (knobs.delayMs > 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => (delays.delete(t), resolve()), knobs.delayMs);
          delays.add(t);
        });
      }
      if (knobs.down === 503) return send(res, { status: 503, text: 'service unavailable' });
      const route = ROUTES[`${method} ${url.pathname}`];
      const bare = url.pathname.replace(/\/+$/, '');
      // gin's RedirectTrailingSlash: 301 for a GET, 307 otherwise, to the path without the slash.
      if (!route && bare !== url.pathname && ROUTES[`${method} ${bare}`]) {
        res.writeHead(method === 'GET' ? 301 : 307, { location: `${bare}${url.search}` });
        return res.end();
      }
      // gin answers an unknown path, or a known one with another method, with its 404 page.
      if (!route) return send(res, { status: 404, text: '404 page not found' });
      if (knobs.refuse !== null && url.pathname !== '/api/v1/hello') return send(res, { status: 200, json: { code: 3, msg: knobs.refuse, data: null } });
      const header = req.headers['request_id'];
      const call: Call = { query: url.searchParams, body, requestId: typeof header === 'string' ? header : '' };
      send(res, await route(tasks, call));
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    knobs,
    requests,
    backups: tasks.storage,
    tasks: tasks.backupTasks,
    restores: tasks.restoreTasks,
    restart: () => tasks.forgetTasks(),
    close: () => {
      tasks.stop();
      for (const t of delays) clearTimeout(t);
      delays.clear();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
