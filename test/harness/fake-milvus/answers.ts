/**
 * The fake Milvus's answers, per method of milvus.proto.milvus.MilvusService, shaped as Milvus 2.4
 * answers them (protobufjs field names; the server encodes them with the SDK's own protocol).
 * A request the real server would refuse is refused the same way (a Milvus status), so a client
 * that sends something else than it should fails its test here.
 */
import type protobuf from 'protobufjs';
import {
  DIM, PK_FIELD_ID, VECTOR_FIELD_ID, dataFailure, indexesOf, loadStateOf, primaryField, primaryType, rowCountOf, rowsOf, vectorField, versionOf,
  type FakeCollection, type FakeFailure, type FakeMilvusModel, type FakeRow,
} from './model.js';

/** Thrown by an answer: the call fails so (the server turns it into a gRPC error or a status). */
export class FailWith {
  constructor(readonly failure: FakeFailure) {}
}

type Req = Record<string, unknown>;
export type Answer = (request: Req, model: FakeMilvusModel, root: protobuf.Root) => Record<string, unknown>;

export const OK = { errorCode: 0, code: 0, reason: '' };
const refused = (reason: string, code: number, errorCode: number | string = 'UnexpectedError') => ({ status: { errorCode, code, reason } });
const KEY_VALUES = (kvs: unknown) => new Map(((kvs as Array<{ key: string; value: string }>) ?? []).map((kv) => [kv.key, kv.value]));

function collection(r: Req, m: FakeMilvusModel): FakeCollection {
  const c = m.collections.find((x) => x.name === r.collectionName);
  if (!c) throw new FailWith({ reason: `collection not found[database=default][collection=${String(r.collectionName)}]`, code: 100 });
  return c;
}

/** Query and Search read only loaded collections; then the model's failure for the call, if any. */
function readable(r: Req, m: FakeMilvusModel, method: 'Query' | 'Search'): FakeCollection {
  const c = collection(r, m);
  if (loadStateOf(m, c) !== 'Loaded') throw new FailWith({ reason: `collection not loaded[collection=${c.name}]`, code: 101 });
  const failure = dataFailure(m, method);
  if (failure) throw new FailWith(failure);
  return c;
}

function fieldsOf(c: FakeCollection): Array<Record<string, unknown>> {
  const pk = { fieldID: String(PK_FIELD_ID), name: primaryField(c), isPrimaryKey: true, dataType: primaryType(c), autoID: false,
    typeParams: primaryType(c) === 'VarChar' ? [{ key: 'max_length', value: '256' }] : [] };
  const vf = vectorField(c);
  return vf ? [pk, { fieldID: String(VECTOR_FIELD_ID), name: vf, dataType: 'FloatVector', typeParams: [{ key: 'dim', value: String(DIM) }] }] : [pk];
}

function pkData(c: FakeCollection, keys: readonly string[]): Record<string, unknown> {
  const scalars = primaryType(c) === 'Int64' ? { longData: { data: keys } } : { stringData: { data: keys } };
  return { type: primaryType(c), fieldName: primaryField(c), fieldId: String(PK_FIELD_ID), scalars };
}

function vectorData(c: FakeCollection, rows: readonly FakeRow[]): Record<string, unknown> {
  return { type: 'FloatVector', fieldName: vectorField(c), fieldId: String(VECTOR_FIELD_ID), vectors: { dim: String(DIM), floatVector: { data: rows.flatMap((r) => r.vector) } } };
}

/** The requested output fields (the primary key always, as Milvus adds it); unknown ones refused. */
function outputFields(c: FakeCollection, requested: unknown): string[] {
  const all = fieldsOf(c).map((f) => f.name as string);
  const asked = ((requested as string[] | undefined) ?? []).flatMap((f) => (f === '*' ? all : [f]));
  for (const f of asked) if (!all.includes(f)) throw new FailWith({ reason: `field ${f} not exist`, code: 1100 });
  return [...new Set([primaryField(c), ...asked])];
}

function columns(c: FakeCollection, fields: readonly string[], rows: readonly FakeRow[]): Array<Record<string, unknown>> {
  return fields.map((f) => (f === primaryField(c) ? pkData(c, rows.map((r) => r.key)) : vectorData(c, rows)));
}

const compareKeys = (c: FakeCollection, a: string, b: string) =>
  primaryType(c) === 'Int64' ? (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0) : a < b ? -1 : a > b ? 1 : 0;

/**
 * The expressions the product's canary sends, read as Milvus reads them: `<pk> >= <literal>` (a
 * match-all with a limit), `<pk> in [<literals>]`, and the empty expression with a limit (2.3+).
 * Anything else is refused as Milvus refuses what it cannot parse.
 */
function filterRows(c: FakeCollection, rows: FakeRow[], expr: string, limit: number | null): FakeRow[] {
  const bad = (why: string) => new FailWith({ reason: `failed to create query plan: cannot parse expression: ${expr}, error: ${why}`, code: 1100 });
  const literal = (text: string): string => {
    const t = text.trim();
    if (primaryType(c) === 'Int64') {
      if (!/^-?\d{1,19}$/.test(t)) throw bad(`${t} is not an Int64 literal`);
      return t;
    }
    if (!/^"(?:[^"\\]|\\.)*"$/.test(t)) throw bad(`${t} is not a string literal`);
    return JSON.parse(t) as string;
  };
  const pk = primaryField(c);
  let picked: FakeRow[];
  const ge = new RegExp(`^\\s*(\\w+)\\s*>=\\s*(.+?)\\s*$`, 's').exec(expr);
  const inList = new RegExp(`^\\s*(\\w+)\\s+in\\s+\\[(.*)\\]\\s*$`, 's').exec(expr);
  if (expr.trim() === '') {
    if (limit === null) throw new FailWith({ reason: 'empty expression should be used with limit', code: 1100 });
    picked = rows;
  } else if (ge) {
    if (ge[1] !== pk) throw bad(`field ${ge[1]} not exist`);
    const at = literal(ge[2] ?? '');
    picked = rows.filter((r) => compareKeys(c, r.key, at) >= 0);
  } else if (inList) {
    if (inList[1] !== pk) throw bad(`field ${inList[1]} not exist`);
    const body = (inList[2] ?? '').trim();
    const items = body === '' ? [] : primaryType(c) === 'Int64' ? body.split(',').map(literal) : (() => {
      try {
        return (JSON.parse(`[${body}]`) as unknown[]).map((v) => literal(JSON.stringify(v)));
      } catch {
        throw bad('malformed string list');
      }
    })();
    const wanted = new Set(items);
    picked = rows.filter((r) => wanted.has(r.key));
  } else {
    throw bad('not modelled by the fake Milvus');
  }
  const sorted = [...picked].sort((a, b) => compareKeys(c, a.key, b.key));
  return limit === null ? sorted : sorted.slice(0, limit);
}

function query(r: Req, m: FakeMilvusModel): Record<string, unknown> {
  const c = readable(r, m, 'Query');
  const params = KEY_VALUES(r.queryParams);
  const limit = params.has('limit') ? Number(params.get('limit')) : null;
  const fields = outputFields(c, r.outputFields);
  const rows = filterRows(c, rowsOf(m, c), String(r.expr ?? ''), limit);
  return { status: OK, fieldsData: columns(c, fields, rows), collectionName: c.name, outputFields: fields, primaryFieldName: primaryField(c) };
}

function search(r: Req, m: FakeMilvusModel, root: protobuf.Root): Record<string, unknown> {
  const c = readable(r, m, 'Search');
  const params = KEY_VALUES(r.searchParams);
  const anns = params.get('anns_field');
  if (!vectorField(c) || anns !== vectorField(c)) throw new FailWith({ reason: `failed to get field schema by name: fieldName(${String(anns)}) not found`, code: 1100 });
  const topk = Number(params.get('topk') ?? params.get('limit'));
  if (!Number.isInteger(topk) || topk < 1) throw new FailWith({ reason: `invalid topk: ${String(params.get('topk'))}`, code: 1100 });
  const group = root.lookupType('milvus.proto.common.PlaceholderGroup').decode(r.placeholderGroup as Uint8Array) as unknown as {
    placeholders: Array<{ type: number; values: Uint8Array[] }>;
  };
  const bytes = group.placeholders[0]?.values;
  if (group.placeholders.length !== 1 || bytes?.length !== 1 || group.placeholders[0]?.type !== 101) {
    throw new FailWith({ reason: 'the fake Milvus models one FloatVector query vector (nq=1)', code: 1100 });
  }
  const raw = Buffer.from(bytes[0] as Uint8Array);
  if (raw.length !== DIM * 4) throw new FailWith({ reason: `the dimension of the vector (${raw.length / 4}) does not equal the field's (${DIM})`, code: 1100 });
  const q = Array.from({ length: DIM }, (_, i) => raw.readFloatLE(i * 4));
  const ranked = rowsOf(m, c)
    .map((row) => ({ row, d: row.vector.reduce((s, x, i) => s + (x - (q[i] ?? 0)) ** 2, 0) }))
    .sort((a, b) => a.d - b.d || compareKeys(c, a.row.key, b.row.key))
    .slice(0, topk);
  const fields = outputFields(c, r.outputFields);
  const keys = ranked.map((h) => h.row.key);
  return {
    status: OK,
    collectionName: c.name,
    results: {
      numQueries: '1', topK: String(topk), topks: [String(ranked.length)], scores: ranked.map((h) => h.d),
      ids: primaryType(c) === 'Int64' ? { intId: { data: keys } } : { strId: { data: keys } },
      fieldsData: columns(c, fields, ranked.map((h) => h.row)), outputFields: fields, primaryFieldName: primaryField(c),
    },
  };
}

const perCollection = (fn: (c: FakeCollection, r: Req, m: FakeMilvusModel) => Record<string, unknown>): Answer => (r, m) => fn(collection(r, m), r, m);

/** A Milvus status failure as the response's status (every response type has one). */
export function statusFailure(reason: string, code = 1): Record<string, unknown> {
  return refused(reason, code, code === 100 ? 'CollectionNotExists' : 'UnexpectedError');
}

export const ANSWERS: Readonly<Record<string, Answer>> = {
  Connect: (_r, m) => ({ status: OK, serverInfo: { buildTags: versionOf(m), hostName: 'fake-milvus' }, identifier: 1 }),
  GetVersion: (_r, m) => ({ status: OK, version: versionOf(m) }),
  CheckHealth: (_r, m) => ({ status: OK, isHealthy: m.healthy, reasons: m.healthy ? [] : m.reasons }),
  ShowCollections: (_r, m) => ({
    status: OK,
    collectionNames: m.collections.map((c) => c.name),
    collectionIds: m.collections.map((_c, i) => String(1000 + i)),
    createdTimestamps: m.collections.map(() => '0'),
    createdUtcTimestamps: m.collections.map(() => '0'),
    inMemoryPercentages: m.collections.map((c) => (loadStateOf(m, c) === 'Loaded' ? 100 : 0)),
  }),
  GetLoadState: perCollection((c, _r, m) => ({ status: OK, state: `LoadState${loadStateOf(m, c)}` })),
  // As Milvus: 100 once loaded, the progress while loading, refused for a collection not loaded.
  GetLoadingProgress: perCollection((c, _r, m) => {
    const state = loadStateOf(m, c);
    if (state === 'NotLoad') return refused(`collection not loaded[collection=${c.name}]`, 101, 'CollectionNotLoaded');
    return { status: OK, progress: String(state === 'Loaded' ? 100 : (c.loadingProgress ?? 0)), refreshProgress: '0' };
  }),
  GetCollectionStatistics: perCollection((c, _r, m) => ({ status: OK, stats: [{ key: 'row_count', value: String(rowCountOf(m, c)) }] })),
  DescribeCollection: perCollection((c) => ({
    status: OK,
    schema: { name: c.name, description: '', autoID: false, fields: fieldsOf(c), enableDynamicField: false },
    collectionID: '1000', virtualChannelNames: [`by-dev-rootcoord-dml_0_1000v0`], physicalChannelNames: ['by-dev-rootcoord-dml_0'],
    createdTimestamp: '0', createdUtcTimestamp: '0', shardsNum: 1, aliases: [], consistencyLevel: 'Bounded', collectionName: c.name,
    properties: [], dbName: 'default', numPartitions: '1',
  })),
  DescribeIndex: perCollection((c, r, m) => {
    const names = indexesOf(c).filter((n) => !r.indexName || n === r.indexName);
    // Milvus 2.3+ answers a collection without (that) index with a failed status, code 700.
    if (names.length === 0) return refused(`index not found[collection=${c.name}]`, 700, 'IndexNotExist');
    return {
      status: OK,
      indexDescriptions: names.map((indexName, i) => ({
        indexName, indexID: String(2000 + i), fieldName: vectorField(c) ?? primaryField(c), state: 'Finished',
        indexedRows: String(rowCountOf(m, c)), totalRows: String(rowCountOf(m, c)), pendingIndexRows: '0',
        params: [{ key: 'index_type', value: 'HNSW' }, { key: 'metric_type', value: 'L2' }, { key: 'params', value: '{"M":16,"efConstruction":200}' }],
      })),
    };
  }),
  Query: (r, m) => query(r, m),
  Search: (r, m, root) => search(r, m, root),
};
