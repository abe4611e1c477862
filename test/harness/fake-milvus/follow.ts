/**
 * Makes the fake Milvus behave as the release it stands for (test harness only): watches the
 * release's pods (label app.kubernetes.io/instance=<release>, with a `component` label) and its
 * knob ConfigMap `<release>-fake-milvus` on a real Kubernetes API, and sets the fake's
 * `model.release` from them by the rules of release-rules.ts. A thin layer: it reads and applies,
 * the rules decide.
 *
 * Each watch event (or a gap in the watch: start, reopen, error) asks for one fresh read of the
 * pods and the ConfigMap; reads run one at a time and events during a read coalesce into the next
 * one, so the fake always ends on what the API says last. A slow resync covers a watch that
 * stalls without ending. Helm never touches the knob ConfigMap: a test creates, annotates and
 * deletes it (KNOB_ANNOTATIONS).
 */
import * as k8s from '@kubernetes/client-node';
import type { FakeMilvus } from '../fake-milvus.js';
import { behaviourOf, knobsFrom, type PodView, type ReleaseBehaviour, type ReleaseKnobs } from './release-rules.js';

export interface FollowOptions {
  readonly kubeconfig: string;
  readonly namespace: string;
  readonly release: string;
  /** Reads again this often even without an event (a stalled watch); default 2 s. */
  readonly resyncMs?: number;
}

export interface Following {
  /** What the last read derived (the fake's `model.release`). */
  readonly behaviour: ReleaseBehaviour;
  /** Reads the pods and the ConfigMap now and applies them; resolves with what it derived. */
  refresh(): Promise<ReleaseBehaviour>;
  /** Stops watching; the fake goes back to its own model. */
  stop(): void;
}

export const knobConfigMapName = (release: string) => `${release}-fake-milvus`;

function podView(p: k8s.V1Pod): PodView | null {
  const labels = p.metadata?.labels ?? {};
  const component = labels.component ?? labels['app.kubernetes.io/component'];
  if (!component) return null;
  const containers = p.spec?.containers ?? [];
  // Milvus names the container after the component; a sidecar's image is not the version.
  const container = containers.find((c) => c.name === component) ?? containers[0];
  return {
    name: p.metadata?.name ?? '',
    component,
    image: container?.image ?? '',
    ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    terminating: Boolean(p.metadata?.deletionTimestamp),
  };
}

export async function followRelease(fake: FakeMilvus, o: FollowOptions): Promise<Following> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(o.kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const watch = new k8s.Watch(kc);
  const selector = `app.kubernetes.io/instance=${o.release},component`;
  const cmName = knobConfigMapName(o.release);
  let stopped = false;

  const read = async (): Promise<ReleaseBehaviour> => {
    const pods = await core.listNamespacedPod({ namespace: o.namespace, labelSelector: selector });
    let knobs: ReleaseKnobs = {};
    try {
      const cm = await core.readNamespacedConfigMap({ namespace: o.namespace, name: cmName });
      knobs = knobsFrom(cm.metadata?.annotations);
    } catch (err) {
      // No ConfigMap: no knobs. Any other failure is a failed read (the last behaviour stays).
      if ((err as { code?: number }).code !== 404) throw err;
    }
    const views = pods.items.map(podView).filter((v): v is PodView => v !== null);
    const behaviour = behaviourOf(views, knobs);
    if (!stopped) fake.model.release = behaviour;
    return behaviour;
  };

  // One read at a time. An ask during a read is served by one read after it, shared by every
  // ask meanwhile: the answer is never older than the ask.
  let current: Promise<ReleaseBehaviour> | null = null;
  let next: Promise<ReleaseBehaviour> | null = null;
  const start = (): Promise<ReleaseBehaviour> => (current = read().finally(() => (current = null)));
  const refresh = (): Promise<ReleaseBehaviour> => {
    if (next) return next;
    if (!current) return start();
    next = current.catch(() => undefined).then(() => {
      next = null;
      return start();
    });
    return next;
  };
  const poke = () => void (stopped ? undefined : refresh().catch(() => undefined));

  const controllers = new Set<AbortController>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (fn: () => void, ms: number) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const open = (path: string, query: Record<string, string>) => {
    if (stopped) return;
    let controller: AbortController | null = null;
    const reopen = () => {
      if (controller) controllers.delete(controller);
      poke();
      if (!stopped) later(() => open(path, query), 500);
    };
    watch.watch(path, query, () => poke(), reopen).then(
      (c) => {
        controller = c;
        if (stopped) c.abort();
        // A watch that failed to start has called reopen already and returns an aborted controller.
        else if (!c.signal.aborted) controllers.add(c);
        // Whatever changed before the watch began is read now.
        poke();
      },
      reopen,
    );
  };

  let last = await refresh();
  const resync = setInterval(poke, o.resyncMs ?? 2_000);
  open(`/api/v1/namespaces/${o.namespace}/pods`, { labelSelector: selector });
  open(`/api/v1/namespaces/${o.namespace}/configmaps`, { fieldSelector: `metadata.name=${cmName}` });

  return {
    get behaviour() {
      last = fake.model.release ?? last;
      return last;
    },
    refresh,
    stop() {
      stopped = true;
      clearInterval(resync);
      for (const t of timers) clearTimeout(t);
      for (const c of controllers) c.abort();
      fake.model.release = null;
    },
  };
}
