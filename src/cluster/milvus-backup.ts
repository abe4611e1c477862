/**
 * milvus-backup's REST server (zilliztech/milvus-backup, `milvus-backup server`, issue 27) over
 * Node's fetch: the backup taken before a step that cannot be undone, and its restore.
 *
 * What the server really sends, read in its source (core/server/*.go, internal/pbconv): gin's
 * `c.JSON` of the generated Go structs, so encoding/json, not protojson: int64 as JSON numbers,
 * enum codes as numbers, and every `omitempty` zero left out (a success has no `code`). The
 * schemas below also take int64 as strings and enums by name, should a server marshal so.
 * - Every answer is HTTP 200 with a `code`; gin itself answers 400 (a body it cannot bind), 404
 *   (no such route) and 500 (a panic: `create` with an empty name).
 * - `get_backup` of a name it has no task for: code 0 and an empty `data` (servers from 0.5.10
 *   on; older ones said code 404). Both are null here.
 * - `get_restore` of an unknown id: code 3, `task not found`: null here.
 * - A task not finished has `end_time` -62135596800 (Go's zero time): 0 here.
 */
import { z } from 'zod';
import type { BackupCollection, BackupInfo, BackupState, RestoreInfo, RestoreRequest } from '../upgrade/backup.js';
import { InputError, UpgradeError, maskUrlCredentials, showInput, type ErrorCode } from '../upgrade/errors.js';
import type { BackupService } from '../upgrade/ports.js';

export interface HttpBackupServiceOptions {
  /** Each call, body included: longer than this is a server that does not answer. */
  readonly timeoutMs?: number;
}

const API = '/api/v1';
const STATES: readonly BackupState[] = ['initial', 'executing', 'success', 'failed', 'timeout'];
const STATE_NAMES: Readonly<Record<string, number>> = {
  BACKUP_INITIAL: 0, BACKUP_EXECUTING: 1, BACKUP_SUCCESS: 2, BACKUP_FAIL: 3, BACKUP_TIMEOUT: 4,
  INITIAL: 0, EXECUTING: 1, SUCCESS: 2, FAIL: 3, TIMEOUT: 4,
};
const CODE_NAMES: Readonly<Record<string, number>> = { Success: 0, Not_Support: 1, No_Permission: 2, Fail: 3, Parameter_Error: 400, Request_Object_Not_Found: 404 };
const NOT_FOUND = 404;
const FAIL = 3;

const int64 = z.union([z.number().int(), z.string().regex(/^-?\d+$/).transform(Number)]);
const text = z.string().nullish().transform((s) => s ?? '');
const enumOf = (names: Readonly<Record<string, number>>) =>
  z.union([
    z.number().int(),
    z.string().transform((s, ctx) => {
      const n = names[s] ?? (/^-?\d+$/.test(s) ? Number(s) : undefined);
      if (n === undefined) ctx.addIssue({ code: 'custom', message: `unknown value "${showInput(s)}"` });
      return n ?? -1;
    }),
  ]);
/** Always sent (no `omitempty` in the server's struct tags): a JSON object without it is not this API. */
const stateCode = enumOf(STATE_NAMES).refine((n) => n >= 0 && n < STATES.length, 'a state code from 0 to 4');
/** Go's zero time (a task not finished) is a large negative number of seconds. */
const unixSeconds = int64.default(0).transform((n) => Math.max(0, n));
const list = <T extends z.ZodType>(item: T) => z.array(item).nullish().transform((a) => a ?? []);

/**
 * `data` is always there (no `omitempty` on it: null when there is none), and zod requires an
 * unknown key to be present: `{}` is another server, not a success.
 */
const envelope = z.object({ code: enumOf(CODE_NAMES).default(0), msg: text, data: z.unknown() });

const backupBrief = z.object({
  id: text,
  name: text,
  state_code: stateCode,
  progress: int64,
  errorMessage: text,
  start_time: unixSeconds,
  end_time: unixSeconds,
  size: int64.default(0),
  milvus_version: text,
  collection_backups: list(z.object({ collection_name: text, db_name: text, size: int64.default(0) })),
});

const restoreTask = z.object({
  id: text,
  state_code: stateCode,
  progress: int64,
  errorMessage: text,
  start_time: unixSeconds,
  end_time: unixSeconds,
  collection_restore_tasks: list(z.object({ target_collection_name: text, state_code: stateCode, progress: int64.default(0) })),
});

const percent = (n: number) => Math.min(100, Math.max(0, n));

/** Where a milvus-backup server answers, checked once: what to call, what to show, who to say. */
/** `/list`'s BackupSummary: only the name is read. */
const summaries = list(z.object({ name: text }));

export interface BackupServer {
  /** `<origin><path>/api/v1`, without credentials. */
  readonly api: string;
  /** The server as messages name it: origin and path, never credentials. */
  readonly shown: string;
  readonly authorization: string | null;
}

/**
 * The server's base from a URL given by a person: http or https, a trailing slash or `/api/v1`
 * (as the server's swagger page shows it) allowed, credentials moved to a Basic header (fetch
 * refuses them in the URL). InputError otherwise: nothing was called.
 */
export function backupServer(url: string): BackupServer {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    throw new InputError(`the milvus-backup url "${showInput(maskUrlCredentials(url), 120)}" is not a URL (e.g. http://milvus-backup.milvus.svc:8080)`);
  }
  const shownInput = showInput(maskUrlCredentials(url), 120);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new InputError(`the milvus-backup url "${shownInput}" is not http or https`);
  if (parsed.search || parsed.hash) throw new InputError(`the milvus-backup url "${shownInput}" has a query or a fragment: give the server's base only`);
  const authorization = parsed.username || parsed.password ? `Basic ${Buffer.from(`${decoded(parsed.username)}:${decoded(parsed.password)}`).toString('base64')}` : null;
  const path = parsed.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  const shown = `${parsed.protocol}//${parsed.host}${path}`;
  return { api: `${shown}${API}`, shown, authorization };
}

function decoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Server words, fit for a message: one line, no credentials, not a page long. */
function said(s: string): string {
  const line = maskUrlCredentials(s).replace(/\p{Cc}+/gu, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** The innermost reason fetch gives (`fetch failed` wraps `connect ECONNREFUSED ...`). */
function reasonOf(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

/** One call of the API: what it sends, and how messages name it (`GET /api/v1/get_backup`). */
interface Call {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly text: string;
}

const callOf = (method: Call['method'], op: string): Call => ({ method, path: `${API}/${op}`, text: `${method} ${API}/${op}` });

interface Answer {
  readonly code: number;
  readonly msg: string;
  readonly data: unknown;
}

export class HttpBackupService implements BackupService {
  private readonly timeoutMs: number;

  constructor(options: HttpBackupServiceOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  async get(url: string, name: string, signal?: AbortSignal): Promise<BackupInfo | null> {
    const server = backupServer(url);
    const call = callOf('GET', 'get_backup');
    const answer = await this.call(server, call, { query: { backup_name: name } }, signal);
    if (answer.code === NOT_FOUND) return null;
    this.check(server, call, answer, 'read');
    const b = this.parse(server, call, backupBrief, answer.data);
    if (b.name === '' && b.id === '') return null;
    const collections = b.collection_backups.map((c): BackupCollection => ({ name: c.collection_name, db: c.db_name, sizeBytes: c.size }));
    return {
      name: b.name,
      id: b.id,
      state: STATES[b.state_code] as BackupState,
      progress: percent(b.progress),
      errorMessage: said(b.errorMessage),
      sizeBytes: b.size,
      milvusVersion: b.milvus_version,
      startTime: b.start_time,
      endTime: b.end_time,
      collections,
    };
  }

  async listNames(url: string, signal?: AbortSignal): Promise<string[]> {
    const server = backupServer(url);
    const call = callOf('GET', 'list');
    const answer = await this.call(server, call, {}, signal);
    this.check(server, call, answer, 'read');
    return this.parse(server, call, summaries, answer.data).map((b) => b.name);
  }

  async create(url: string, name: string, signal?: AbortSignal): Promise<void> {
    const server = backupServer(url);
    // The server indexes the first character of the name before checking it: an empty one is a panic there.
    if (name === '') throw new InputError(`a backup needs a name (milvus-backup at ${server.shown})`);
    const call = callOf('POST', 'create');
    this.check(server, call, await this.call(server, call, { body: { backup_name: name, async: true } }, signal), 'write');
  }

  async restore(url: string, request: RestoreRequest, signal?: AbortSignal): Promise<string> {
    const server = backupServer(url);
    const call = callOf('POST', 'restore');
    const body = {
      backup_name: request.backupName,
      async: true,
      ...(request.collectionNames ? { collection_names: [...request.collectionNames] } : {}),
      ...(request.collectionSuffix ? { collection_suffix: request.collectionSuffix } : {}),
      ...(request.id ? { id: request.id } : {}),
    };
    const answer = await this.call(server, call, { body }, signal);
    this.check(server, call, answer, 'write');
    const task = this.parse(server, call, restoreTask, answer.data);
    if (!task.id) throw this.notTheApi(server, call, 'the restore task has no id');
    return task.id;
  }

  async getRestore(url: string, id: string, signal?: AbortSignal): Promise<RestoreInfo | null> {
    const server = backupServer(url);
    const call = callOf('GET', 'get_restore');
    const answer = await this.call(server, call, { query: { id } }, signal);
    // The server says so in words only (taskmgr.ErrTaskNotFound), with code 3.
    if (answer.code === NOT_FOUND || (answer.code === FAIL && /^task not found$/i.test(answer.msg.trim()))) return null;
    this.check(server, call, answer, 'read');
    const t = this.parse(server, call, restoreTask, answer.data);
    return {
      id: t.id,
      state: STATES[t.state_code] as BackupState,
      progress: percent(t.progress),
      errorMessage: said(t.errorMessage),
      startTime: t.start_time,
      endTime: t.end_time,
      collections: t.collection_restore_tasks.map((c) => ({ name: c.target_collection_name, state: STATES[c.state_code] as BackupState, progress: percent(c.progress) })),
    };
  }

  /**
   * A refusal. On a read, code 3 is the server failing to reach its own storage or task (a MinIO
   * briefly away during an upgrade): transient, so a wait reads again. Anything else stands.
   */
  private check(server: BackupServer, call: Call, answer: Answer, kind: 'read' | 'write'): void {
    if (answer.code === 0) return;
    const code: ErrorCode = kind === 'read' && answer.code === FAIL ? 'transient' : 'step-failed';
    throw new UpgradeError(code, `milvus-backup at ${server.shown} refused ${call.text}: ${said(answer.msg) || 'no message'} (code ${answer.code})`);
  }

  private parse<T extends z.ZodType>(server: BackupServer, call: Call, schema: T, data: unknown): z.output<T> {
    const parsed = schema.safeParse(data);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    throw this.notTheApi(server, call, issue ? `${issue.path.join('.') || 'data'}: ${issue.message}` : 'unexpected data');
  }

  private notTheApi(server: BackupServer, call: Call, why: string): UpgradeError {
    return new UpgradeError('unreadable', `milvus-backup at ${server.shown} answered ${call.text} with something that is not milvus-backup's API (${said(why)})`, [
      'check the url: milvus-backup\'s REST server (`milvus-backup server`, port 8080 by default), not Milvus itself',
    ]);
  }

  private async call(server: BackupServer, call: Call, what: { query?: Record<string, string>; body?: unknown }, signal?: AbortSignal): Promise<Answer> {
    const query = what.query ? `?${new URLSearchParams(what.query).toString()}` : '';
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (server.authorization) headers.authorization = server.authorization;
    if (what.body !== undefined) headers['content-type'] = 'application/json';
    let status: number;
    let body: string;
    try {
      const res = await fetch(`${server.api}${call.path.slice(API.length)}${query}`, {
        method: call.method,
        headers,
        ...(what.body !== undefined ? { body: JSON.stringify(what.body) } : {}),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        // The server never redirects (gin only does for a trailing slash, which this never sends):
        // a redirect is something else in front, and a POST must not turn into a GET elsewhere.
        redirect: 'error',
      });
      status = res.status;
      body = await res.text();
    } catch (err) {
      if (signal?.aborted) throw new UpgradeError('cancelled', `cancelled while waiting for milvus-backup at ${server.shown} to answer ${call.text}`, [], { cause: err });
      const why = timeout.aborted ? `no answer within ${this.timeoutMs / 1000} s` : said(reasonOf(err));
      throw new UpgradeError('transient', `milvus-backup at ${server.shown} did not answer ${call.text}: ${why}`, [
        'check the url (milvus-backup\'s REST server, port 8080 by default) and that the server runs',
      ], { cause: err });
    }
    if (status !== 200) throw this.httpStatus(server, call, status, body);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw this.notTheApi(server, call, `not JSON: ${body.slice(0, 80)}`);
    }
    const parsed = envelope.safeParse(json);
    if (!parsed.success) throw this.notTheApi(server, call, parsed.error.issues[0]?.message ?? 'not an object');
    return parsed.data;
  }

  /** gin's own answers: 400 a body it could not bind, 404 no such route, 500 a panic; 502/503 a proxy in front. */
  private httpStatus(server: BackupServer, call: Call, status: number, body: string): UpgradeError {
    let words = body;
    try {
      const e = (JSON.parse(body) as { error?: unknown }).error;
      if (typeof e === 'string') words = e;
    } catch {}
    const shown = said(words).slice(0, 200);
    const message = `milvus-backup at ${server.shown} answered ${call.text} with HTTP ${status}${shown ? `: ${shown}` : ''}`;
    if (status === 404) return new UpgradeError('step-failed', message, ['no such route: check the url is milvus-backup\'s REST server, and that its version has this call']);
    return new UpgradeError(status >= 500 || status === 429 ? 'transient' : 'step-failed', message);
  }
}
