/**
 * Benchmark 9: what reading Milvus costs a plan (issue 26). makeUpgradePlan on a fixture release
 * on the test control plane (chart 4.2.58 at 2.5.16 -> 2.6.15, the release of benchmark 4), with
 * the fake Milvus holding 10 and then 1,000 collections (all loaded, rows in each), against the
 * same plan with Milvus checks off.
 *
 * The plan reads Milvus (readPlanData) beside its helm and Kubernetes reads (service.ts runs them
 * together), so the plan pays for the data only where the read is the longer of the two. Inside
 * the plan, each of the product's reads is timed on the way (the connection's Milvus access
 * wrapped, every call still the product's): the snapshot (GetVersion, CheckHealth,
 * ShowCollections, then per collection GetLoadState, GetCollectionStatistics, DescribeIndex, one
 * after the other on one client) and the canary picks (per loaded collection a client of its
 * own: DescribeCollection and a Query, four at a time). Then one pass of the data gate the plan
 * ends with (a snapshot, then every canary probed in turn), and the fix proposed for what is
 * slow, measured here only (oneClient): the same reads on one client.
 *
 * The fake runs in a process of its own (bench/fake-milvus-proc.ts): a real Milvus is remote, and
 * its answers should not share this process's event loop and CPU. It answers at once: the
 * figures are the bot's side and the gRPC round trips on loopback, not a Milvus's own work.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createEngineAccess } from '../src/engine-access.js';
import { pickCanaryWith } from '../src/cluster/milvus-canary.js';
import { openMilvus } from '../src/cluster/milvus-client.js';
import type { MilvusEndpoint } from '../src/upgrade/data-snapshot.js';
import { DEFAULT_PLAN_SETTINGS, type PlanSettings } from '../src/upgrade/plan.js';
import type { MilvusAccess } from '../src/upgrade/ports.js';
import { CANARY_ROWS } from '../src/upgrade/planner/data-gate.js';
import { makeUpgradePlan } from '../src/upgrade/planner/service.js';
import { runSteps } from '../src/upgrade/runner/run.js';
import { kubectl } from '../test/harness/control-plane.js';
import { install, requireCluster } from './rolling-overhead.js';
import { isMain, runAsScript, log, machineLine, pool, seconds, stamp, table, writeSection } from './run.js';

const FROM_CHART = '4.2.58';
const TARGET = '2.6.15';
const ROWS = 100;
const SIZES = [10, 1000] as const;
/** Plans per configuration (10 collections, checks off); the median is reported. */
const REPS = 3;

interface FakeProc {
  readonly address: string;
  /** Calls the fake answered since the last ask, by method. */
  calls(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

async function startFakeProc(collections: number): Promise<FakeProc> {
  const script = fileURLToPath(new URL('./fake-milvus-proc.ts', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, String(collections), String(ROWS)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: Interface = createInterface({ input: child.stdout! });
  const waiting: Array<(line: string) => void> = [];
  lines.on('line', (l) => waiting.shift()?.(l));
  const next = () => new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the fake Milvus process did not answer')), 60_000);
    waiting.push((l) => {
      clearTimeout(timer);
      resolve(l);
    });
  });
  const { address } = JSON.parse(await next()) as { address: string };
  return {
    address,
    calls: async () => {
      const answer = next();
      child.stdin!.write('calls\n');
      return JSON.parse(await answer) as Record<string, number>;
    },
    close: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin!.end();
      await exited;
    },
  };
}

const median = (xs: readonly number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : NaN);
const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
const perPlan = (o: Record<string, number>, reps: number) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v / reps)]));

async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** What the product's own reads of Milvus took, recorded on the way (each call still the product's). */
interface Timings {
  /** From the first endpoint asked to the last read answered: the plan's whole read of Milvus. */
  first: number;
  last: number;
  snapshots: number[];
  picks: number[];
  probes: number[];
}

const newTimings = (): Timings => ({ first: NaN, last: NaN, snapshots: [], picks: [], probes: [] });

function timed(access: MilvusAccess, t: Timings): MilvusAccess {
  const rec = async <T>(into: number[], fn: () => Promise<T>): Promise<T> => {
    const r = await time(fn);
    into.push(r.ms);
    t.last = performance.now();
    return r.value;
  };
  return {
    checks: access.checks,
    address: (r) => access.address(r),
    endpoint: (...a) => {
      if (Number.isNaN(t.first)) t.first = performance.now();
      return access.endpoint(...a);
    },
    reader: {
      snapshot: (...a) => rec(t.snapshots, () => access.reader.snapshot(...a)),
      pickCanary: (...a) => rec(t.picks, () => access.reader.pickCanary(...a)),
      probe: (...a) => rec(t.probes, () => access.reader.probe(...a)),
      openSampler: (...a) => access.reader.openSampler(...a),
    },
  };
}

/**
 * The proposed fix, measured (not in src/): the same reads on ONE client, a few calls in flight
 * at once (gRPC multiplexes them on one HTTP/2 connection): the per-collection snapshot reads
 * `inFlight` at a time, and the canary picks by the product's own pickCanaryWith four at a time.
 */
async function oneClient(endpoint: MilvusEndpoint, names: readonly string[], inFlight: number): Promise<{ snapshot: number; picks: number; canaries: number }> {
  const client = await openMilvus(endpoint, 10_000);
  try {
    const snap = await time(async () => {
      await client.getVersion();
      await client.checkHealth();
      await client.showCollections();
      await pool(names, inFlight, async (name) => {
        await client.getLoadState({ collection_name: name });
        await client.getCollectionStatistics({ collection_name: name });
        await client.describeIndex({ collection_name: name });
      });
    });
    const picks = await time(() => pool(names, 4, (name) => pickCanaryWith(client, endpoint.address, name, CANARY_ROWS)));
    return { snapshot: snap.ms, picks: picks.ms, canaries: picks.value.filter((c) => c !== null).length };
  } finally {
    await client.closeConnection().catch(() => undefined);
  }
}

interface Row {
  readonly label: string;
  readonly plans: number[];
  readonly data?: {
    readonly read: number;
    readonly snapshot: number;
    readonly picks: number;
    readonly pickEach: number;
    readonly canaries: number;
    readonly callsPerPlan: Record<string, number>;
    readonly connectClose: number;
    /** The gate pass: measured over `gateCanaries` canaries; `gateAll` estimated for all. */
    readonly gateMeasured: number;
    readonly gateCanaries: number;
    readonly gateAll: number;
    readonly gateResult: string;
    readonly fix: { snapshot: number; picks: number; canaries: number };
  };
}

/** Plans per size: 1,000 collections take minutes a plan, so one (the smaller ones warm up the process). */
const repsFor = (size: number) => (size >= 1000 ? 1 : REPS);
/** Canaries the gate pass is measured over; the rest estimated from the median probe. */
const GATE_CANARIES = 50;
const FIX_IN_FLIGHT = 8;

export async function main(): Promise<void> {
  const info = await requireCluster();
  const when = stamp();
  const machineText = machineLine();
  const namespace = `bench-snap-${randomBytes(3).toString('hex')}`;
  const release = 'snap';
  const settings: PlanSettings = { ...DEFAULT_PLAN_SETTINGS, repoUrl: info.chartRepoUrl, dataTimeoutSeconds: 600 };
  const rows: Row[] = [];
  try {
    log(`installing ${release} at chart ${FROM_CHART} (not measured)`);
    await install(info, namespace, release, FROM_CHART, { 'queryNode.replicas': '2' });
    for (const size of [0, ...SIZES]) {
      const fake = await startFakeProc(size === 0 ? 10 : size);
      const checks = size === 0 ? 'off' : 'required';
      const access = createEngineAccess({ kubeconfig: info.kubeconfig, helmEnv: info.helmEnv, settings, milvus: () => ({ checks, addressTemplate: fake.address, credentialsSecret: null, tls: false }) });
      try {
        const conn = access.default();
        const label = size === 0 ? 'checks off' : `${size.toLocaleString('en-US')} collections`;
        const reps = repsFor(size);
        if (size < 1000) {
          log(`${label}: a plan to warm up (not measured)`);
          await makeUpgradePlan(conn, { release, namespace, version: TARGET });
        }
        await fake.calls();
        const plans: number[] = [];
        const t = newTimings();
        let plan: Awaited<ReturnType<typeof makeUpgradePlan>> | undefined;
        // The connection itself, its Milvus access timed on the way (the plan reads through deps.milvus).
        const deps = conn.milvus ? { ...conn, milvus: timed(conn.milvus, t) } : conn;
        for (let i = 0; i < reps; i++) {
          log(`${label}: plan ${i + 1} of ${reps}`);
          Object.assign(t, newTimings());
          const r = await time(() => makeUpgradePlan(deps, { release, namespace, version: TARGET }));
          plans.push(r.ms);
          plan = r.value;
        }
        const callsPerPlan = perPlan(await fake.calls(), reps);
        const data = plan?.data;
        log(`  plan ${plans.map((x) => seconds(x)).join(', ')}; data: ${data?.notChecked ?? `${data?.snapshot?.collections.length} collections, ${data?.canaries.length} canaries`}; ${sum(callsPerPlan)} calls per plan ${JSON.stringify(callsPerPlan)}`);
        if (size === 0 || !conn.milvus || !plan || !data) {
          rows.push({ label, plans });
          continue;
        }
        if (data.notChecked) throw new Error(`the plan did not read the fake Milvus: ${data.notChecked}`);
        // The last plan's read of Milvus, as it happened inside the plan.
        const read = t.last - t.first;
        const snapshot = t.snapshots[0] ?? NaN;
        const pickEach = median(t.picks);
        log(`  in the last plan: Milvus read ${seconds(read)} = snapshot ${seconds(snapshot)} + ${t.picks.length} canary picks (4 at a time, median ${seconds(pickEach, 3)} each)`);
        const endpoint = await conn.milvus.endpoint(namespace, release, fake.address);
        const connect = await time(async () => (await openMilvus(endpoint, 5_000)).closeConnection());
        const gateStep = plan.steps.find((s) => s.kind === 'check-data');
        if (!gateStep || gateStep.kind !== 'check-data') throw new Error('the plan has no data gate');
        const gateCanaries = Math.min(GATE_CANARIES, gateStep.canaries.length);
        log(`  one pass of the data gate over ${gateCanaries} of ${gateStep.canaries.length} canaries (a snapshot, then each probed in turn)`);
        const g = newTimings();
        let gateResult = '';
        const gate = await time(() =>
          runSteps(plan, [{ ...gateStep, canaries: gateStep.canaries.slice(0, gateCanaries) }], {
            ports: { ...conn.ports, milvus: timed(conn.milvus!, g) },
            pollIntervalMs: 100,
            onEvent: (e) => {
              if (e.type === 'step-finished') gateResult = e.detail;
              if (e.type === 'step-failed') gateResult = `failed: ${e.error}`;
            },
          }),
        );
        const gateAll = gate.ms + median(g.probes) * (gateStep.canaries.length - gateCanaries);
        log(`  gate pass ${seconds(gate.ms)} (snapshot ${seconds(g.snapshots[0] ?? NaN)}, probes median ${seconds(median(g.probes), 3)}); all ${gateStep.canaries.length}: est. ${seconds(gateAll)}; ${gateResult}`);
        log(`  the proposed fix: one client, ${FIX_IN_FLIGHT} snapshot reads in flight, picks 4 at a time on it`);
        const fix = await oneClient(endpoint, data.snapshot!.collections.map((c) => c.name), FIX_IN_FLIGHT);
        log(`  one client: snapshot ${seconds(fix.snapshot)}, ${fix.canaries} canary picks ${seconds(fix.picks)}; a client opened and closed ${seconds(connect.ms, 3)}`);
        rows.push({
          label,
          plans,
          data: { read, snapshot, picks: read - snapshot, pickEach, canaries: t.picks.length, callsPerPlan, connectClose: connect.ms, gateMeasured: gate.ms, gateCanaries, gateAll, gateResult, fix },
        });
      } finally {
        access.close();
        await fake.close();
      }
    }
    const off = median(rows[0]!.plans);
    const tableRows = rows.map((r) => {
      const plan = median(r.plans);
      const d = r.data;
      const pct = (x: number) => `${((100 * x) / plan).toFixed(0)} %`;
      return [
        r.label,
        r.plans.length > 1 ? `${seconds(plan)} (${seconds(Math.min(...r.plans))}–${seconds(Math.max(...r.plans))}, ${r.plans.length} plans)` : `${seconds(plan)} (1 plan)`,
        d ? `${seconds(plan - off)} (${pct(plan - off)})` : '—',
        d ? `${seconds(d.read)} (${pct(d.read)})` : '—',
        d ? `${seconds(d.snapshot)} (${pct(d.snapshot)})` : '—',
        d ? `${seconds(d.picks)} (${d.canaries} picks, ${seconds(d.pickEach, 2)} each)` : '—',
        d ? String(sum(d.callsPerPlan)) : '—',
        d ? (d.gateCanaries < d.canaries ? `${seconds(d.gateAll)} est. (measured ${seconds(d.gateMeasured)} over ${d.gateCanaries} canaries)` : seconds(d.gateMeasured)) : '—',
        d ? `${seconds(d.fix.snapshot + d.fix.picks)} (snapshot ${seconds(d.fix.snapshot)}, picks ${seconds(d.fix.picks)})` : '—',
      ];
    });
    const big = rows.find((r) => r.data && r.label.startsWith('1,000'))?.data;
    writeSection(
      'snapshot-cost',
      [
        '## 9. What reading Milvus costs a plan (data snapshot and canaries)',
        '',
        `_Measured ${when} on ${machineText}; test control plane; fake Milvus in its own process (bench/fake-milvus-proc.ts), answering at once over real gRPC on loopback._`,
        '',
        `\`makeUpgradePlan\` of one fixture release (chart ${FROM_CHART}, 2.5.16 -> ${TARGET}) with Milvus checks required and the fake holding N collections (all loaded, ${ROWS} rows each), against the same plan with checks off; median of ${REPS} plans after a warm-up (1,000 collections: one plan, minutes long). The plan reads Milvus beside helm and Kubernetes (service.ts: \`Promise.all\`): **added** = plan time above checks off; **Milvus read** = from the plan's first Milvus call to its last answer, timed inside the plan = **snapshot** (GetVersion, CheckHealth, ShowCollections, then per collection GetLoadState, GetCollectionStatistics and DescribeIndex, eight collections at a time) + **canary picks** (per loaded collection DescribeCollection and a Query; four at a time). Every call group on one endpoint shares the SDK client the reader keeps while they follow each other (src/cluster/milvus-client.ts). **Calls** = gRPC calls the fake answered per plan. **Gate pass** = one pass of the check-data step every hop and rollback ends with (a snapshot, then each canary probed in turn; at 1,000 measured over ${GATE_CANARIES} canaries, the rest estimated from the median probe). **One client** = the same calls on one client the bench holds itself, ${FIX_IN_FLIGHT} snapshot reads in flight, picks four at a time on it: the floor of the reader's pooled clients.`,
        '',
        table(['Milvus', 'plan', 'added', 'Milvus read', 'snapshot', 'canary picks', 'calls', 'gate pass', 'one client (fix)'], tableRows),
        '',
        ...(big
          ? [
              `Calls per plan at 1,000 collections: ${Object.entries(big.callsPerPlan).map(([k, v]) => `${k} ${v}`).join(', ')}. A new SDK client opened and closed with no call: ${seconds(big.connectClose, 3)} (the SDK parses its protocol definitions, \`protobufjs.Root.fromJSON\` of the milvus and schema protos, in every \`MilvusClient\` it makes: node_modules/@zilliz/milvus2-sdk-node/dist/milvus/grpc/BaseClient.js).`,
              '',
            ]
          : []),
        'Before the reader kept its clients (first run of this bench, commit 3a73ffa): one new SDK client per canary pick and per gate probe, each paying the SDK\'s set-up (a client opened and closed: 0.14-0.2 s of CPU), and the snapshot\'s three calls per collection one at a time: the 1,000-collection plan took 171 s (Milvus read 170 s, canary picks 164 s) and a gate pass was estimated at 197 s. With the clients kept while call groups follow each other and the snapshot eight collections at a time, the figures above.',
      ].join('\n'),
    );
  } finally {
    await kubectl(info, ['delete', 'namespace', namespace, '--wait=false']).catch(() => '');
  }
}

if (isMain(import.meta.url)) runAsScript(main);
