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
  /** While loading: GetLoadingProgress, 0 to 100; absent otherwise or when not read. */
  readonly loadingProgress?: number;
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

/**
 * What a plan knows of the release's data, and how its runs check it (issue 26). Stored with the
 * plan: names, counts and keys only; the credentials are read again when a gate runs.
 */
export interface PlanData {
  /** Where Milvus was read (`host:port`); null when the bot was told not to read it. */
  readonly address: string | null;
  /** Read when the plan was made; null when it could not be (see notChecked). */
  readonly snapshot: DataSnapshot | null;
  /** The rows each loaded collection's canary reads again after every hop. */
  readonly canaries: readonly CanaryRows[];
  /** Why the data is not checked: Milvus unreachable, or checks off in the bot's config; null: checked. */
  readonly notChecked: string | null;
  /** True when the bot's config requires the checks: an unchecked plan then needs an approver's override. */
  readonly required: boolean;
  /** Who allowed this plan to run without data checks (`--without-data-checks`, an approver). */
  readonly withoutChecksBy: string | null;
}

/** One line a person reads: "v2.4.23, healthy, 3 collections (2 loaded, 1,200 rows)". */
export function dataSummary(s: DataSnapshot): string {
  const loaded = s.collections.filter((c) => c.loadState === 'loaded').length;
  const rows = s.collections.reduce((n, c) => n + (c.rowCount ?? 0), 0);
  const health = s.healthy ? 'healthy' : `unhealthy (${s.reasons.join('; ') || 'no reason given'})`;
  return `${s.serverVersion}, ${health}, ${s.collections.length} collection(s) (${loaded} loaded, ${rows.toLocaleString('en-US')} rows)`;
}

/** What the data gate expects of a collection: as it was when the plan was made. */
export interface ExpectedCollection {
  readonly name: string;
  readonly loaded: boolean;
  readonly rowCount: number | null;
}

/**
 * How Milvus now falls short of what it held before, each naming the collection and the check;
 * empty when it holds it all. Loading is not a failure yet: the gate waits for it, up to its timeout.
 */
export function dataProblems(expected: readonly ExpectedCollection[], now: DataSnapshot): string[] {
  const out: string[] = [];
  if (!now.healthy) out.push(`CheckHealth: unhealthy (${now.reasons.join('; ') || 'no reason given'})`);
  const byName = new Map(now.collections.map((c) => [c.name, c]));
  for (const e of expected) {
    const c = byName.get(e.name);
    if (!c) {
      out.push(`collection ${e.name}: gone`);
      continue;
    }
    if (e.loaded && c.loadState !== 'loaded') {
      const progress = c.loadingProgress !== undefined ? ` at ${c.loadingProgress}%` : '';
      out.push(`collection ${e.name}: ${c.loadState === 'loading' ? `still loading${progress}` : 'not loaded'} (it was loaded before)`);
    }
    if (e.rowCount !== null && c.rowCount !== null && c.rowCount < e.rowCount) {
      out.push(`collection ${e.name}: ${c.rowCount.toLocaleString('en-US')} rows, fewer than the ${e.rowCount.toLocaleString('en-US')} before`);
    }
  }
  return out;
}

/** host:port, host a DNS name or an IPv4 address. */
const ADDRESS = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/i;

export function isMilvusAddress(address: string): boolean {
  const m = ADDRESS.exec(address);
  return m !== null && Number(m[1]) >= 1 && Number(m[1]) <= 65535;
}

/**
 * A release's address from a template of the bot's config: `{release}`, `{namespace}` and
 * `{fullname}` (the chart's name for the proxy Service) are replaced; a template without them is
 * a fixed gateway.
 */
export function addressFromTemplate(template: string, r: { readonly namespace: string; readonly release: string; readonly fullname: string }): string {
  return template.replaceAll('{release}', r.release).replaceAll('{namespace}', r.namespace).replaceAll('{fullname}', r.fullname);
}

/** The default: the release's proxy Service inside the cluster, where the bot runs. */
export const DEFAULT_MILVUS_ADDRESS = '{fullname}.{namespace}.svc:19530';

/** Collections a card or a terminal lists before it folds the rest into "…and N more". */
export const LISTED_COLLECTIONS = 8;

/** The plan's data in lines a person reads (card and CLI alike): what Milvus holds, or why it was not read. */
export function planDataLines(data: PlanData): string[] {
  if (data.notChecked) {
    const who = data.withoutChecksBy
      ? `run without data checks, allowed by ${data.withoutChecksBy}`
      : data.required
        ? 'an upgrade needs --without-data-checks from an approver'
        : 'the bot does not check data here';
    return [`data not checked: ${data.notChecked} (${who})`];
  }
  if (!data.snapshot) return [];
  const s = data.snapshot;
  const listed = s.collections.slice(0, LISTED_COLLECTIONS).map((c) => `  ${c.name}: ${c.loadState}, ${c.rowCount === null ? 'rows unknown' : `${c.rowCount.toLocaleString('en-US')} rows`}${c.indexes && c.indexes.length > 0 ? `, index ${c.indexes.join(', ')}` : ''}`);
  const more = s.collections.length > LISTED_COLLECTIONS ? [`  …and ${s.collections.length - LISTED_COLLECTIONS} more`] : [];
  return [
    `data: ${dataSummary(s)} (Milvus at ${data.address})`,
    ...listed,
    ...more,
    `data gate after every hop and rollback: healthy, loaded collections loaded again, no row count lower, ${data.canaries.length} canary quer${data.canaries.length === 1 ? 'y' : 'ies'} and search(es)`,
  ];
}

/** What the availability loop measured during a run (runner/availability.ts). */
export interface OperationAvailability {
  readonly samples: number;
  readonly failed: number;
  /** The longest time without an answer: between two answered samples, or from the start or to the end. */
  readonly longestGapMs: number;
  /** The first failure's words, to tell a timeout from a refusal. */
  readonly firstError: string | null;
}

export interface Availability {
  readonly collection: string;
  readonly durationMs: number;
  readonly query: OperationAvailability;
  /** null: the collection has no vector to search with. */
  readonly search: OperationAvailability | null;
}
