/**
 * What Milvus itself says about its data (issue 26), beside what Kubernetes says about its
 * objects: the server's version and health, and every collection with its load state and row
 * count. Names and counts only: never a vector, never a row. Read before planning and after each
 * hop; compared by the data gate.
 */
export type CollectionLoadState = 'loaded' | 'loading' | 'not-loaded';

export interface CollectionSnapshot {
  readonly name: string;
  readonly loadState: CollectionLoadState;
  /** From the collection's statistics (row_count); null when Milvus did not say. */
  readonly rowCount: number | null;
  /** Names of the collection's indexes (DescribeIndex), [] when it has none; absent: not read. */
  readonly indexes?: readonly string[];
}

export interface DataSnapshot {
  /** What the server reports (GetVersion), e.g. `v2.4.23`. */
  readonly serverVersion: string;
  /** CheckHealth. */
  readonly healthy: boolean;
  /** Why not healthy, as Milvus says it. */
  readonly reasons: readonly string[];
  readonly collections: readonly CollectionSnapshot[];
}

/**
 * A few rows of one loaded collection, chosen when the plan is made, that the data gate reads
 * again after each hop: by primary key (a query), then a search with the vector of the first
 * row read back. Keys and field names only: the vector is read at the gate, never stored.
 */
export interface CanaryRows {
  readonly collection: string;
  readonly primaryField: string;
  /** Int64 keys as decimal strings (they may not fit a JS number), VarChar keys as they are. */
  readonly ids: readonly string[];
  readonly primaryIsString: boolean;
  /** The (first) float vector field; null: the collection has none the bot can search with. */
  readonly vectorField: string | null;
}

/** What the canary found: how many of its keys came back, and the search's hit count. */
export interface CanaryResult {
  readonly found: number;
  /** null: no search was made (no vector field, or no row came back to search with). */
  readonly searchHits: number | null;
}

/** Where a release's Milvus answers, and how to sign in (never logged, never shown). */
export interface MilvusEndpoint {
  /** `host:port`, e.g. `my-release-milvus.milvus.svc:19530`. */
  readonly address: string;
  readonly credentials?: { readonly username: string; readonly password: string } | { readonly token: string } | null;
  readonly tls?: boolean;
}

/** One line a person reads: "v2.4.23, healthy, 3 collections (2 loaded, 1,200 rows)". */
export function dataSummary(s: DataSnapshot): string {
  const loaded = s.collections.filter((c) => c.loadState === 'loaded').length;
  const rows = s.collections.reduce((n, c) => n + (c.rowCount ?? 0), 0);
  const health = s.healthy ? 'healthy' : `unhealthy (${s.reasons.join('; ') || 'no reason given'})`;
  return `${s.serverVersion}, ${health}, ${s.collections.length} collection(s) (${loaded} loaded, ${rows.toLocaleString('en-US')} rows)`;
}
