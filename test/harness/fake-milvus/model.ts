/**
 * What the fake Milvus serves (see ../fake-milvus.ts for what it models and what not): a model a
 * test changes as it goes, and the rows it derives from it. Rows are generated, not stored: a
 * collection of `rowCount` rows has keys 1..rowCount (Int64) or `row-1`.. (VarChar, unless
 * `keys` names them) and a 4-dimensional float vector derived from the row's number, so a search
 * with a row's own vector finds that row first.
 */
import type { ReleaseBehaviour } from './release-rules.js';

export type FakeLoadState = 'Loaded' | 'Loading' | 'NotLoad';

/**
 * How a call fails: a gRPC status (DEADLINE_EXCEEDED waits for the call's deadline first, as a
 * proxy waiting on a querynode that never answers does), or a Milvus status (the call answers,
 * with `reason` and `code`).
 */
export type FakeFailure =
  | { readonly grpc: 'DEADLINE_EXCEEDED' | 'UNAVAILABLE' | 'INTERNAL' | 'RESOURCE_EXHAUSTED' }
  | { readonly reason: string; readonly code?: number };

export interface FakeCollection {
  readonly name: string;
  loadState: FakeLoadState;
  rowCount: number;
  /** Type of the primary key; Int64 by default. */
  primaryType?: 'Int64' | 'VarChar';
  /** Name of the primary key field; `id` by default. */
  primaryField?: string;
  /** Name of the FloatVector field (dim 4); `vector` by default, null: the collection has none. */
  vectorField?: string | null;
  /** VarChar keys of the first rows, in order (quotes and backslashes welcome). */
  keys?: readonly string[];
  /** Index names; by default one index named after the vector field (none without one). */
  indexes?: readonly string[];
  /** GetLoadingProgress while it is Loading (0 by default: a load that does not move). */
  loadingProgress?: number;
}

export interface FakeMilvusModel {
  version: string;
  healthy: boolean;
  /** Why it is unhealthy (CheckHealth's reasons). */
  reasons: string[];
  collections: FakeCollection[];
  /** Every Query fails so (null: answers). */
  queryError?: FakeFailure | null;
  /** Every Search fails so (null: answers). */
  searchError?: FakeFailure | null;
  /** Every call fails UNAVAILABLE, as when no proxy serves. */
  unavailable?: boolean;
  /**
   * Set by followRelease (follow.ts): what the release's pods say Milvus does. It comes on top
   * of the fields above, which a test sets; null or absent: no release followed.
   */
  release?: ReleaseBehaviour | null;
}

export const DIM = 4;
export const PK_FIELD_ID = 100;
export const VECTOR_FIELD_ID = 101;

export interface FakeRow {
  readonly key: string;
  readonly vector: readonly number[];
}

export const primaryType = (c: FakeCollection) => c.primaryType ?? 'Int64';
export const primaryField = (c: FakeCollection) => c.primaryField ?? 'id';
export const vectorField = (c: FakeCollection) => (c.vectorField === undefined ? 'vector' : c.vectorField);
export const indexesOf = (c: FakeCollection) => c.indexes ?? (vectorField(c) ? [vectorField(c) as string] : []);

/** Float32 values (what Milvus stores), so a vector read back and searched with matches exactly. */
function vectorOf(n: number): number[] {
  return [Math.sin(n), Math.cos(n), Math.sin(2 * n) / 2, (n % 10) / 10].map((x) => Math.fround(x));
}

/** Whether the rows are "dropped" (a knob of the followed release): every other row is gone. */
const dropped = (m: FakeMilvusModel) => m.release?.rowsDropped === true;

/** The rows a query or a search sees now. */
export function rowsOf(m: FakeMilvusModel, c: FakeCollection): FakeRow[] {
  const rows: FakeRow[] = [];
  for (let i = 0; i < c.rowCount; i++) {
    if (dropped(m) && i % 2 === 0) continue;
    const n = i + 1;
    const key = primaryType(c) === 'Int64' ? String(n) : (c.keys?.[i] ?? `row-${n}`);
    rows.push({ key, vector: vectorOf(n) });
  }
  return rows;
}

/** The row count the statistics say: what the rows are now. */
export function rowCountOf(m: FakeMilvusModel, c: FakeCollection): number {
  return dropped(m) ? Math.floor(c.rowCount / 2) : c.rowCount;
}

/** Load state as a client sees it: a followed release may keep loaded collections loading. */
export function loadStateOf(m: FakeMilvusModel, c: FakeCollection): FakeLoadState {
  return m.release?.loadsStuck && c.loadState === 'Loaded' ? 'Loading' : c.loadState;
}

export function versionOf(m: FakeMilvusModel): string {
  return m.release?.serverVersion ?? m.version;
}

/** Why a Query or a Search fails now, if it does: the test's knob first, then the release's. */
export function dataFailure(m: FakeMilvusModel, method: 'Query' | 'Search'): FakeFailure | null {
  const own = method === 'Query' ? m.queryError : m.searchError;
  if (own) return own;
  if (m.release?.dataCallsTimeOut) return { grpc: 'DEADLINE_EXCEEDED' };
  if (m.release?.queriesFail) return { reason: `fail to ${method.toLowerCase()} on all shard leaders: ${m.release.why.join('; ')}`, code: 503 };
  return null;
}

export function isUnavailable(m: FakeMilvusModel): boolean {
  return m.unavailable === true || m.release?.unavailable === true;
}
