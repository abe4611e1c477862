/**
 * A stand-in Milvus for tests (issue 26): no Milvus binary runs here, so this serves the real
 * gRPC service, `milvus.proto.milvus.MilvusService`, from the protocol definitions the official
 * Node SDK ships (its protobufjs JSON, `dist/milvus/proto-json/milvus.base`), over real HTTP/2
 * with @grpc/grpc-js. The product talks to it with the real SDK; nothing is hand-written on the
 * wire.
 *
 * What it models: Connect, GetVersion, CheckHealth, ShowCollections, GetLoadState and
 * GetCollectionStatistics (row_count), answered from `model`, which a test changes as it goes;
 * the `authorization` metadata of each call (a test can check credentials arrive, and what).
 * What it does not: data, queries, searches, indexes, databases other than the default, load
 * progress, any other of the service's methods (they answer UNIMPLEMENTED), TLS.
 */
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const MILVUS_PROTO = (require('@zilliz/milvus2-sdk-node/dist/milvus/proto-json/milvus.base') as { default: protobuf.INamespace }).default;
const SERVICE = 'milvus.proto.milvus.MilvusService';

export type FakeLoadState = 'Loaded' | 'Loading' | 'NotLoad';

export interface FakeCollection {
  readonly name: string;
  loadState: FakeLoadState;
  rowCount: number;
}

export interface FakeMilvusModel {
  version: string;
  healthy: boolean;
  /** Why it is unhealthy (CheckHealth's reasons). */
  reasons: string[];
  collections: FakeCollection[];
}

export interface FakeMilvus {
  /** `127.0.0.1:<port>`. */
  readonly address: string;
  readonly model: FakeMilvusModel;
  /** Every call: its method and the `authorization` metadata it carried (null: none). */
  readonly calls: Array<{ method: string; authorization: string | null }>;
  close(): Promise<void>;
}

type Answer = (request: Record<string, unknown>, model: FakeMilvusModel) => Record<string, unknown>;

const OK = { errorCode: 0, code: 0, reason: '' };

const ANSWERS: Readonly<Record<string, Answer>> = {
  Connect: (_r, m) => ({ status: OK, serverInfo: { buildTags: m.version, hostName: 'fake-milvus' }, identifier: 1 }),
  GetVersion: (_r, m) => ({ status: OK, version: m.version }),
  CheckHealth: (_r, m) => ({ status: OK, isHealthy: m.healthy, reasons: m.healthy ? [] : m.reasons }),
  ShowCollections: (_r, m) => ({
    status: OK,
    collectionNames: m.collections.map((c) => c.name),
    collectionIds: m.collections.map((_c, i) => 1000 + i),
    createdTimestamps: m.collections.map(() => 0),
    createdUtcTimestamps: m.collections.map(() => 0),
    inMemoryPercentages: m.collections.map((c) => (c.loadState === 'Loaded' ? 100 : 0)),
  }),
  GetLoadState: (r, m) => {
    const c = m.collections.find((x) => x.name === r.collectionName);
    if (!c) return { status: { errorCode: 4, code: 100, reason: `collection not found[collection=${String(r.collectionName)}]` } };
    return { status: OK, state: `LoadState${c.loadState}` };
  },
  GetCollectionStatistics: (r, m) => {
    const c = m.collections.find((x) => x.name === r.collectionName);
    if (!c) return { status: { errorCode: 4, code: 100, reason: `collection not found[collection=${String(r.collectionName)}]` } };
    return { status: OK, stats: [{ key: 'row_count', value: String(c.rowCount) }] };
  },
};

/** Starts the stand-in on a loopback port; `model` can be changed while it runs. */
export async function startFakeMilvus(model: Partial<FakeMilvusModel> = {}): Promise<FakeMilvus> {
  const root = protobuf.Root.fromJSON(MILVUS_PROTO);
  const service = root.lookupService(SERVICE);
  const state: FakeMilvusModel = { version: 'v2.4.23', healthy: true, reasons: [], collections: [], ...model };
  const calls: FakeMilvus['calls'] = [];
  const definition: Record<string, grpc.MethodDefinition<object, object>> = {};
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(service.methods)) {
    const req = root.lookupType(method.resolvedRequestType?.fullName ?? method.requestType);
    const res = root.lookupType(method.resolvedResponseType?.fullName ?? method.responseType);
    definition[name] = {
      path: `/${SERVICE}/${name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (v: object) => Buffer.from(req.encode(req.fromObject(v)).finish()),
      requestDeserialize: (b: Buffer) => req.toObject(req.decode(b), { enums: String, longs: String }),
      responseSerialize: (v: object) => Buffer.from(res.encode(res.fromObject(v)).finish()),
      responseDeserialize: (b: Buffer) => res.toObject(res.decode(b), { enums: String, longs: String }),
    };
    handlers[name] = (call: grpc.ServerUnaryCall<Record<string, unknown>, object>, callback: grpc.sendUnaryData<object>) => {
      const auth = call.metadata.get('authorization')[0];
      calls.push({ method: name, authorization: auth === undefined ? null : String(auth) });
      const answer = ANSWERS[name];
      if (!answer) return callback({ code: grpc.status.UNIMPLEMENTED, details: `${name} is not modelled by the fake Milvus` });
      callback(null, answer(call.request, state));
    };
  }
  const server = new grpc.Server();
  server.addService(definition, handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    model: state,
    calls,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
