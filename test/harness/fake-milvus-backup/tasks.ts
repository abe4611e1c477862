/**
 * What the fake milvus-backup server holds (see ../fake-milvus-backup.ts for what it models and
 * what not): its task manager (backup and restore tasks, in memory, forgotten by a restart, as
 * milvus-backup's internal/taskmgr) and its storage (finished backups, kept across a restart).
 * Tasks move one step every `knobs.stepMs`; the numbers each step reports are the real server's
 * formulas (internal/taskmgr/backup.go and restore.go).
 */

export interface SourceCollection {
  readonly name: string;
  readonly rowCount: number;
}

/** Knobs a test sets while the server runs (a plain object: change a field, the next call sees it). */
export interface FakeBackupKnobs {
  /** The next backup task ends `fail` (BACKUP_FAIL) with this errorMessage (true: a default one). */
  failNextCreate: boolean | string;
  /** A collection left out of the next backup (as if it were dropped while the backup listed). */
  dropCollection: string | null;
  /** How long each step of a task takes (a backup: initial, executing, 25% x4, done); slowness. */
  stepMs: number;
  /** Every call answers HTTP 200, code 3 (Fail), with this message; null: answers. */
  refuse: string | null;
  /** 'close': every connection is closed without an answer; 503: a proxy's 503; false: up. */
  down: false | 'close' | 503;
  /** Each answer waits this long first (a server slower than the caller's timeout). */
  delayMs: number;
}

export type TaskState = 0 | 1 | 2 | 3 | 4;
export const INITIAL = 0;
export const EXECUTING = 1;
export const SUCCESS = 2;
export const FAIL = 3;

export interface FakeBackupCollection {
  readonly name: string;
  readonly db: string;
  readonly rowCount: number;
  readonly size: number;
  readonly id: string;
  /** Milvus's collection id: an int64 beyond 2^53, as real ones are. */
  readonly collectionId: bigint;
}

/** A backup task of the task manager (by name: the server keeps the latest task of a name). */
export interface FakeBackupTask {
  readonly id: string;
  readonly name: string;
  state: TaskState;
  /** The collections' copy progress, 0 to 100 (each step 25). */
  copied: number;
  errorMessage: string;
  readonly startTime: number;
  endTime: number | null;
  collections: FakeBackupCollection[];
  /** A task that never moves: milvus-backup's prepare() found the name in storage and returned without marking it failed. */
  readonly stuck: boolean;
}

/** A backup in storage: what `list` and `restore` read, and `get_backup` once the task succeeded. */
export interface FakeStoredBackup {
  readonly id: string;
  readonly name: string;
  readonly size: number;
  readonly metaSize: number;
  readonly milvusVersion: string;
  readonly backupTimestamp: bigint;
  readonly collections: readonly FakeBackupCollection[];
}

export interface FakeRestoreTask {
  readonly id: string;
  readonly backupName: string;
  state: TaskState;
  errorMessage: string;
  readonly startTime: number;
  endTime: number | null;
  /** Per target collection; empty until the task executes (as the real one adds them then). */
  collections: Array<{ readonly source: FakeBackupCollection; readonly target: string; state: TaskState; imported: number; endTime: number | null }>;
}

export interface TaskOptions {
  readonly knobs: FakeBackupKnobs;
  readonly collections: () => readonly SourceCollection[];
  readonly restoreInto: (collections: SourceCollection[]) => void;
  readonly existsInTarget: (name: string) => boolean;
  readonly milvusVersion: () => string;
  /** Another server's storage: two servers on one backup bucket (one backs up, the other restores). */
  readonly storage?: Map<string, FakeStoredBackup>;
}

const seconds = () => Math.floor(Date.now() / 1000);
let serial = 0;
const uuid = () => crypto.randomUUID();

/** rowCount * 16 bytes plus the segment's fixed part; an empty collection has no segment. */
export const collectionSize = (rowCount: number) => (rowCount > 0 ? rowCount * 16 + 1024 : 0);

export class Tasks {
  readonly backupTasks = new Map<string, FakeBackupTask>();
  readonly storage: Map<string, FakeStoredBackup>;
  readonly restoreTasks = new Map<string, FakeRestoreTask>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly o: TaskOptions) {
    this.storage = o.storage ?? new Map();
  }

  /** taskmgr.AddBackupTask: a name whose latest task did not fail or time out is refused. */
  startBackup(name: string, requestId: string): { error: string } | { task: FakeBackupTask; done: Promise<void> } {
    const existing = this.backupTasks.get(name);
    if (existing && existing.state !== FAIL && existing.state !== 4) return { error: `backup: add backup task to manager: ${name} (existing task ${existing.id})` };
    const fail = this.o.knobs.failNextCreate;
    this.o.knobs.failNextCreate = false;
    const drop = this.o.knobs.dropCollection;
    this.o.knobs.dropCollection = null;
    const task: FakeBackupTask = { id: requestId, name, state: INITIAL, copied: 0, errorMessage: '', startTime: seconds(), endTime: null, collections: [], stuck: this.storage.has(name) };
    this.backupTasks.set(name, task);
    if (task.stuck) return { task, done: new Promise(() => undefined) };
    const done = this.steps(6, (step) => {
      if (step === 1) {
        task.state = EXECUTING;
        task.collections = this.o.collections().filter((c) => c.name !== drop).map((c) => this.backupCollection(c));
      } else if (step < 6) {
        if (fail && step === 3) return this.failBackup(task, fail === true ? 'backup: run collection task: fake milvus-backup: copy segment binlogs: the specified key does not exist' : fail);
        task.copied = (step - 1) * 25;
      } else {
        task.state = SUCCESS;
        task.endTime = seconds();
        this.storage.set(name, {
          id: task.id,
          name,
          size: task.collections.reduce((s, c) => s + c.size, 0),
          metaSize: 512 + 256 * task.collections.length,
          milvusVersion: this.o.milvusVersion(),
          backupTimestamp: (BigInt(Date.now()) << 18n) + BigInt(++serial),
          collections: task.collections,
        });
      }
      return task.state === SUCCESS ? 'done' : 'more';
    });
    return { task, done };
  }

  /** The progress the real task reports (BackupTask.Progress): collections copied map to 5..100. */
  static backupProgress(t: FakeBackupTask): number {
    if (t.state === INITIAL) return 1;
    if (t.state === EXECUTING) return Math.trunc(t.copied * 0.95) + 5;
    return t.state === SUCCESS ? 100 : 0;
  }

  startRestore(backup: FakeStoredBackup, id: string, request: { names: readonly string[]; suffix: string }): { task: FakeRestoreTask; done: Promise<void> } {
    const wanted = new Set(request.names.map((n) => (n.includes('.') ? n : `default.${n}`)));
    const task: FakeRestoreTask = { id, backupName: backup.name, state: INITIAL, errorMessage: '', startTime: seconds(), endTime: null, collections: [] };
    this.restoreTasks.set(id, task);
    const done = this.steps(6, (step) => {
      if (step === 1) {
        task.state = EXECUTING;
        const chosen = backup.collections.filter((c) => wanted.size === 0 || wanted.has(`${c.db}.${c.name}`));
        task.collections = chosen.map((source) => ({ source, target: `${source.name}${request.suffix}`, state: INITIAL, imported: 0, endTime: null }));
        const there = task.collections.find((c) => this.o.existsInTarget(c.target));
        if (there) {
          task.state = FAIL;
          task.endTime = seconds();
          task.errorMessage = `restore: check collection exist restore: collection already exist, database default collection ${there.target}`;
          return 'done';
        }
      } else if (step < 6) {
        for (const c of task.collections) {
          c.state = EXECUTING;
          c.imported = (step - 1) * 25;
        }
      } else {
        for (const c of task.collections) {
          c.state = SUCCESS;
          c.endTime = seconds();
        }
        this.o.restoreInto(task.collections.map((c) => ({ name: c.target, rowCount: c.source.rowCount })));
        task.state = SUCCESS;
        task.endTime = seconds();
        return 'done';
      }
      return 'more';
    });
    return { task, done };
  }

  /** RestoreTask.Progress and restoreCollectionTask.Progress: bytes imported over bytes, never 0. */
  static restoreProgress(t: FakeRestoreTask): number {
    if (t.state === SUCCESS) return 100;
    const total = t.collections.reduce((s, c) => s + c.source.size, 0);
    if (total === 0) return 1;
    const restored = t.collections.reduce((s, c) => s + Math.trunc((c.source.size * Tasks.collectionProgress(c)) / 100), 0);
    return Math.trunc((restored / total) * 100) || 1;
  }

  static collectionProgress(c: FakeRestoreTask['collections'][number]): number {
    if (c.state === SUCCESS) return 100;
    if (c.source.size === 0) return 1;
    return c.imported || 1;
  }

  /** A restart: the task manager is memory, storage is not. */
  forgetTasks(): void {
    this.stop();
    this.backupTasks.clear();
    this.restoreTasks.clear();
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private failBackup(task: FakeBackupTask, message: string): 'done' {
    task.state = FAIL;
    task.endTime = seconds();
    task.errorMessage = message;
    return 'done';
  }

  private backupCollection(c: SourceCollection): FakeBackupCollection {
    const n = ++serial;
    return { name: c.name, db: 'default', rowCount: c.rowCount, size: collectionSize(c.rowCount), id: uuid(), collectionId: 451_000_000_000_000_000n + BigInt(n) };
  }

  /** Runs `step(1..)` every knobs.stepMs (read each time: a test may slow a task down) until 'done'. */
  private steps(max: number, step: (n: number) => 'done' | 'more'): Promise<void> {
    return new Promise((resolve) => {
      const next = (n: number) => {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          if (step(n) === 'done' || n >= max) resolve();
          else next(n + 1);
        }, this.o.knobs.stepMs);
        this.timers.add(timer);
      };
      next(1);
    });
  }
}
