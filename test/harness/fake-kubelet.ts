/**
 * Fake kubelet for the end-to-end tests: plays ONE node against a real kube-apiserver on which
 * no kubelet and no scheduler run. No container ever runs; only the API objects are driven.
 *
 * - Creates the Node (default `fake-node`) and keeps its status Ready (re-asserted every ~10 s).
 * - Binds every Pending pod without spec.nodeName to the node (POST Binding; there is no scheduler).
 * - After a delay, patches the pod's `status` subresource like a kubelet would: Running and Ready,
 *   or a terminal phase for one-shot pods (restartPolicy Never / OnFailure).
 * - Finishes graceful deletion after a scaled-down grace time (deletionGracePeriodSeconds x
 *   graceMsPer30s / 30: with the default 3000 ms, a 30 s pod takes 3 s, a 90 s one 9 s, a 1 s
 *   one 100 ms), then deletes the pod with gracePeriodSeconds 0 (the kubelet's job). Ten times
 *   faster than real at most: a shorter stop hid that the bot went on while old pods, which
 *   Deployment status no longer counts, still served (issue 24).
 * - Readiness honours the readiness probe's initialDelaySeconds, scaled by probeMsPerSecond
 *   (default 5 ms per second: the real chart's 90 s -> 450 ms): the pod is first reported
 *   Running and not ready, then Ready.
 * - Plays the scheduler's volume check: a pod with a persistentVolumeClaim volume is bound to the
 *   node only when every claim is Bound; until then it stays Pending (condition PodScheduled=False,
 *   reason Unschedulable), as with a real scheduler.
 * - Storage: creates the default StorageClass `standard` (provisioner FAKE_PROVISIONER) and runs a
 *   tiny external provisioner: every Pending claim of that class gets a hostPath PV (claimRef set);
 *   kube-controller-manager's PV binder then binds the two. Released PVs of ours are deleted
 *   (reclaimPolicy Delete). A claim of another class stays Pending (its pods too).
 *
 * Test knobs (see FAKE_KUBELET_KNOBS):
 * - image tag contains `never-ready`   -> container running but never ready (a rollout hangs);
 * - image tag contains `crashloop`     -> container waiting in CrashLoopBackOff (not ready);
 * - image tag contains `pull-error` or `missing` -> the image "does not exist": the pod stays
 *   Pending, container waiting in ImagePullBackOff;
 * - one-shot pod (restartPolicy Never/OnFailure): phase Succeeded (exit code 0) after the delay,
 *   or Failed (exit code 1) when an image tag contains `fail` or the pod has the annotation
 *   `fake-kubelet/fail: "true"`;
 * - annotation `fake-kubelet/never-ready: "true"` -> like the `never-ready` tag;
 * - annotation `fake-kubelet/start-delay-ms: "<n>"` -> per-pod delay instead of startDelayMs;
 * - annotation `fake-kubelet/crashloop-on: "<tag>"` -> a container on exactly that image tag
 *   crash-loops (so only the version an upgrade brings breaks);
 * - annotation `fake-kubelet/restarts: "<n>"` -> ready, but restarted n times, the last when the
 *   status was written (a rollout check passes; a health gate must not);
 * - annotation `fake-kubelet/logs: "<text>"` -> what `kubectl logs` returns for the pod's containers
 *   (otherwise a short generated text; see serveLogs).
 * Annotations set on a Deployment's pod template reach its pods.
 *
 * Milvus facts it plays (SPEC §9):
 * - a 2.6 streamingnode pod (label component=streamingnode, image tag v2.6 or newer) becomes Ready
 *   only once a Ready 2.6 mixcoord pod of the same release (app.kubernetes.io/instance) runs in
 *   its namespace (zilliztech/milvus-operator#446); until then it runs, not ready. Once Ready it
 *   stays so.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CoreV1Api,
  KubeConfig,
  StorageV1Api,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type V1Container,
  type V1ContainerStatus,
  type V1Node,
  type V1Pod,
  type V1PodCondition,
} from '@kubernetes/client-node';

export const FAKE_KUBELET_KNOBS = Object.freeze({
  /** Image-tag substring: container runs but never becomes ready. */
  neverReadyTag: 'never-ready',
  /** Image-tag substring: container keeps crashing (CrashLoopBackOff). */
  crashLoopTag: 'crashloop',
  /** Image-tag substring: image cannot be pulled (pod stays Pending, ImagePullBackOff). */
  pullErrorTag: 'pull-error',
  /** Image-tag substring, same effect as pullErrorTag: the image is missing from the registry. */
  missingImageTag: 'missing',
  /** Image-tag substring: a one-shot pod fails (exit code 1). */
  failTag: 'fail',
  /** Annotation: "true" makes a one-shot pod fail (a long-running pod crash-loops). */
  failAnnotation: 'fake-kubelet/fail',
  /** Annotation: "true" keeps the pod not ready. */
  neverReadyAnnotation: 'fake-kubelet/never-ready',
  /** Annotation: per-pod start delay in milliseconds. */
  startDelayAnnotation: 'fake-kubelet/start-delay-ms',
  /** Annotation: an image tag; a container on exactly that tag crash-loops (a version that breaks). */
  crashLoopOnAnnotation: 'fake-kubelet/crashloop-on',
  /** Annotation: "<n>": the container is ready but has restarted n times, the last just now. */
  restartsAnnotation: 'fake-kubelet/restarts',
});

export interface FakeKubeletOptions {
  kubeconfigPath: string;
  /** Node name; default `fake-node`. */
  nodeName?: string;
  /** Delay between binding a pod and reporting it started (or finished); default 200 ms. */
  startDelayMs?: number;
  /** Receives one human-readable line per event. */
  log?: (msg: string) => void;
  /** Node heartbeat period; default 10 000 ms. */
  heartbeatMs?: number;
  /** Server-side timeout of each pod watch (the watch is then re-established); default 240 s. */
  watchTimeoutSeconds?: number;
  /** At most this many API requests in flight; default 8. */
  concurrency?: number;
  /**
   * Serve container logs (`kubectl logs`) through a tiny HTTPS endpoint on 127.0.0.1, with a
   * self-signed certificate made by `openssl` (default true; skipped with a log line when
   * openssl is missing). The apiserver does not verify kubelet certificates unless started with
   * --kubelet-certificate-authority.
   */
  serveLogs?: boolean;
  /** openssl binary for serveLogs; default `openssl` on PATH. */
  opensslBin?: string;
  /**
   * Grace time of a pod with terminationGracePeriodSeconds 30, in ms; other grace periods scale
   * linearly. Default: env FAKE_KUBELET_GRACE_MS, else 3000 (real time / 10).
   */
  graceMsPer30s?: number;
  /**
   * Milliseconds of delay per second of readinessProbe.initialDelaySeconds. Default: env
   * FAKE_KUBELET_PROBE_MS_PER_S, else 5.
   */
  probeMsPerSecond?: number;
  /** Create the default StorageClass and run the provisioner (default true). */
  provisioner?: boolean;
  /** Provisioner poll period in ms; default 300. */
  provisionerPollMs?: number;
}

/** Name of the default StorageClass the fake kubelet creates. */
export const FAKE_STORAGE_CLASS = 'standard';
/** Provisioner name of that StorageClass (claims of other classes are never provisioned). */
export const FAKE_PROVISIONER = 'fake-kubelet.local/hostpath';

export interface FakeKubelet {
  readonly nodeName: string;
  /** Stops the watch, the timers and waits for requests in flight. Idempotent. */
  stop(): Promise<void>;
}

type ContainerOutcome =
  | { kind: 'ready' }
  | { kind: 'restarted'; restarts: number }
  | { kind: 'never-ready' }
  | { kind: 'crashloop' }
  | { kind: 'pull-error' }
  | { kind: 'succeeded' }
  | { kind: 'failed' };

interface PodTrack {
  uid: string;
  namespace: string;
  name: string;
  latest: V1Pod;
  bindRequested: boolean;
  deleteRequested: boolean;
  /** Key of the status that is scheduled or applied (outcome + images), to act once per state. */
  statusKey?: string;
  timer?: NodeJS.Timeout;
  retryTimer?: NodeJS.Timeout;
  deleteTimer?: NodeJS.Timeout;
  /** Set once the "unbound claims" PodScheduled=False condition is reported. */
  unschedulableReported?: boolean;
  chain: Promise<void>;
  podIP?: string;
  startedAt?: string;
}

const execFileAsync = promisify(execFile);
const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const RETRY_MS = 1_000;
/** Re-check period of a pod waiting for its claims to be Bound. */
const CLAIM_RETRY_MS = 250;

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

/** Scaled readiness delay of a pod: the largest readinessProbe.initialDelaySeconds x msPerSecond. */
/** Milliseconds of readiness delay per second of a probe's initialDelaySeconds, by default. */
export const DEFAULT_PROBE_MS_PER_SECOND = 5;

/** How long after it starts the fake kubelet reports `pod` Ready: its probes' longest initial delay, scaled. */
export function readinessDelayMs(pod: V1Pod, msPerSecond: number): number {
  let max = 0;
  for (const c of pod.spec?.containers ?? []) max = Math.max(max, c.readinessProbe?.initialDelaySeconds ?? 0);
  return Math.round(max * msPerSecond);
}

export async function startFakeKubelet(opts: FakeKubeletOptions): Promise<FakeKubelet> {
  const nodeName = opts.nodeName ?? 'fake-node';
  const defaultDelay = opts.startDelayMs ?? 200;
  const heartbeatMs = opts.heartbeatMs ?? 10_000;
  const watchTimeoutSeconds = opts.watchTimeoutSeconds ?? 240;
  const log = opts.log ?? (() => undefined);

  const kc = new KubeConfig();
  kc.loadFromFile(opts.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const storage = kc.makeApiClient(StorageV1Api);
  const graceMsPer30s = opts.graceMsPer30s ?? envNumber('FAKE_KUBELET_GRACE_MS', 3000);
  const probeMsPerSecond = opts.probeMsPerSecond ?? envNumber('FAKE_KUBELET_PROBE_MS_PER_S', DEFAULT_PROBE_MS_PER_SECOND);
  const watcher = new Watch(kc);

  let stopping = false;
  const tracks = new Map<string, PodTrack>();
  const inFlight = new Set<Promise<unknown>>();
  let watchAbort: AbortController | undefined;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let wakeLoop: (() => void) | undefined;
  let ipCounter = 0;

  // ---- bounded concurrency -------------------------------------------------------------------
  const limit = Math.max(1, opts.concurrency ?? 8);
  let active = 0;
  const waiting: Array<() => void> = [];
  async function withSlot<T>(fn: () => Promise<T>): Promise<T> {
    if (active >= limit) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  }
  function track<T>(p: Promise<T>): Promise<T> {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => undefined);
    return p;
  }

  // ---- node ----------------------------------------------------------------------------------
  // 127.0.0.1 and no Hostname address: the apiserver reaches the node's log endpoint locally,
  // and fails fast (connection refused) when it is off.
  const nodeIP = '127.0.0.1';
  let kubeletPort = 10250;
  let nodeReadySince: string | undefined;
  async function ensureNode(): Promise<void> {
    let existing: V1Node | undefined;
    try {
      existing = await core.readNode({ name: nodeName });
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
    }
    if (!existing) {
      nodeReadySince = undefined;
      const body: V1Node = {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: nodeName,
          labels: {
            'kubernetes.io/hostname': nodeName,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            'fake-kubelet': 'true',
          },
        },
      };
      try {
        existing = await core.createNode({ body });
        log(`node ${nodeName} created`);
      } catch (err) {
        if (statusCode(err) !== 409) throw err;
        existing = await core.readNode({ name: nodeName });
      }
    }
    // The apiserver's TaintNodesByCondition admission taints a new Node not-ready; with the
    // nodelifecycle controller off, nothing would ever lift it. Do what that controller does.
    const taints = existing.spec?.taints ?? [];
    const kept = taints.filter(
      (t) => t.key !== 'node.kubernetes.io/not-ready' && t.key !== 'node.kubernetes.io/unreachable',
    );
    if (kept.length !== taints.length) {
      await core.patchNode({ name: nodeName, body: { spec: { taints: kept.length > 0 ? kept : null } } }, MERGE_PATCH);
    }
    const now = new Date().toISOString();
    nodeReadySince ??= now;
    const since = nodeReadySince;
    const cond = (type: string, status: string, reason: string, message: string) => ({
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime: since,
    });
    const resources = { cpu: '64', memory: '256Gi', pods: '500', 'ephemeral-storage': '1Ti' };
    await core.patchNodeStatus(
      {
        name: nodeName,
        body: {
          status: {
            capacity: resources,
            allocatable: resources,
            conditions: [
              cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'fake kubelet has sufficient memory'),
              cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'fake kubelet has no disk pressure'),
              cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'fake kubelet has sufficient PID'),
              cond('Ready', 'True', 'KubeletReady', 'fake kubelet is posting ready status'),
            ],
            addresses: [{ type: 'InternalIP', address: nodeIP }],
            daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } },
            nodeInfo: {
              architecture: 'amd64',
              operatingSystem: 'linux',
              osImage: 'fake-kubelet',
              kernelVersion: 'fake',
              containerRuntimeVersion: 'fake://1.0.0',
              kubeletVersion: 'v1.20.2',
              kubeProxyVersion: 'v1.20.2',
              machineID: 'fake',
              systemUUID: 'fake',
              bootID: 'fake',
            },
          },
        },
      },
      MERGE_PATCH,
    );
  }

  function scheduleHeartbeat(): void {
    if (stopping) return;
    heartbeatTimer = setTimeout(() => {
      void track(
        withSlot(ensureNode).then(
          () => undefined,
          (err: unknown) => log(`node heartbeat failed: ${describe(err)}`),
        ),
      ).finally(scheduleHeartbeat);
    }, heartbeatMs);
    heartbeatTimer.unref?.();
  }

  // ---- pods ----------------------------------------------------------------------------------
  /** Runs fn serialized with other actions on the same pod, bounded by the global limit. */
  function enqueue(t: PodTrack, what: string, fn: () => Promise<void>): void {
    const next = t.chain.then(async () => {
      if (stopping) return;
      await withSlot(fn);
    });
    t.chain = next.catch((err: unknown) => log(`${what} ${t.namespace}/${t.name} failed: ${describe(err)}`));
    void track(t.chain);
  }

  function retryLater(t: PodTrack, ms = RETRY_MS): void {
    if (stopping || t.retryTimer) return;
    t.retryTimer = setTimeout(() => {
      t.retryTimer = undefined;
      if (tracks.get(t.uid) === t) reconcile(t.latest);
    }, ms);
  }

  // ---- volumes -------------------------------------------------------------------------------
  /** Claims of the pod that are not Bound (missing ones included), as "<name> (<phase>)". */
  async function unboundClaims(pod: V1Pod): Promise<string[]> {
    const namespace = pod.metadata?.namespace ?? '';
    const out: string[] = [];
    for (const v of pod.spec?.volumes ?? []) {
      const claimName = v.persistentVolumeClaim?.claimName;
      if (!claimName) continue;
      try {
        const pvc = await core.readNamespacedPersistentVolumeClaim({ name: claimName, namespace });
        if (pvc.status?.phase !== 'Bound') out.push(`${claimName} (${pvc.status?.phase ?? 'Pending'})`);
      } catch (err) {
        if (statusCode(err) !== 404) throw err;
        out.push(`${claimName} (not found)`);
      }
    }
    return out;
  }

  async function reportUnschedulable(pod: V1Pod, unbound: string[]): Promise<void> {
    const now = new Date().toISOString();
    await core.patchNamespacedPodStatus(
      {
        name: pod.metadata?.name ?? '',
        namespace: pod.metadata?.namespace ?? '',
        body: {
          status: {
            phase: 'Pending',
            conditions: [
              {
                type: 'PodScheduled',
                status: 'False',
                reason: 'Unschedulable',
                message: `0/1 nodes are available: 1 pod has unbound immediate PersistentVolumeClaims (${unbound.join(', ')}).`,
                lastProbeTime: null,
                lastTransitionTime: now,
              },
            ],
          },
        },
      },
      MERGE_PATCH,
    );
    log(`pod ${pod.metadata?.namespace}/${pod.metadata?.name} Pending: unbound claims ${unbound.join(', ')}`);
  }

  function forget(uid: string): void {
    const t = tracks.get(uid);
    if (!t) return;
    if (t.timer) clearTimeout(t.timer);
    if (t.retryTimer) clearTimeout(t.retryTimer);
    if (t.deleteTimer) clearTimeout(t.deleteTimer);
    tracks.delete(uid);
  }

  /** A 2.6 streamingnode not yet Ready while no 2.6 mixcoord of its release is (milvus-operator#446). */
  function waitsForMixcoord(pod: V1Pod): boolean {
    if (!isMilvus26(pod, 'streamingnode') || podReady(pod)) return false;
    const instance = pod.metadata?.labels?.['app.kubernetes.io/instance'];
    return ![...tracks.values()].some(
      (t) =>
        t.namespace === pod.metadata?.namespace &&
        t.latest.metadata?.labels?.['app.kubernetes.io/instance'] === instance &&
        !t.latest.metadata?.deletionTimestamp &&
        isMilvus26(t.latest, 'mixcoord') &&
        podReady(t.latest),
    );
  }

  /** A mixcoord pod changed: the streamingnode pods of its release may be free to become Ready. */
  function recheckStreamingnodes(mixcoord: V1Pod): void {
    const instance = mixcoord.metadata?.labels?.['app.kubernetes.io/instance'];
    for (const t of tracks.values()) {
      if (t.namespace === mixcoord.metadata?.namespace && t.latest.metadata?.labels?.['app.kubernetes.io/instance'] === instance && t.latest.metadata?.labels?.component === 'streamingnode') {
        reconcile(t.latest);
      }
    }
  }

  function reconcile(pod: V1Pod): void {
    if (stopping) return;
    if (pod.metadata?.labels?.component === 'mixcoord') queueMicrotask(() => recheckStreamingnodes(pod));
    const uid = pod.metadata?.uid;
    const name = pod.metadata?.name;
    const namespace = pod.metadata?.namespace;
    if (!uid || !name || !namespace) return;
    let t = tracks.get(uid);
    if (!t) {
      t = {
        uid,
        name,
        namespace,
        latest: pod,
        bindRequested: false,
        deleteRequested: false,
        chain: Promise.resolve(),
      };
      tracks.set(uid, t);
    }
    t.latest = pod;
    const tr = t;

    // 1. Graceful deletion: finish it at once, like a kubelet whose containers stopped.
    if (pod.metadata?.deletionTimestamp) {
      if (tr.timer) {
        clearTimeout(tr.timer);
        tr.timer = undefined;
      }
      if (tr.deleteRequested) return;
      tr.deleteRequested = true;
      const graceSeconds = pod.metadata.deletionGracePeriodSeconds ?? 0;
      const graceMs = Math.max(0, Math.round((graceSeconds * graceMsPer30s) / 30));
      const finishDelete = (): void => enqueue(tr, 'delete', async () => {
        try {
          await core.deleteNamespacedPod({
            name,
            namespace,
            gracePeriodSeconds: 0,
            body: { gracePeriodSeconds: 0, preconditions: { uid } },
          });
          log(`pod ${namespace}/${name} deleted (grace period 0)`);
        } catch (err) {
          const code = statusCode(err);
          if (code === 404 || code === 409) return; // gone already, or a new pod with that name
          tr.deleteRequested = false;
          retryLater(tr);
          throw err;
        }
      });
      if (graceMs === 0 || !pod.spec?.nodeName) {
        finishDelete();
      } else {
        tr.deleteTimer = setTimeout(() => {
          tr.deleteTimer = undefined;
          if (!stopping && tracks.get(uid) === tr) finishDelete();
        }, graceMs);
      }
      return;
    }

    // 2. No node yet: bind it to ours (there is no scheduler).
    if (!pod.spec?.nodeName) {
      if (tr.bindRequested) return;
      tr.bindRequested = true;
      enqueue(tr, 'bind', async () => {
        const unbound = await unboundClaims(pod);
        if (unbound.length > 0) {
          tr.bindRequested = false;
          if (!tr.unschedulableReported) {
            tr.unschedulableReported = true;
            await reportUnschedulable(pod, unbound).catch((err: unknown) => {
              tr.unschedulableReported = false;
              log(`pod ${namespace}/${name} condition failed: ${describe(err)}`);
            });
          }
          retryLater(tr, CLAIM_RETRY_MS);
          return;
        }
        try {
          await core.createNamespacedBinding({
            namespace,
            body: {
              apiVersion: 'v1',
              kind: 'Binding',
              metadata: { name, namespace, uid },
              target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
            },
          });
          log(`pod ${namespace}/${name} bound to ${nodeName}`);
        } catch (err) {
          const code = statusCode(err);
          if (code === 404) return; // deleted meanwhile
          if (code === 409) return; // already bound; the watch brings the bound pod
          tr.bindRequested = false;
          retryLater(tr);
          throw err;
        }
      });
      return;
    }

    // 3. Bound elsewhere: not our business. Terminal: nothing left to do.
    if (pod.spec.nodeName !== nodeName) return;
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;

    const containers = pod.spec.containers ?? [];
    const waiting = waitsForMixcoord(pod);
    const outcomes = containers.map((c): ContainerOutcome => {
      const o = outcomeOf(pod, c);
      return waiting && servesReady(o) ? { kind: 'never-ready' } : o;
    });
    const statusKey = JSON.stringify(containers.map((c, i) => [c.name, c.image, outcomes[i]?.kind]));
    if (tr.statusKey === statusKey) return;
    if (tr.statusKey === undefined && alreadyReported(pod)) {
      // Reported by an earlier run of the fake kubelet (or by us, seen again after a relist).
      tr.statusKey = statusKey;
      return;
    }
    tr.statusKey = statusKey;
    if (tr.timer) clearTimeout(tr.timer);
    const delay = delayOf(pod, defaultDelay);
    tr.timer = setTimeout(() => {
      tr.timer = undefined;
      if (stopping || tracks.get(uid) !== tr || tr.latest.metadata?.deletionTimestamp) return;
      const probeDelay = readinessDelayMs(tr.latest, probeMsPerSecond);
      const gated = probeDelay > 0 && outcomes.some((o) => servesReady(o));
      // Before the probe's initial delay, a container that will be ready reports running, not ready.
      const first = gated ? outcomes.map((o) => (servesReady(o) ? ({ kind: 'never-ready' } as const) : o)) : outcomes;
      const patchStatus = (what: ContainerOutcome[], then?: () => void): void => enqueue(tr, 'status', async () => {
        if (tr.statusKey !== statusKey) return; // superseded meanwhile
        const body = buildStatus(tr, tr.latest, what);
        try {
          await core.patchNamespacedPodStatus({ name, namespace, body: { status: body.status } }, MERGE_PATCH);
          log(`pod ${namespace}/${name} ${body.summary}`);
        } catch (err) {
          const code = statusCode(err);
          if (code === 404) return; // deleted meanwhile
          if (tr.statusKey === statusKey) tr.statusKey = undefined;
          retryLater(tr);
          throw err;
        }
        then?.();
      });
      patchStatus(first, gated ? () => {
        tr.timer = setTimeout(() => {
          tr.timer = undefined;
          if (stopping || tracks.get(uid) !== tr || tr.latest.metadata?.deletionTimestamp) return;
          patchStatus(outcomes);
        }, probeDelay);
      } : undefined);
    }, delay);
  }

  // Loopback only: whatever a test might dial stays on this machine. kube-apiserver refuses
  // loopback addresses in Endpoints, so Services get none; nothing here dials a Service.
  function nextPodIP(): string {
    ipCounter++;
    return `127.244.${Math.floor(ipCounter / 250) % 250}.${(ipCounter % 250) + 2}`;
  }

  function buildStatus(
    tr: PodTrack,
    pod: V1Pod,
    outcomes: ContainerOutcome[],
  ): { status: Record<string, unknown>; summary: string } {
    const now = new Date().toISOString();
    tr.startedAt ??= now;
    tr.podIP ??= nextPodIP();
    const oneShot = isOneShot(pod);
    const containers = pod.spec?.containers ?? [];

    const containerStatuses: V1ContainerStatusJson[] = containers.map((c, i) =>
      containerStatus(c, outcomes[i] ?? { kind: 'ready' }, tr.startedAt ?? now, now),
    );
    const initContainerStatuses: V1ContainerStatusJson[] = (pod.spec?.initContainers ?? []).map((c) => ({
      name: c.name,
      image: c.image ?? '',
      imageID: imageID(c.image),
      containerID: containerID(),
      ready: true,
      restartCount: 0,
      state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: tr.startedAt, finishedAt: tr.startedAt } },
    }));

    let phase: string;
    if (outcomes.some((o) => o.kind === 'pull-error')) {
      phase = 'Pending';
    } else if (oneShot) {
      phase = outcomes.some((o) => o.kind === 'failed') ? 'Failed' : 'Succeeded';
    } else {
      phase = 'Running';
    }
    const terminal = phase === 'Succeeded' || phase === 'Failed';
    const allReady = !terminal && outcomes.every((o) => servesReady(o));
    const unready = containers.filter((_, i) => !outcomes[i] || !servesReady(outcomes[i])).map((c) => c.name);
    const readyCond = (type: string): V1PodConditionJson =>
      allReady
        ? { type, status: 'True', lastProbeTime: null, lastTransitionTime: now }
        : terminal
          ? { type, status: 'False', reason: 'PodCompleted', lastProbeTime: null, lastTransitionTime: now }
          : {
              type,
              status: 'False',
              reason: 'ContainersNotReady',
              message: `containers with unready status: [${unready.join(' ')}]`,
              lastProbeTime: null,
              lastTransitionTime: now,
            };
    const conditions: V1PodConditionJson[] = [
      { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: tr.startedAt },
      readyCond('Ready'),
      readyCond('ContainersReady'),
      { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: tr.startedAt },
    ];
    const status: Record<string, unknown> = {
      phase,
      conditions,
      hostIP: nodeIP,
      podIP: tr.podIP,
      podIPs: [{ ip: tr.podIP }],
      startTime: tr.startedAt,
      containerStatuses,
    };
    if (initContainerStatuses.length > 0) status.initContainerStatuses = initContainerStatuses;
    const kinds = [...new Set(outcomes.map((o) => o.kind))].join(',');
    return { status, summary: `${phase}${allReady ? ' ready' : ''} (${kinds || 'no containers'})` };
  }

  // ---- storage: default StorageClass + provisioner ---------------------------------------------
  let provisionTimer: NodeJS.Timeout | undefined;
  const provisionerPollMs = opts.provisionerPollMs ?? 300;

  async function ensureStorageClass(): Promise<void> {
    try {
      await storage.readStorageClass({ name: FAKE_STORAGE_CLASS });
      return;
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
    }
    try {
      await storage.createStorageClass({
        body: {
          apiVersion: 'storage.k8s.io/v1',
          kind: 'StorageClass',
          metadata: { name: FAKE_STORAGE_CLASS, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
          provisioner: FAKE_PROVISIONER,
          reclaimPolicy: 'Delete',
          volumeBindingMode: 'Immediate',
        },
      });
      log(`storage class ${FAKE_STORAGE_CLASS} created (default, provisioner ${FAKE_PROVISIONER})`);
    } catch (err) {
      if (statusCode(err) !== 409) throw err;
    }
  }

  /** One provisioner pass: a PV for every Pending claim of our class; released PVs of ours deleted. */
  async function provisionOnce(): Promise<void> {
    const [claims, volumes] = await Promise.all([
      withSlot(() => core.listPersistentVolumeClaimForAllNamespaces({})),
      withSlot(() => core.listPersistentVolume({})),
    ]);
    const claimed = new Set(volumes.items.map((pv) => pv.spec?.claimRef?.uid).filter(Boolean));
    for (const pvc of claims.items) {
      const uid = pvc.metadata?.uid;
      if (!uid || pvc.metadata?.deletionTimestamp || pvc.status?.phase !== 'Pending' || pvc.spec?.volumeName) continue;
      if ((pvc.spec?.storageClassName ?? '') !== FAKE_STORAGE_CLASS || claimed.has(uid)) continue;
      const pvName = `pvc-${uid}`;
      try {
        await withSlot(() =>
          core.createPersistentVolume({
            body: {
              apiVersion: 'v1',
              kind: 'PersistentVolume',
              metadata: { name: pvName, annotations: { 'pv.kubernetes.io/provisioned-by': FAKE_PROVISIONER } },
              spec: {
                capacity: { storage: pvc.spec?.resources?.requests?.storage ?? '1Gi' },
                accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
                persistentVolumeReclaimPolicy: 'Delete',
                storageClassName: FAKE_STORAGE_CLASS,
                volumeMode: pvc.spec?.volumeMode ?? 'Filesystem',
                hostPath: { path: `/var/lib/fake-kubelet/volumes/${pvName}` },
                claimRef: {
                  apiVersion: 'v1',
                  kind: 'PersistentVolumeClaim',
                  namespace: pvc.metadata?.namespace,
                  name: pvc.metadata?.name,
                  uid,
                },
              },
            },
          }),
        );
        log(`volume ${pvName} provisioned for ${pvc.metadata?.namespace}/${pvc.metadata?.name}`);
      } catch (err) {
        if (statusCode(err) !== 409) throw err;
      }
    }
    for (const pv of volumes.items) {
      const ours = pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by'] === FAKE_PROVISIONER;
      if (!ours || pv.metadata?.deletionTimestamp) continue;
      if (pv.status?.phase === 'Released' && pv.spec?.persistentVolumeReclaimPolicy === 'Delete') {
        try {
          await withSlot(() => core.deletePersistentVolume({ name: pv.metadata?.name ?? '' }));
          log(`volume ${pv.metadata?.name} deleted (released)`);
        } catch (err) {
          if (statusCode(err) !== 404) throw err;
        }
      }
    }
  }

  function scheduleProvisioner(): void {
    if (stopping) return;
    provisionTimer = setTimeout(() => {
      void track(
        provisionOnce().then(
          () => undefined,
          (err: unknown) => log(`provisioner pass failed: ${describe(err)}`),
        ),
      ).finally(scheduleProvisioner);
    }, provisionerPollMs);
    provisionTimer.unref?.();
  }

  // ---- list + watch loop ---------------------------------------------------------------------
  async function listAll(): Promise<string> {
    const list = await withSlot(() => core.listPodForAllNamespaces({}));
    const seen = new Set<string>();
    for (const pod of list.items) {
      const uid = pod.metadata?.uid;
      if (uid) seen.add(uid);
      reconcile(pod);
    }
    for (const uid of [...tracks.keys()]) if (!seen.has(uid)) forget(uid);
    return list.metadata?.resourceVersion ?? '';
  }

  function watchOnce(resourceVersion: string): Promise<{ rv: string; relist: boolean; err?: unknown }> {
    return new Promise((resolveWatch) => {
      let rv = resourceVersion;
      let relist = false;
      let settled = false;
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        resolveWatch({ rv, relist: relist || err !== undefined, err });
      };
      watcher
        .watch(
          '/api/v1/pods',
          { resourceVersion, allowWatchBookmarks: true, timeoutSeconds: watchTimeoutSeconds },
          (type: string, obj: unknown) => {
            if (stopping) return;
            const o = obj as { metadata?: { resourceVersion?: string }; code?: number; message?: string };
            if (type === 'ERROR') {
              log(`watch error event: ${o.code ?? ''} ${o.message ?? ''}`.trim());
              relist = true;
              watchAbort?.abort();
              return;
            }
            if (o.metadata?.resourceVersion) rv = o.metadata.resourceVersion;
            if (type === 'BOOKMARK') return;
            const pod = obj as V1Pod;
            if (type === 'DELETED') {
              if (pod.metadata?.uid) forget(pod.metadata.uid);
              return;
            }
            reconcile(pod);
          },
          (err: unknown) => finish(err ?? undefined),
        )
        .then(
          (controller) => {
            watchAbort = controller;
            if (stopping || settled) controller.abort();
          },
          (err: unknown) => finish(err ?? new Error('watch failed')),
        );
    });
  }

  /** Watches from rv; relists (and reconciles everything again) whenever the watch history is lost. */
  async function loop(startRv: string): Promise<void> {
    let rv = startRv;
    let needList = false;
    let failures = 0;
    while (!stopping) {
      try {
        if (needList) {
          rv = await listAll();
          needList = false;
        }
        const res = await watchOnce(rv);
        if (stopping) break;
        rv = res.rv;
        if (res.relist) {
          // An ERROR event (e.g. 410 Gone) or a broken connection: events may be lost.
          needList = true;
          if (res.err !== undefined) log(`watch ended: ${describe(res.err)}; relisting`);
          failures++;
        } else {
          failures = 0; // the apiserver closed the watch normally: continue from rv
          log(`watch closed by the server; resuming from resourceVersion ${rv}`);
        }
      } catch (err) {
        if (stopping) break;
        log(`list failed: ${describe(err)}`);
        needList = true;
        failures++;
      }
      if (failures > 0 && !stopping) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, Math.min(5_000, 100 * 2 ** Math.min(failures, 6)));
          wakeLoop = () => {
            clearTimeout(t);
            r();
          };
        });
        wakeLoop = undefined;
      }
    }
  }

  // ---- start ---------------------------------------------------------------------------------
  let logServer: LogServer | undefined;
  if (opts.serveLogs ?? true) {
    try {
      logServer = await startLogServer(opts.opensslBin ?? 'openssl', nodeName, (ns, name) => {
        for (const t of tracks.values()) if (t.namespace === ns && t.name === name) return t.latest;
        return undefined;
      });
      kubeletPort = logServer.port;
    } catch (err) {
      log(`log endpoint disabled: ${describe(err)}`);
    }
  }
  let firstRv: string;
  try {
    await retryStartup(ensureNode, log);
    log(`node ${nodeName} ready`);
    scheduleHeartbeat();
    if (opts.provisioner ?? true) {
      await retryStartup(ensureStorageClass, log);
      scheduleProvisioner();
    }
    firstRv = await retryStartup(listAll, log);
  } catch (err) {
    stopping = true;
    if (heartbeatTimer) clearTimeout(heartbeatTimer);
    if (provisionTimer) clearTimeout(provisionTimer);
    for (const uid of [...tracks.keys()]) forget(uid);
    await logServer?.close();
    throw err;
  }
  const loopDone = loop(firstRv).catch((err: unknown) => log(`watch loop crashed: ${describe(err)}`));

  let stopped: Promise<void> | undefined;
  return {
    nodeName,
    stop(): Promise<void> {
      stopped ??= (async () => {
        stopping = true;
        if (heartbeatTimer) clearTimeout(heartbeatTimer);
        if (provisionTimer) clearTimeout(provisionTimer);
        watchAbort?.abort();
        wakeLoop?.();
        for (const uid of [...tracks.keys()]) forget(uid);
        while (waiting.length > 0) waiting.shift()?.();
        await logServer?.close();
        await Promise.race([
          Promise.allSettled([loopDone, ...inFlight]),
          new Promise((r) => setTimeout(r, 5_000).unref()),
        ]);
        log('stopped');
      })();
      return stopped;
    },
  };
}

// ---- log endpoint ----------------------------------------------------------------------------

interface LogServer {
  port: number;
  close(): Promise<void>;
}

/** Annotation: exact text served as the logs of every container of the pod. */
export const FAKE_KUBELET_LOGS_ANNOTATION = 'fake-kubelet/logs';

async function startLogServer(
  opensslBin: string,
  nodeName: string,
  findPod: (namespace: string, name: string) => V1Pod | undefined,
): Promise<LogServer> {
  const dir = await mkdtemp(join(tmpdir(), 'fake-kubelet-tls-'));
  let key: string;
  let cert: string;
  try {
    await execFileAsync(
      opensslBin,
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-days', '2', '-subj', `/CN=${nodeName}`,
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      ],
      { timeout: 20_000 },
    );
    key = await readFile(join(dir, 'key.pem'), 'utf8');
    cert = await readFile(join(dir, 'cert.pem'), 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const server = createHttpsServer({ key, cert }, (req, res) => {
    // GET /containerLogs/<namespace>/<pod>/<container>?follow=..&tailLines=..
    const url = new URL(req.url ?? '/', 'https://localhost');
    const parts = url.pathname.split('/').filter(Boolean).map((p) => decodeURIComponent(p));
    if (req.method !== 'GET' || parts[0] !== 'containerLogs' || parts.length !== 4) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    const [, namespace = '', name = '', container = ''] = parts;
    const pod = findPod(namespace, name);
    const c = pod?.spec?.containers?.find((x) => x.name === container);
    if (!pod || !c) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`container ${container} of ${namespace}/${name} not found\n`);
      return;
    }
    let text = annotation(pod, FAKE_KUBELET_LOGS_ANNOTATION) ?? defaultLogs(pod, c);
    if (text !== '' && !text.endsWith('\n')) text += '\n';
    const tailParam = url.searchParams.get('tailLines');
    const tail = tailParam === null ? NaN : Number(tailParam);
    if (Number.isInteger(tail) && tail >= 0) {
      const lines = text.split('\n').slice(0, -1);
      text = lines.slice(Math.max(0, lines.length - tail)).map((l) => `${l}\n`).join('');
    }
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end(text);
  });
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(0, '127.0.0.1', () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      }),
  };
}

function defaultLogs(pod: V1Pod, c: V1Container): string {
  const outcome = outcomeOf(pod, c);
  const head = `[fake-kubelet] container ${c.name} (image ${c.image ?? ''})`;
  switch (outcome.kind) {
    case 'succeeded':
      return `${head} started\n${head} finished: exit code 0\n`;
    case 'failed':
      return `${head} started\n${head} failed: exit code 1 (fake-kubelet test knob)\n`;
    case 'crashloop':
      return `${head} started\n${head} crashed: exit code 1 (fake-kubelet test knob)\n`;
    case 'restarted':
      return `${head} started\n${head} restarted ${outcome.restarts} times (fake-kubelet test knob)\n`;
    case 'pull-error':
      return '';
    case 'never-ready':
      return `${head} started; never becomes ready (fake-kubelet test knob)\n`;
    case 'ready':
      return `${head} started\n`;
  }
}

// ---- helpers -------------------------------------------------------------------------------

type V1ContainerStatusJson = Omit<V1ContainerStatus, 'state' | 'lastState'> & {
  state: Record<string, unknown>;
  lastState?: Record<string, unknown>;
};
type V1PodConditionJson = Omit<V1PodCondition, 'lastProbeTime' | 'lastTransitionTime'> & {
  lastProbeTime: string | null;
  lastTransitionTime?: string;
};

function imageTag(image: string | undefined): string {
  if (!image) return '';
  const noDigest = image.split('@')[0] ?? '';
  const lastSlash = noDigest.lastIndexOf('/');
  const lastColon = noDigest.lastIndexOf(':');
  return lastColon > lastSlash ? noDigest.slice(lastColon + 1) : 'latest';
}

function isOneShot(pod: V1Pod): boolean {
  const policy = pod.spec?.restartPolicy;
  return policy === 'Never' || policy === 'OnFailure';
}

function annotation(pod: V1Pod, key: string): string | undefined {
  return pod.metadata?.annotations?.[key];
}

function outcomeOf(pod: V1Pod, c: V1Container): ContainerOutcome {
  const tag = imageTag(c.image);
  const failAnn = annotation(pod, FAKE_KUBELET_KNOBS.failAnnotation) === 'true';
  if (tag.includes(FAKE_KUBELET_KNOBS.pullErrorTag) || tag.includes(FAKE_KUBELET_KNOBS.missingImageTag)) {
    return { kind: 'pull-error' };
  }
  if (isOneShot(pod)) {
    return failAnn || tag.includes(FAKE_KUBELET_KNOBS.failTag) ? { kind: 'failed' } : { kind: 'succeeded' };
  }
  if (tag.includes(FAKE_KUBELET_KNOBS.crashLoopTag) || failAnn) return { kind: 'crashloop' };
  if (tag !== '' && annotation(pod, FAKE_KUBELET_KNOBS.crashLoopOnAnnotation) === tag) return { kind: 'crashloop' };
  const restarts = Number(annotation(pod, FAKE_KUBELET_KNOBS.restartsAnnotation) ?? 0);
  if (Number.isInteger(restarts) && restarts > 0) return { kind: 'restarted', restarts };
  if (tag.includes(FAKE_KUBELET_KNOBS.neverReadyTag)) return { kind: 'never-ready' };
  if (annotation(pod, FAKE_KUBELET_KNOBS.neverReadyAnnotation) === 'true') return { kind: 'never-ready' };
  return { kind: 'ready' };
}

/** Ready once started: a container that restarted is ready again. */
/** The pod is the Milvus `component` on a 2.6 or newer image (tag v2.6.x, v3.0.x, with any suffix). */
function isMilvus26(pod: V1Pod, component: string): boolean {
  if (pod.metadata?.labels?.component !== component) return false;
  const container = (pod.spec?.containers ?? []).find((c) => c.name === component) ?? pod.spec?.containers?.[0];
  const m = /^v?(\d+)\.(\d+)/.exec(imageTag(container?.image));
  return m !== null && (Number(m[1]) > 2 || (Number(m[1]) === 2 && Number(m[2]) >= 6));
}

function podReady(pod: V1Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function servesReady(o: ContainerOutcome): boolean {
  return o.kind === 'ready' || o.kind === 'restarted';
}

function delayOf(pod: V1Pod, fallback: number): number {
  const raw = annotation(pod, FAKE_KUBELET_KNOBS.startDelayAnnotation);
  if (raw !== undefined) {
    const n = Number(raw);
    if (Number.isFinite(n) && n >= 0) return n;
  }
  return fallback;
}

/** True when the pod already carries container statuses for exactly its current images. */
function alreadyReported(pod: V1Pod): boolean {
  const statuses = pod.status?.containerStatuses ?? [];
  const containers = pod.spec?.containers ?? [];
  if (statuses.length === 0 || statuses.length !== containers.length) return false;
  return containers.every((c) => statuses.some((s) => s.name === c.name && s.image === c.image));
}

function imageID(image: string | undefined): string {
  const digest = createHash('sha256')
    .update(image ?? '')
    .digest('hex');
  return `docker-pullable://${(image ?? '').split(':')[0] ?? ''}@sha256:${digest}`;
}

function containerID(): string {
  return `containerd://${randomBytes(32).toString('hex')}`;
}

function containerStatus(
  c: V1Container,
  outcome: ContainerOutcome,
  startedAt: string,
  now: string,
): V1ContainerStatusJson {
  const base = { name: c.name, image: c.image ?? '', imageID: imageID(c.image) };
  switch (outcome.kind) {
    case 'ready':
      return {
        ...base,
        containerID: containerID(),
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt } },
      };
    case 'restarted':
      return {
        ...base,
        containerID: containerID(),
        ready: true,
        started: true,
        restartCount: outcome.restarts,
        state: { running: { startedAt: now } },
        lastState: { terminated: { exitCode: 137, reason: 'Error', startedAt, finishedAt: now } },
      };
    case 'never-ready':
      return {
        ...base,
        containerID: containerID(),
        ready: false,
        started: true,
        restartCount: 0,
        state: { running: { startedAt } },
      };
    case 'crashloop':
      return {
        ...base,
        containerID: containerID(),
        ready: false,
        started: false,
        restartCount: 5,
        state: {
          waiting: {
            reason: 'CrashLoopBackOff',
            message: `back-off 5m0s restarting failed container=${c.name}`,
          },
        },
        lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt, finishedAt: now } },
      };
    case 'pull-error':
      return {
        ...base,
        imageID: '',
        ready: false,
        started: false,
        restartCount: 0,
        state: { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image ?? ''}"` } },
      };
    case 'succeeded':
    case 'failed': {
      const failed = outcome.kind === 'failed';
      return {
        ...base,
        containerID: containerID(),
        ready: false,
        started: false,
        restartCount: 0,
        state: {
          terminated: {
            exitCode: failed ? 1 : 0,
            reason: failed ? 'Error' : 'Completed',
            startedAt,
            finishedAt: now,
          },
        },
      };
    }
  }
}

function statusCode(err: unknown): number | undefined {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; statusCode?: unknown };
    if (typeof e.code === 'number') return e.code;
    if (typeof e.statusCode === 'number') return e.statusCode;
  }
  return undefined;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = statusCode(err);
    const body = (err as { body?: unknown }).body;
    let msg = err.message.split('\n')[0] ?? err.message;
    if (code !== undefined) msg = `HTTP ${code}: ${msg}`;
    if (typeof body === 'string' && body.length < 400) {
      try {
        const parsed = JSON.parse(body) as { message?: string };
        if (parsed.message) msg += ` (${parsed.message})`;
      } catch {
        // not JSON
      }
    }
    return msg;
  }
  return String(err);
}

async function retryStartup<T>(fn: () => Promise<T>, log: (msg: string) => void): Promise<T> {
  const deadline = Date.now() + 30_000;
  let attempt = 0;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      attempt++;
      const code = statusCode(err);
      const fatal = code === 401 || code === 403;
      if (fatal || Date.now() > deadline) throw err;
      log(`startup attempt ${attempt} failed: ${describe(err)}; retrying`);
      await new Promise((r) => setTimeout(r, Math.min(2_000, 200 * attempt)));
    }
  }
}

