/**
 * The fake milvus-backup's answers, route by route, as the real handlers in core/server/*.go give
 * them (messages, codes and which answers carry a requestId copied from there), in the JSON gin
 * writes of the Go structs (views.ts).
 */
import { FAIL, SUCCESS, type FakeBackupTask, type FakeStoredBackup, type Tasks } from './tasks.js';
import { backupBrief, restoreView, type Json } from './views.js';

export interface Answer {
  readonly status: number;
  /** JSON as gin writes it; absent with `text`. */
  readonly json?: Json;
  /** A plain answer (gin's 404 page, a recovered panic's empty 500). */
  readonly text?: string;
}

export interface Call {
  readonly query: URLSearchParams;
  /** The raw body; JSON is read by the route, as gin's ShouldBindJSON does. */
  readonly body: string;
  /** The `request_id` header ('' without). */
  readonly requestId: string;
}

const ok = (fields: Json): Answer => ({ status: 200, json: fields });
/** The envelope in the Go struct's order; `omitempty` leaves out a 0 code and an empty id or message. */
const envelope = (requestId: string, code: number, msg: string, data: Json | null, withData = true): Answer =>
  ok({ ...(requestId ? { requestId } : {}), ...(code ? { code } : {}), ...(msg ? { msg } : {}), ...(withData ? { data } : {}) });

/** core/backup/func.go ValidateName (an empty name never gets here: the real one panics on it). */
function nameProblem(name: string): string | null {
  if (/\s/u.test(name)) return 'backup name should not contain whitespace';
  if (Buffer.byteLength(name) > 128) return 'backup name length should not exceed 128';
  if (!/^[A-Za-z_]/.test(name)) return 'backup name should start with an underscore or letter';
  if (/[^A-Za-z0-9_]/.test(name)) return 'backup name should only contain numbers, letters and underscores';
  return null;
}

/** encoding/json into the request struct: the body must be an object whose known fields have their types. */
function bind(body: string, types: Readonly<Record<string, 'string' | 'boolean' | 'string[]'>>): { value: Record<string, unknown> } | { error: string } {
  if (body.trim() === '') return { error: 'EOF' };
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (e) {
    return { error: e instanceof Error ? e.message : 'invalid character' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { error: 'json: cannot unmarshal into Go value of type struct' };
  for (const [field, type] of Object.entries(types)) {
    const v = (value as Record<string, unknown>)[field];
    if (v === undefined || v === null) continue;
    const fits = type === 'string[]' ? Array.isArray(v) && v.every((x) => typeof x === 'string') : typeof v === type;
    if (!fits) return { error: `json: cannot unmarshal ${Array.isArray(v) ? 'array' : typeof v} into Go struct field .${field} of type ${type}` };
  }
  return { value: value as Record<string, unknown> };
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

export function createBackup(tasks: Tasks, call: Call): Answer | Promise<Answer> {
  const bound = bind(call.body, { backup_name: 'string', async: 'boolean', collection_names: 'string[]' });
  if ('error' in bound) return { status: 400, json: { error: 'Invalid request body' } };
  const requestId = call.requestId || crypto.randomUUID();
  const name = str(bound.value.backup_name);
  // ValidateName reads []rune(name)[0] first: gin's Recovery turns the panic into an empty 500.
  if (name === '') return { status: 500, text: '' };
  const problem = nameProblem(name);
  if (problem) return envelope(requestId, 400, problem, null);
  const started = tasks.startBackup(name, requestId);
  if ('error' in started) return envelope(requestId, FAIL, started.error, null);
  if (bound.value.async === true) return envelope(requestId, 0, 'create backup is executing asynchronously', null);
  // runSync answers a fresh struct on success: no requestId, no data.
  return started.done.then(() =>
    started.task.state === SUCCESS ? envelope('', 0, 'success', null) : envelope(requestId, FAIL, started.task.errorMessage, null),
  );
}

export function getBackup(tasks: Tasks, call: Call): Answer {
  const name = call.query.get('backup_name') ?? '';
  const id = call.query.get('backup_id') ?? '';
  // The answer is made before complete() gives the request an id: only a header's id is echoed.
  const rid = call.requestId;
  if (!name && !id) return envelope(rid, 400, 'server: empty backup name and backup id, please set a backup name or id', null);
  if (id) {
    const task = [...tasks.backupTasks.values()].find((t) => t.id === id);
    if (!task) return envelope(rid, FAIL, 'server: get backup by id server: get backup task task not found', null);
    return briefOf(tasks, rid, task.name, task, 'id');
  }
  return briefOf(tasks, rid, name, tasks.backupTasks.get(name) ?? null, 'name');
}

/** getByName / getByID: the task manager's view, and storage's only once that task succeeded. */
function briefOf(tasks: Tasks, rid: string, name: string, task: FakeBackupTask | null, by: 'name' | 'id'): Answer {
  let stored: FakeStoredBackup | null = null;
  if (task && task.state === SUCCESS) {
    stored = tasks.storage.get(name) ?? null;
    if (!stored) {
      const why = by === 'name' ? `server: get backup by name server: get backup by name server: backup ${name} not found` : `server: get backup by id server: read backup meta server: backup ${name} not found`;
      return envelope(rid, FAIL, why, null);
    }
  }
  return envelope(rid, 0, 'success', backupBrief(task, stored));
}

export function restoreBackup(tasks: Tasks, call: Call): Answer | Promise<Answer> {
  const bound = bind(call.body, { backup_name: 'string', collection_suffix: 'string', async: 'boolean', collection_names: 'string[]', id: 'string', requestId: 'string' });
  if ('error' in bound) return { status: 400, json: { error: `invalid request body: ${bound.error}` } };
  const b = bound.value;
  // This handler takes its request id from the body, never the header.
  const requestId = str(b.requestId) || crypto.randomUUID();
  const name = str(b.backup_name);
  const suffix = str(b.collection_suffix);
  // The early refusals are fresh structs: no requestId.
  if (!name) return envelope('', 400, 'backup name is required', null);
  if (/[^A-Za-z0-9_]/.test(suffix)) return envelope('', 400, 'only alphanumeric characters and underscores are allowed in collection suffix', null);
  const backup = tasks.storage.get(name);
  if (!backup) return envelope('', 400, `backup ${name} not found`, null);
  const id = str(b.id) || restoreId();
  const { task, done } = tasks.startRestore(backup, id, { names: Array.isArray(b.collection_names) ? (b.collection_names as string[]) : [], suffix });
  if (b.async === true) return envelope(requestId, 0, 'restore backup is executing asynchronously', restoreView(task));
  return done.then(() =>
    task.state === SUCCESS ? envelope(requestId, 0, 'success', restoreView(task)) : envelope('', FAIL, `restore: execute ${task.errorMessage}`, null),
  );
}

export function getRestore(tasks: Tasks, call: Call): Answer {
  const id = call.query.get('id') ?? '';
  if (!id) return envelope(call.requestId, FAIL, 'empty restore id', null);
  const task = tasks.restoreTasks.get(id);
  if (!task) return envelope(call.requestId, FAIL, 'task not found', null);
  return envelope(call.requestId, 0, 'success', restoreView(task));
}

/** meta.List reads storage (so it sees backups a restart forgot); it sets no message. */
export function listBackups(tasks: Tasks, call: Call): Answer {
  if (call.query.get('collection_name')) return envelope(call.requestId, 400, 'collection_name is deprecated', null);
  const data = [...tasks.storage.values()].map((s) => ({ id: s.id, name: s.name, size: s.size, ...(s.milvusVersion ? { milvus_version: s.milvusVersion } : {}) }));
  return envelope(call.requestId, 0, '', data);
}

export function deleteBackup(tasks: Tasks, call: Call): Answer {
  const requestId = call.requestId || crypto.randomUUID();
  const name = call.query.get('backup_name') ?? '';
  if (!name) return envelope(requestId, 400, 'backup name is required', null, false);
  // Storage only: the task manager still remembers the name (get_backup then fails to read it).
  if (!tasks.storage.delete(name)) return envelope(requestId, FAIL, `delete: read backup info: meta: read backup meta: backup ${name} does not exist`, null, false);
  return envelope(requestId, 0, 'success', null, false);
}

/** core/server/restore.go complete(): restore_<UTC time>_<nanoseconds>. */
let lastNanos = 0;
function restoreId(): string {
  const now = new Date();
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const at = `${now.getUTCFullYear()}_${p(now.getUTCMonth() + 1)}_${p(now.getUTCDate())}_${p(now.getUTCHours())}_${p(now.getUTCMinutes())}_${p(now.getUTCSeconds())}_`;
  lastNanos = Math.max(lastNanos + 1, now.getUTCMilliseconds() * 1_000_000);
  return `restore_${at}${lastNanos % 1_000_000_000}`;
}
