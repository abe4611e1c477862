/**
 * A stand-in Milvus for tests (issue 26): no Milvus binary runs here, so this serves the real
 * gRPC service, `milvus.proto.milvus.MilvusService`, from the protocol definitions the official
 * Node SDK ships (its protobufjs JSON, `dist/milvus/proto-json/milvus.base`), over real HTTP/2
 * with @grpc/grpc-js. The product talks to it with the real SDK; nothing is hand-written on the
 * wire. Answers are shaped as Milvus 2.4 gives them (fake-milvus/answers.ts).
 *
 * What it models, from `model` (fake-milvus/model.ts), which a test changes as it goes:
 * - Connect, GetVersion, CheckHealth, ShowCollections, GetLoadState, GetCollectionStatistics
 *   (row_count), DescribeCollection (an Int64 or VarChar primary key, `id` by default, and a
 *   FloatVector `vector` of dim 4, or none), DescribeIndex (names; none: Milvus's "index not
 *   found", code 700);
 * - rows, generated: keys 1..rowCount (or `row-<n>`, or the VarChar `keys` given), a vector
 *   derived from the row's number; Query with the expressions the product sends (`pk >= literal`
 *   with a limit, the empty expression with a limit, `pk in [...]`, quoted strings unescaped as
 *   JSON does), Search (nq 1, L2 over every row, the limit nearest, ids and output fields);
 *   Query and Search refuse a collection that is not loaded, as Milvus does;
 * - failures: `queryError` / `searchError` (a gRPC status, DEADLINE_EXCEEDED waiting for the
 *   call's own deadline first, or a Milvus status), `unavailable` (every call UNAVAILABLE);
 * - following a release on a Kubernetes API (fake-milvus/follow.ts, rules in
 *   fake-milvus/release-rules.ts): version, reachability, #42492's hanging queries, 2.6 loads
 *   without streamingnode (3.x as 2.6), and knobs from the `<release>-fake-milvus` ConfigMap's annotations;
 * - the `authorization` metadata of each call (a test can check credentials arrive, and what).
 *
 * What it does not: writes (insert, delete, flush), other expressions, filters on other fields,
 * partitions, databases other than the default, other vector types and metrics, several query
 * vectors, consistency levels, load progress, any other method of the service (UNIMPLEMENTED,
 * which the SDK turns into an empty answer), TLS, and the time a real Milvus takes.
 */
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { createRequire } from 'node:module';
import { ANSWERS, FailWith, statusFailure } from './fake-milvus/answers.js';
import { isUnavailable, type FakeFailure, type FakeMilvusModel } from './fake-milvus/model.js';

export type { FakeCollection, FakeFailure, FakeLoadState, FakeMilvusModel } from './fake-milvus/model.js';

const require = createRequire(import.meta.url);
const MILVUS_PROTO = (require('@zilliz/milvus2-sdk-node/dist/milvus/proto-json/milvus.base') as { default: protobuf.INamespace }).default;
const SERVICE = 'milvus.proto.milvus.MilvusService';
/** A hanging call with no deadline of its own stops hanging after this (a test never waits longer). */
const MAX_HANG_MS = 30_000;

export interface FakeMilvus {
  /** `127.0.0.1:<port>`. */
  readonly address: string;
  readonly model: FakeMilvusModel;
  /** Every call: its method and the `authorization` metadata it carried (null: none). */
  readonly calls: Array<{ method: string; authorization: string | null }>;
  close(): Promise<void>;
}

type Call = grpc.ServerUnaryCall<Record<string, unknown>, object>;

/** Starts the stand-in on a loopback port; `model` can be changed while it runs. */
export async function startFakeMilvus(model: Partial<FakeMilvusModel> = {}): Promise<FakeMilvus> {
  const root = protobuf.Root.fromJSON(MILVUS_PROTO);
  const service = root.lookupService(SERVICE);
  const state: FakeMilvusModel = { version: 'v2.4.23', healthy: true, reasons: [], collections: [], ...model };
  const calls: FakeMilvus['calls'] = [];
  // Calls held until their deadline: ended at once when the server closes.
  const hanging = new Set<() => void>();
  const fail = (call: Call, callback: grpc.sendUnaryData<object>, failure: FakeFailure) => {
    if ('reason' in failure) return callback(null, statusFailure(failure.reason, failure.code));
    const code = grpc.status[failure.grpc];
    if (failure.grpc !== 'DEADLINE_EXCEEDED') return callback({ code, details: `fake Milvus: ${failure.grpc}` });
    // As a proxy waiting on a querynode that never answers: nothing until the caller gives up.
    const deadline = call.getDeadline();
    const at = deadline instanceof Date ? deadline.getTime() : Number(deadline);
    const wait = Number.isFinite(at) && at > 0 ? Math.min(MAX_HANG_MS, Math.max(0, at - Date.now())) : MAX_HANG_MS;
    const end = () => {
      clearTimeout(timer);
      if (hanging.delete(end)) callback({ code, details: 'context deadline exceeded' });
    };
    const timer = setTimeout(end, wait);
    hanging.add(end);
    call.on('cancelled', end);
  };
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
    handlers[name] = (call: Call, callback: grpc.sendUnaryData<object>) => {
      const auth = call.metadata.get('authorization')[0];
      calls.push({ method: name, authorization: auth === undefined ? null : String(auth) });
      if (isUnavailable(state)) return fail(call, callback, { grpc: 'UNAVAILABLE' });
      const answer = ANSWERS[name];
      if (!answer) return callback({ code: grpc.status.UNIMPLEMENTED, details: `${name} is not modelled by the fake Milvus` });
      try {
        callback(null, answer(call.request, state, root));
      } catch (e) {
        if (e instanceof FailWith) return fail(call, callback, e.failure);
        callback({ code: grpc.status.INTERNAL, details: `fake Milvus: ${e instanceof Error ? e.message : String(e)}` });
      }
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
    close: () => {
      for (const end of [...hanging]) end();
      return new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
  };
}
