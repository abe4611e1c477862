/**
 * Which message queue a release uses, and the `--set` flags that keep it through an upgrade.
 * The chart has moved its queues around (SPEC §9): Pulsar v2 under `pulsar` (default on until
 * 4.2.26), Pulsar v3 under `pulsarv3` (default on from 4.2.27), kafka, woodpecker (2.6). With
 * `--reset-then-reuse-values`, a value the person never set takes the NEW chart's default, so a
 * default Pulsar v2 release would silently get an empty Pulsar v3 instead.
 */
import { imagesOf, type KubeObject } from '../objects.js';
import { parseImageRef } from './image-ref.js';

export type QueueKind = 'pulsar-v2' | 'pulsar-v3' | 'kafka' | 'woodpecker' | 'rocksmq' | 'natsmq' | 'external-pulsar' | 'external-kafka';

export const QUEUE_NAMES: Readonly<Record<QueueKind, string>> = {
  'pulsar-v2': 'Pulsar v2',
  'pulsar-v3': 'Pulsar v3',
  kafka: 'Kafka',
  woodpecker: 'Woodpecker',
  rocksmq: 'RocksMQ',
  natsmq: 'NATS',
  'external-pulsar': 'an external Pulsar',
  'external-kafka': 'an external Kafka',
};

/** The chart's switches for the queues it can run itself, and which queue each one runs. */
const QUEUE_SWITCHES: readonly { readonly key: string; readonly queue: QueueKind }[] = [
  { key: 'pulsar', queue: 'pulsar-v2' },
  { key: 'pulsarv3', queue: 'pulsar-v3' },
  { key: 'kafka', queue: 'kafka' },
  { key: 'woodpecker', queue: 'woodpecker' },
];

/** The queue the release's own workloads run (StatefulSets of the subcharts), or null when none. */
export function queueOfObjects(objects: readonly KubeObject[]): QueueKind | null {
  const found = new Set<QueueKind>();
  for (const o of objects) {
    if (o.kind !== 'StatefulSet' && o.kind !== 'Deployment') continue;
    for (const { image } of imagesOf(o)) {
      const ref = parseImageRef(image);
      if (!ref) continue;
      const name = ref.repository.split('/').pop() ?? '';
      if (name === 'pulsar' || name === 'pulsar-all') {
        const major = /^v?(\d+)\./.exec(ref.tag ?? '')?.[1];
        found.add(major !== undefined && Number(major) >= 3 ? 'pulsar-v3' : /pulsarv3/.test(o.metadata.name) ? 'pulsar-v3' : 'pulsar-v2');
      } else if (name === 'kafka') found.add('kafka');
      else if (name === 'woodpecker') found.add('woodpecker');
    }
  }
  for (const q of ['pulsar-v2', 'pulsar-v3', 'kafka', 'woodpecker'] as const) if (found.has(q)) return q;
  return null;
}

/** Every queue the objects run, for telling "switches" from "keeps". */
export function queuesOfObjects(objects: readonly KubeObject[]): QueueKind[] {
  return (['pulsar-v2', 'pulsar-v3', 'kafka', 'woodpecker'] as const).filter((q) =>
    objects.some((o) => queueOfObjects([o]) === q),
  );
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
  if (enabled(input.computedValues, 'externalKafka')) return 'external-kafka';
  if (enabled(input.computedValues, 'externalPulsar')) return 'external-pulsar';
  switch (input.configQueue) {
    case 'rocksmq':
      return 'rocksmq';
    case 'natsmq':
      return 'natsmq';
    case 'woodpecker':
      return 'woodpecker';
    default:
      return null;
  }
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
  for (const s of QUEUE_SWITCHES) {
    const defaultValue = valueAt(targetDefaults, s.key);
    if (typeof defaultValue !== 'boolean') continue; // the target chart has no such switch
    const userValue = valueAt(userValues, s.key);
    const result = typeof userValue === 'boolean' ? userValue : defaultValue;
    const wanted = s.queue === queue;
    if (result !== wanted) flags[`${s.key}.enabled`] = String(wanted);
  }
  return flags;
}
