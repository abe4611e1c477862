/**
 * The canary of the data gate (issue 26), with the official SDK: a few primary keys of a loaded
 * collection, chosen once (a query with a limit), then read back after each hop (a query by key)
 * and searched with the vector of the first row read (does the index still answer?). Read-only:
 * nothing here writes to Milvus. Every failure names the address, the collection and the call,
 * so a person knows which of the three did not answer.
 */
import type { MilvusClient } from '@zilliz/milvus2-sdk-node';
import { UpgradeError } from '../upgrade/errors.js';
import type { CanaryResult, CanaryRows } from '../upgrade/data-snapshot.js';
import { errorText, failedStatus } from './milvus-client.js';
import type { CanarySampler } from '../upgrade/ports.js';

/**
 * Matches every Int64 key. Milvus's expression parser reads the literal before the minus, so
 * -9223372036854775808 overflows; the SDK's own iterators start from this value too. A row keyed
 * exactly at the minimum is never picked as a canary, which costs nothing.
 */
const MIN_INT64 = '-9223372036854775807';

/** An expression string literal: Milvus unquotes it as Go does, which reads JSON's escapes. */
export function quoteVarChar(value: string): string {
  return JSON.stringify(value);
}

/** A filter that every row matches: the SDK sends it with the limit (older servers refuse an empty one). */
export function matchAllFilter(primaryField: string, primaryIsString: boolean): string {
  return primaryIsString ? `${primaryField} >= ""` : `${primaryField} >= ${MIN_INT64}`;
}

/** `pk in [...]`: VarChar keys quoted and escaped, Int64 keys as their decimal text (checked). */
export function keysFilter(canary: Pick<CanaryRows, 'primaryField' | 'primaryIsString' | 'ids'>): string {
  const values = canary.ids.map((id) => {
    if (canary.primaryIsString) return quoteVarChar(id);
    // The keys come from Milvus, but a canary may have been stored: never splice anything else.
    if (!/^-?\d{1,19}$/.test(id)) throw new UpgradeError('invalid-state', `canary key "${id.slice(0, 40)}" of ${canary.primaryField} is not an Int64`);
    return id;
  });
  return `${canary.primaryField} in [${values.join(', ')}]`;
}

interface FieldLike {
  readonly name: string;
  readonly data_type?: string;
  readonly is_primary_key?: boolean;
}

/** The primary field (Int64 or VarChar) and the first FloatVector field of a described schema. */
export function canaryFields(fields: readonly FieldLike[]): { primaryField: string; primaryIsString: boolean; vectorField: string | null } | null {
  const pk = fields.find((f) => f.is_primary_key);
  if (!pk || (pk.data_type !== 'Int64' && pk.data_type !== 'VarChar')) return null;
  const vector = fields.find((f) => f.data_type === 'FloatVector');
  return { primaryField: pk.name, primaryIsString: pk.data_type === 'VarChar', vectorField: vector?.name ?? null };
}

/** Runs one call; a gRPC error or a failed Milvus status becomes an error naming what was asked. */
async function call<T extends object>(address: string, collection: string, what: string, run: () => Promise<T>): Promise<T> {
  let r: T;
  try {
    r = await run();
  } catch (err) {
    if (err instanceof UpgradeError) throw err;
    throw new UpgradeError('transient', `Milvus at ${address}: ${what} of collection ${collection} failed: ${errorText(err)}`, [], { cause: err });
  }
  const failed = failedStatus(r);
  if (failed) throw new UpgradeError('transient', `Milvus at ${address}: ${what} of collection ${collection} failed: ${failed.reason}`);
  return r;
}

export async function pickCanaryWith(client: MilvusClient, address: string, collection: string, count: number): Promise<CanaryRows | null> {
  const described = await call(address, collection, 'DescribeCollection', () => client.describeCollection({ collection_name: collection }));
  const fields = canaryFields(described.schema?.fields ?? []);
  if (!fields) {
    throw new UpgradeError('invalid-state', `Milvus at ${address}: collection ${collection} has no Int64 or VarChar primary key to pick canary rows by`);
  }
  const rows = await call(address, collection, 'Query', () =>
    client.query({
      collection_name: collection,
      filter: matchAllFilter(fields.primaryField, fields.primaryIsString),
      limit: Math.max(1, Math.floor(count)),
      output_fields: [fields.primaryField],
    }),
  );
  const ids = rows.data.map((r) => String(r[fields.primaryField])).slice(0, count);
  if (ids.length === 0) return null;
  return { collection, primaryField: fields.primaryField, ids, primaryIsString: fields.primaryIsString, vectorField: fields.vectorField };
}

export async function probeWith(client: MilvusClient, address: string, canary: CanaryRows): Promise<CanaryResult> {
  const { collection, primaryField, vectorField } = canary;
  if (canary.ids.length === 0) return { found: 0, searchHits: null };
  const rows = await call(address, collection, 'Query', () =>
    client.query({
      collection_name: collection,
      filter: keysFilter(canary),
      output_fields: vectorField ? [primaryField, vectorField] : [primaryField],
    }),
  );
  const wanted = new Set(canary.ids);
  const back = rows.data.filter((r) => wanted.has(String(r[primaryField])));
  const found = new Set(back.map((r) => String(r[primaryField]))).size;
  // The first canary key that came back gives the vector: the same row each time it is there.
  const first = canary.ids.map((id) => back.find((r) => String(r[primaryField]) === id)).find((r) => r !== undefined);
  const vector = vectorField && first ? (first[vectorField] as unknown) : null;
  if (!vectorField || !Array.isArray(vector) || vector.length === 0) return { found, searchHits: null };
  const hits = await call(address, collection, 'Search', () =>
    client.search({
      collection_name: collection,
      anns_field: vectorField,
      data: vector as number[],
      limit: 3,
      output_fields: [primaryField],
    }),
  );
  return { found, searchHits: Array.isArray(hits.results) ? hits.results.length : 0 };
}

/**
 * The availability loop's sampler: the canary's keys queried, and a search with the vector of
 * the first one, read once now while Milvus serves. Each sample is one call on the held client.
 */
export async function samplerWith(client: MilvusClient, address: string, canary: CanaryRows): Promise<CanarySampler> {
  const { collection, primaryField, vectorField } = canary;
  const filter = keysFilter(canary);
  const first = await call(address, collection, 'Query', () =>
    client.query({ collection_name: collection, filter, output_fields: vectorField ? [primaryField, vectorField] : [primaryField], limit: 1 }),
  );
  const vector = vectorField ? (first.data[0]?.[vectorField] as unknown) : null;
  const searchable = vectorField && Array.isArray(vector) && vector.length > 0 ? { field: vectorField, vector: vector as number[] } : null;
  return {
    query: async () => {
      await call(address, collection, 'Query', () => client.query({ collection_name: collection, filter, output_fields: [primaryField] }));
    },
    search: searchable
      ? async () => {
          await call(address, collection, 'Search', () => client.search({ collection_name: collection, anns_field: searchable.field, data: searchable.vector, limit: 3, output_fields: [primaryField] }));
        }
      : null,
    close: () => client.closeConnection().then(() => undefined, () => undefined),
  };
}
