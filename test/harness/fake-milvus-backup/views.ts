/**
 * The fake milvus-backup's JSON, as the real server writes it: gin's c.JSON of generated Go
 * structs (core/proto/backuppb/backup.pb.go), so encoding/json: fields in struct order, names
 * from the `json` tags, `omitempty` zeros left out (but state_code, progress, size, meta_size,
 * has_index and data have no omitempty), int64 and uint64 as bare numbers (collection ids and
 * hybrid timestamps beyond 2^53 included), and Go's zero time as -62135596800 seconds.
 */
import { Tasks, type FakeBackupCollection, type FakeBackupTask, type FakeRestoreTask, type FakeStoredBackup } from './tasks.js';

export type Json = string | number | boolean | bigint | null | readonly Json[] | { readonly [k: string]: Json };

/** time.Time{}.Unix(): a task's end before it ends. */
export const GO_ZERO_TIME = -62_135_596_800;

const omit = (k: string, v: Json | undefined): Record<string, Json> => (v === undefined || v === '' || v === 0 || v === 0n ? {} : { [k]: v });

/** pbconv.NewBackupInfoBrief: the task's fields, then storage's (which win for the name). */
export function backupBrief(task: FakeBackupTask | null, stored: FakeStoredBackup | null): Json {
  return {
    ...omit('id', task?.id),
    state_code: task?.state ?? 0,
    ...omit('errorMessage', task?.errorMessage),
    ...(task ? { start_time: task.startTime, end_time: task.endTime ?? GO_ZERO_TIME } : {}),
    progress: task ? Tasks.backupProgress(task) : 0,
    ...omit('name', stored?.name ?? task?.name),
    ...omit('backup_timestamp', stored?.backupTimestamp),
    ...(stored && stored.collections.length > 0 ? { collection_backups: stored.collections.map((c) => collectionBrief(c, stored)) } : {}),
    size: stored?.size ?? 0,
    ...omit('milvus_version', stored?.milvusVersion),
    ...(stored ? { database_backups: [{ db_name: 'default' }] } : {}),
    meta_size: stored?.metaSize ?? 0,
    ...omit('format', stored ? 'binlog' : undefined),
  };
}

function collectionBrief(c: FakeBackupCollection, stored: FakeStoredBackup): Json {
  return {
    id: c.id,
    collection_id: c.collectionId,
    db_name: c.db,
    collection_name: c.name,
    shards_num: 1,
    backup_timestamp: stored.backupTimestamp,
    size: c.size,
    has_index: true,
    load_state: 'Loaded',
  };
}

/** pbconv.RestoreTaskViewToResp; a collection task's id is never set by the real server (omitted). */
export function restoreView(t: FakeRestoreTask): Json {
  return {
    ...omit('id', t.id),
    state_code: t.state,
    ...omit('errorMessage', t.errorMessage),
    start_time: t.startTime,
    end_time: t.endTime ?? GO_ZERO_TIME,
    progress: Tasks.restoreProgress(t),
    ...(t.collections.length > 0
      ? {
          collection_restore_tasks: t.collections.map((c) => ({
            state_code: c.state,
            start_time: t.startTime,
            end_time: c.endTime ?? GO_ZERO_TIME,
            progress: Tasks.collectionProgress(c),
            target_db_name: 'default',
            target_collection_name: c.target,
          })),
        }
      : {}),
  };
}

/** JSON with bigints written as bare integers, as encoding/json writes an int64. */
export function goJson(value: Json): string {
  const marked = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `\u0000int64:${v}` : v));
  return marked.replace(/"\\u0000int64:(-?\d+)"/g, '$1');
}
