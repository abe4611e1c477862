/**
 * Which message queue a release uses, and the `--set` flags that keep it through an upgrade.
 * The chart has moved its queues around (SPEC §9): Pulsar v2 under `pulsar` (default on until
 * 4.2.26), Pulsar v3 under `pulsarv3` (default on from 4.2.27), kafka, woodpecker (2.6). With
 * `--reset-then-reuse-values`, a value the person never set takes the NEW chart's default, so a
 * default Pulsar v2 release would silently get an empty Pulsar v3 instead.
 */
import { PULSAR_V2_UNSAFE_CHARTS, type UnsafeCharts } from './charts.js';
import { imagesOf, type KubeObject } from '../objects.js';
import { parseImageRef } from './image-ref.js';

export type QueueKind = 'pulsar-v2' | 'pulsar-v3' | 'kafka' | 'woodpecker' | 'rocksmq' | 'natsmq' | 'external-pulsar' | 'external-kafka';

export interface QueueFacts {
  readonly kind: QueueKind;
  /** As a person reads it in a plan. */
  readonly name: string;
  /** The chart's switch for a queue it runs itself (`<key>.enabled`); null: no such switch. */
  readonly chartKey: string | null;
  /** The chart's switch for a queue outside the release (`<key>.enabled`); null: not external. */
  readonly externalKey: string | null;
  /** The last path component of the images its own workloads run; empty: it runs none. */
  readonly images: readonly string[];
  /** For Pulsar's images, which major line this queue is (the tag, else the workload's name says). */
  readonly pulsarMajor: 2 | 3 | null;
  /** What Milvus's config (`messageQueue:`) names when the queue runs inside Milvus; null: not told so. */
  readonly configName: string | null;
  /** False when Milvus cannot be upgraded one Deployment at a time on it. */
  readonly rolling: boolean;
  /** Charts that would lose it (helm cannot render it with them); null: none known. */
  readonly unsafeCharts: UnsafeCharts | null;
}

/** Every queue; the order is the order of preference when a release seems to run several. */
export const QUEUES: readonly QueueFacts[] = [
  { kind: 'pulsar-v2', name: 'Pulsar v2', chartKey: 'pulsar', externalKey: null, images: ['pulsar', 'pulsar-all'], pulsarMajor: 2, configName: null, rolling: true, unsafeCharts: PULSAR_V2_UNSAFE_CHARTS },
  { kind: 'pulsar-v3', name: 'Pulsar v3', chartKey: 'pulsarv3', externalKey: null, images: ['pulsar', 'pulsar-all'], pulsarMajor: 3, configName: null, rolling: true, unsafeCharts: null },
  { kind: 'kafka', name: 'Kafka', chartKey: 'kafka', externalKey: null, images: ['kafka'], pulsarMajor: null, configName: null, rolling: true, unsafeCharts: null },
  { kind: 'woodpecker', name: 'Woodpecker', chartKey: 'woodpecker', externalKey: null, images: ['woodpecker'], pulsarMajor: null, configName: 'woodpecker', rolling: true, unsafeCharts: null },
  { kind: 'external-kafka', name: 'an external Kafka', chartKey: null, externalKey: 'externalKafka', images: [], pulsarMajor: null, configName: null, rolling: true, unsafeCharts: null },
  { kind: 'external-pulsar', name: 'an external Pulsar', chartKey: null, externalKey: 'externalPulsar', images: [], pulsarMajor: null, configName: null, rolling: true, unsafeCharts: null },
  { kind: 'rocksmq', name: 'RocksMQ', chartKey: null, externalKey: null, images: [], pulsarMajor: null, configName: 'rocksmq', rolling: false, unsafeCharts: null },
  { kind: 'natsmq', name: 'NATS', chartKey: null, externalKey: null, images: [], pulsarMajor: null, configName: 'natsmq', rolling: true, unsafeCharts: null },
];

const byKind = new Map(QUEUES.map((q) => [q.kind, q]));

export function queueFacts(kind: QueueKind): QueueFacts {
  return byKind.get(kind)!;
}

export function queueName(kind: QueueKind): string {
  return queueFacts(kind).name;
}

/** The queue Milvus's config names (`messageQueue:`), when that alone tells it; else null. */
export function queueOfConfig(configName: string | null): QueueFacts | null {
  return QUEUES.find((q) => q.configName !== null && q.configName === configName) ?? null;
}

/** The charts a plan must pass over for a release on `queue`; null: none. */
export function unsafeChartsFor(queue: QueueKind | null): UnsafeCharts | null {
  return queue === null ? null : queueFacts(queue).unsafeCharts;
}

/** Which queue a workload's image runs, if any: the tag (else the workload's name) tells Pulsar's lines apart. */
function queueOfImage(image: string, workload: string): QueueKind | null {
  const ref = parseImageRef(image);
  if (!ref) return null;
  const name = ref.repository.split('/').pop() ?? '';
  const major = /^v?(\d+)\./.exec(ref.tag ?? '')?.[1];
  const pulsarMajor = major !== undefined && Number(major) >= 3 ? 3 : /pulsarv3/.test(workload) ? 3 : 2;
  return QUEUES.find((q) => q.images.includes(name) && (q.pulsarMajor === null || q.pulsarMajor === pulsarMajor))?.kind ?? null;
}

/** The queues one workload's images run (StatefulSets and Deployments of the subcharts). */
function queuesOf(o: KubeObject): Set<QueueKind> {
  const found = new Set<QueueKind>();
  if (o.kind !== 'StatefulSet' && o.kind !== 'Deployment') return found;
  for (const { image } of imagesOf(o)) {
    const q = queueOfImage(image, o.metadata.name);
    if (q) found.add(q);
  }
  return found;
}

const preferred = (found: ReadonlySet<QueueKind>): QueueKind | null => QUEUES.find((q) => found.has(q.kind))?.kind ?? null;

/** The queue the release's own workloads run, or null when none. */
export function queueOfObjects(objects: readonly KubeObject[]): QueueKind | null {
  return preferred(new Set(objects.flatMap((o) => [...queuesOf(o)])));
}

/** Every queue the objects run (each workload counted for the one it runs), for telling "switches" from "keeps". */
export function queuesOfObjects(objects: readonly KubeObject[]): QueueKind[] {
  const each = new Set(objects.map((o) => preferred(queuesOf(o))));
  return QUEUES.filter((q) => each.has(q.kind)).map((q) => q.kind);
}

/**
 * The queue in use: the release's own queue workloads when it has some; else what Milvus's
 * config names, an external one when the values say so.
 */
export function queueInUse(input: {
  readonly live: readonly KubeObject[];
  readonly configQueue: string | null;
  readonly computedValues: Readonly<Record<string, unknown>>;
}): QueueKind | null {
  const own = queueOfObjects(input.live);
  if (own) return own;
  const external = QUEUES.find((q) => q.externalKey !== null && enabled(input.computedValues, q.externalKey));
  if (external) return external.kind;
  return queueOfConfig(input.configQueue)?.kind ?? null;
}

function valueAt(values: Readonly<Record<string, unknown>>, key: string): unknown {
  const v = values[key];
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>).enabled : undefined;
}

function enabled(values: Readonly<Record<string, unknown>>, key: string): boolean {
  return valueAt(values, key) === true;
}

/**
 * `--set` flags that make the upgraded release run the same queue: for each queue switch the
 * target chart has, the value helm would end with (what the person set, else the target
 * chart's default) must say whether that queue is the one in use.
 */
export function queueKeepingFlags(
  queue: QueueKind | null,
  userValues: Readonly<Record<string, unknown>>,
  targetDefaults: Readonly<Record<string, unknown>>,
): Record<string, string> {
  if (queue === null) return {};
  const flags: Record<string, string> = {};
  for (const q of QUEUES) {
    if (q.chartKey === null) continue;
    const defaultValue = valueAt(targetDefaults, q.chartKey);
    if (typeof defaultValue !== 'boolean') continue; // the target chart has no such switch
    const userValue = valueAt(userValues, q.chartKey);
    const result = typeof userValue === 'boolean' ? userValue : defaultValue;
    const wanted = q.kind === queue;
    if (result !== wanted) flags[`${q.chartKey}.enabled`] = String(wanted);
  }
  return flags;
}

/** Every `--set` key queueKeepingFlags may write: the chart switch of each queue it runs itself. */
export function queueSwitchKeys(): string[] {
  return QUEUES.flatMap((q) => (q.chartKey === null ? [] : [`${q.chartKey}.enabled`]));
}
