/**
 * Fake kubelet for the end-to-end tests: plays ONE node against a real kube-apiserver on which
 * no kubelet and no scheduler run. No container ever runs; only the API objects are driven.
 *
 * - Creates the Node (default `fake-node`) and keeps its status Ready (re-asserted every ~10 s).
 * - Binds every Pending pod without spec.nodeName to the node (POST Binding; there is no scheduler).
 * - After a delay, patches the pod's `status` subresource like a kubelet would: Running and Ready,
 *   or a terminal phase for one-shot pods (restartPolicy Never / OnFailure).
 * - Deletes pods that carry a deletionTimestamp with gracePeriodSeconds 0 (the kubelet's job).
 *
 * Test knobs (see FAKE_KUBELET_KNOBS):
 * - image tag contains `never-ready`   -> container running but never ready (a rollout hangs);
 * - image tag contains `crashloop`     -> container waiting in CrashLoopBackOff (not ready);
 * - image tag contains `pull-error`    -> pod stays Pending, container waiting in ImagePullBackOff;
 * - one-shot pod (restartPolicy Never/OnFailure): phase Succeeded (exit code 0) after the delay,
 *   or Failed (exit code 1) when an image tag contains `fail` or the pod has the annotation
 *   `fake-kubelet/fail: "true"`;
 * - annotation `fake-kubelet/never-ready: "true"` -> like the `never-ready` tag;
 * - annotation `fake-kubelet/start-delay-ms: "<n>"` -> per-pod delay instead of startDelayMs;
 * - annotation `fake-kubelet/logs: "<text>"` -> what `kubectl logs` returns for the pod's containers
 *   (otherwise a short generated text; see serveLogs).
 * Annotations set on a Deployment's pod template reach its pods.
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
  /** Image-tag substring: a one-shot pod fails (exit code 1). */
  failTag: 'fail',
  /** Annotation: "true" makes a one-shot pod fail (a long-running pod crash-loops). */
  failAnnotation: 'fake-kubelet/fail',
  /** Annotation: "true" keeps the pod not ready. */
  neverReadyAnnotation: 'fake-kubelet/never-ready',
  /** Annotation: per-pod start delay in milliseconds. */
  startDelayAnnotation: 'fake-kubelet/start-delay-ms',
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
}

export interface FakeKubelet {
  readonly nodeName: string;
  /** Stops the watch, the timers and waits for requests in flight. Idempotent. */
  stop(): Promise<void>;
}

type ContainerOutcome =
  | { kind: 'ready' }
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
  chain: Promise<void>;
  podIP?: string;
  startedAt?: string;
}

const execFileAsync = promisify(execFile);
const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const RETRY_MS = 1_000;

export async function startFakeKubelet(opts: FakeKubeletOptions): Promise<FakeKubelet> {
  const nodeName = opts.nodeName ?? 'fake-node';
  const defaultDelay = opts.startDelayMs ?? 200;
  const heartbeatMs = opts.heartbeatMs ?? 10_000;
  const watchTimeoutSeconds = opts.watchTimeoutSeconds ?? 240;
  const log = opts.log ?? (() => undefined);

  const kc = new KubeConfig();
  kc.loadFromFile(opts.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
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

  function retryLater(t: PodTrack): void {
    if (stopping || t.retryTimer) return;
    t.retryTimer = setTimeout(() => {
      t.retryTimer = undefined;
      if (tracks.get(t.uid) === t) reconcile(t.latest);
    }, RETRY_MS);
  }

  function forget(uid: string): void {
    const t = tracks.get(uid);
    if (!t) return;
    if (t.timer) clearTimeout(t.timer);
    if (t.retryTimer) clearTimeout(t.retryTimer);
    tracks.delete(uid);
  }

  function reconcile(pod: V1Pod): void {
    if (stopping) return;
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
      enqueue(tr, 'delete', async () => {
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
      return;
    }

    // 2. No node yet: bind it to ours (there is no scheduler).
    if (!pod.spec?.nodeName) {
      if (tr.bindRequested) return;
      tr.bindRequested = true;
      enqueue(tr, 'bind', async () => {
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
    const outcomes = containers.map((c) => outcomeOf(pod, c));
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
      enqueue(tr, 'status', async () => {
        if (tr.statusKey !== statusKey) return; // superseded meanwhile
        const body = buildStatus(tr, tr.latest, outcomes);
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
      });
    }, delay);
  }

  function nextPodIP(): string {
    ipCounter++;
    return `10.244.${Math.floor(ipCounter / 250) % 250}.${(ipCounter % 250) + 2}`;
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
    const allReady = !terminal && outcomes.every((o) => o.kind === 'ready');
    const unready = containers.filter((_, i) => outcomes[i]?.kind !== 'ready').map((c) => c.name);
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
    firstRv = await retryStartup(listAll, log);
  } catch (err) {
    stopping = true;
    if (heartbeatTimer) clearTimeout(heartbeatTimer);
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
  if (tag.includes(FAKE_KUBELET_KNOBS.pullErrorTag)) return { kind: 'pull-error' };
  if (isOneShot(pod)) {
    return failAnn || tag.includes(FAKE_KUBELET_KNOBS.failTag) ? { kind: 'failed' } : { kind: 'succeeded' };
  }
  if (tag.includes(FAKE_KUBELET_KNOBS.crashLoopTag) || failAnn) return { kind: 'crashloop' };
  if (tag.includes(FAKE_KUBELET_KNOBS.neverReadyTag)) return { kind: 'never-ready' };
  if (annotation(pod, FAKE_KUBELET_KNOBS.neverReadyAnnotation) === 'true') return { kind: 'never-ready' };
  return { kind: 'ready' };
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

