/**
 * Backups taken with milvus-backup (zilliztech/milvus-backup) before a step that cannot be
 * undone (issue 27): what its REST server reports of a backup and of a restore, in the domain's
 * words, and what a backup must hold to count as one of the release's data. Pure.
 *
 * milvus-backup's REST API (`GET /api/v1/get_backup`) reports, per collection, its name and size
 * in bytes, not its rows: the check is every collection the data snapshot saw, with bytes when
 * it has rows. Rows are counted again where they can be, after a restore (the data gate).
 */
export type BackupState = 'initial' | 'executing' | 'success' | 'failed' | 'timeout';

export interface BackupCollection {
  readonly name: string;
  /** The database; '' or 'default' for the default one. */
  readonly db: string;
  readonly sizeBytes: number;
}

export interface BackupInfo {
  readonly name: string;
  readonly id: string;
  readonly state: BackupState;
  /** 0 to 100. */
  readonly progress: number;
  readonly errorMessage: string;
  readonly sizeBytes: number;
  /** The Milvus version the backup was taken from, as the server says (e.g. `v2.6.20`). */
  readonly milvusVersion: string;
  /** Unix seconds; 0 when not said. */
  readonly startTime: number;
  readonly endTime: number;
  readonly collections: readonly BackupCollection[];
}

export type RestoreState = BackupState;

export interface RestoreInfo {
  readonly id: string;
  readonly state: RestoreState;
  readonly progress: number;
  readonly errorMessage: string;
  readonly startTime: number;
  readonly endTime: number;
  readonly collections: readonly { readonly name: string; readonly state: RestoreState; readonly progress: number }[];
}

export interface RestoreRequest {
  readonly backupName: string;
  /** Restore only these (all when absent). */
  readonly collectionNames?: readonly string[];
  /** Appended to each restored collection's name (milvus-backup's collection_suffix). */
  readonly collectionSuffix?: string;
  /** The task's id (the server takes the request's): a resumed run finds its restore by it. */
  readonly id?: string;
}

/**
 * milvus-backup's own rule for a name (core/backup/func.go ValidateName): at most 128
 * characters, starting with a letter or an underscore, only letters, digits and underscores.
 */
export const BACKUP_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/**
 * The name of the backup a plan takes before a hop: where it comes from, readable in the
 * server's list, the same each time the run resumes (it is written into the plan).
 * e.g. `mub_prod_2_6_20_to_3_0_3_20261207T210405`.
 */
export function backupNameFor(release: string, from: string, to: string, plannedAt: number): string {
  const name = `mub_${nameSafe(release)}_${nameSafe(from)}_to_${nameSafe(to)}_${utcStamp(plannedAt)}`;
  return name.slice(0, 128);
}

/** A name part milvus-backup takes: every run of other characters becomes one underscore. */
export const nameSafe = (s: string) => s.replace(/[^A-Za-z0-9]+/g, '_');

/** `20261207T210405`: UTC to the second, as backup names and restore task ids carry it. */
export const utcStamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').slice(0, 15);

/**
 * A milvus-backup server's base URL: http(s), a host, an optional port and path, no credentials
 * and no query (the bot appends `/api/v1/...`). Templates use {release}, {namespace}, {fullname}.
 */
export function isBackupUrl(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '' && u.username === '' && u.password === '' && u.search === '' && u.hash === '' && url.length <= 300;
}

/** What a backup must hold: the collections the data snapshot saw, with their rows then. */
export interface ExpectedBackupCollection {
  readonly name: string;
  readonly rows: number | null;
}

/**
 * Why a finished backup does not hold the release's data, one line each; empty when it does.
 * A collection the snapshot saw with rows must be in the backup with bytes.
 */
export function backupProblems(info: BackupInfo, expected: readonly ExpectedBackupCollection[]): string[] {
  // A backup that did not succeed holds nothing to compare: its own words say why.
  if (info.state !== 'success') return [`backup ${info.name} ended ${info.state}${info.errorMessage ? `: ${info.errorMessage}` : ''}`];
  const out: string[] = [];
  const byName = new Map(info.collections.filter((c) => c.db === '' || c.db === 'default').map((c) => [c.name, c]));
  for (const e of expected) {
    const got = byName.get(e.name);
    if (!got) out.push(`backup ${info.name} has no collection ${e.name}`);
    else if ((e.rows ?? 0) > 0 && got.sizeBytes <= 0) out.push(`backup ${info.name} holds no data of ${e.name} (${e.rows} rows before)`);
  }
  return out;
}

/** The backup a plan takes before a hop (the hop's first step), as the card and `--json` show it. */
export interface BackupPlan {
  readonly name: string;
  readonly url: string;
  /** Why it is taken: the one-way step it comes before, or the policy. */
  readonly reason: string;
  /** Into 3.0, or by policy: without it the plan runs only with an approver's --without-backup. */
  readonly required: boolean;
  readonly collections: readonly ExpectedBackupCollection[];
}

/**
 * The way back from a hop that cannot be rolled back, when a backup was taken before it: the
 * backup restored into a NEW release at the version before the hop (milvus-backup recreates the
 * collections and bulk-inserts their data; indexes are built again).
 */
export interface RestoreOffer {
  readonly backup: string;
  readonly url: string;
  /** The new release's suggested name (the old one keeps running until someone removes it). */
  readonly into: string;
  readonly version: string;
  readonly chart: string | null;
  /** A rough estimate (see restoreEstimateSeconds), not a measurement. */
  readonly estimatedSeconds: number;
}

/**
 * A rough duration of a restore into a new release: installing it (about five minutes on the
 * real chart with its etcd, MinIO and queue) plus milvus-backup's bulk insert, taken as 20,000
 * rows a second, plus loading again. Shown as an estimate, never used to decide anything.
 */
export function restoreEstimateSeconds(collections: readonly ExpectedBackupCollection[]): number {
  const rows = collections.reduce((sum, c) => sum + (c.rows ?? 0), 0);
  return Math.round(300 + rows / 20_000 + collections.length * 5);
}

export function restoreOfferText(offer: RestoreOffer): string {
  const minutes = Math.max(1, Math.round(offer.estimatedSeconds / 60));
  return `restore backup ${offer.backup} into a NEW release ${offer.into} at Milvus ${offer.version}${offer.chart ? ` (chart ${offer.chart})` : ''}: collections recreated and bulk-inserted, about ${minutes} min (a rough estimate)`;
}

export function isFinished(state: BackupState): boolean {
  return state === 'success' || state === 'failed' || state === 'timeout';
}

/** Bytes as a person reads them: `512 B`, `12.4 MB`. */
export function bytesText(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}
