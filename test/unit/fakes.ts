/**
 * In-memory ports for running steps without a cluster. The clock never really sleeps: sleep()
 * advances now() and lets the fake cluster make progress (a controller rolling out pods).
 */
import type { ChartEntry } from '../../src/upgrade/milvus/charts.js';
import type { KubeObject } from '../../src/upgrade/objects.js';
import type {
  ClusterOps,
  Clock,
  ConfigMapInfo,
  DeploymentChange,
  HelmRenderArgs,
  HelmInstallArgs, HelmUpgradeArgs,
  MetaMigrationPodSpec,
  MilvusAccess,
  MilvusDataReader,
  PodHealth,
  PodPhase,
  Ports,
  ReleaseManager,
  SessionProbe,
  StatefulSetRollout,
} from '../../src/upgrade/ports.js';
import type { ComponentState, HelmReleaseInfo, HelmRevisionInfo } from '../../src/upgrade/state.js';
import { PREVIOUS_IMAGE_ANNOTATION, PREVIOUS_VERSION_ANNOTATION } from '../../src/upgrade/steps.js';
import { editConfigFile } from '../../src/cluster/config-file.js';
import type { StepContext } from '../../src/upgrade/runner/run-support.js';
import type { CanaryResult, DataSnapshot, MilvusEndpoint } from '../../src/upgrade/data-snapshot.js';
import { UpgradeError } from '../../src/upgrade/errors.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class FakeClock implements Clock {
  t = 1_000_000;
  readonly sleeps: number[] = [];
  /** Called after every sleep, e.g. to let the fake cluster progress or to abort. */
  onSleep: (() => void) | null = null;

  now(): number {
    return this.t;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw new Error('aborted');
    this.sleeps.push(ms);
    this.advance(ms);
    this.onSleep?.();
  }

  private readonly timers: Array<{ at: number; fire: () => void }> = [];

  /** Fires when fake time passes it (a sleep, or advance()), never by itself. */
  timer(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new Error('aborted'));
      const entry = { at: this.t + ms, fire: resolve };
      this.timers.push(entry);
      signal?.addEventListener('abort', () => {
        this.timers.splice(this.timers.indexOf(entry), 1);
        reject(new Error('aborted'));
      }, { once: true });
    });
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves fake time on, firing the timers it passes. */
  advance(ms: number): void {
    this.t += ms;
    for (const due of this.timers.filter((x) => x.at <= this.t)) {
      this.timers.splice(this.timers.indexOf(due), 1);
      due.fire();
    }
  }
}

export class FakeCluster implements ClusterOps {
  readonly deployments = new Map<string, Mutable<ComponentState>>();
  readonly annotations = new Map<string, Record<string, string>>();
  readonly configMaps = new Map<string, { data: Record<string, string>; annotations: Record<string, string> }>();
  readonly pods = new Map<string, PodPhase>();
  readonly patches: Array<{ deployment: string; change: DeploymentChange }> = [];
  readonly replacedConfigMaps: Array<{ name: string; data: Record<string, string> }> = [];
  readonly createdPods: MetaMigrationPodSpec[] = [];
  /** Deployments whose pods never become ready. */
  readonly stuck = new Set<string>();
  /** StatefulSets by name; `advance` rolls each one a step (one pod onto its update revision). */
  readonly statefulSets = new Map<string, Mutable<StatefulSetRollout>>();

  constructor(components: readonly ComponentState[] = []) {
    for (const c of components) this.deployments.set(c.deployment, { ...c });
  }

  /**
   * One controller pass: each Deployment in progress gets one pod further. An old pod leaving
   * the status stays one more pass in graceful stop (terminatingPods), as on a real kubelet.
   */
  advance(): void {
    for (const d of this.deployments.values()) {
      if ((d.terminatingPods ?? 0) > 0) d.terminatingPods = d.terminatingPods! - 1;
      if (this.deleting.has(d.deployment)) {
        if (!d.terminatingPods) this.deployments.delete(d.deployment);
        continue;
      }
      if (this.stuck.has(d.deployment) || d.paused) {
        d.observedGeneration = d.generation;
        continue;
      }
      if (d.observedGeneration < d.generation) {
        d.observedGeneration = d.generation;
      } else if (d.updatedReplicas < d.replicas) {
        d.updatedReplicas += 1;
        d.availableReplicas = d.updatedReplicas;
        d.readyReplicas = d.updatedReplicas;
      } else if (d.currentReplicas > d.replicas) {
        d.currentReplicas -= 1;
        d.terminatingPods = (d.terminatingPods ?? 0) + 1;
      }
    }
  }

  async serverVersion(): Promise<string> {
    return 'v1.29.4';
  }

  async components(): Promise<ComponentState[]> {
    return [...this.deployments.values()].map((d) => ({ ...d }));
  }

  async component(_namespace: string, deployment: string): Promise<ComponentState | null> {
    const d = this.deployments.get(deployment);
    return d ? { ...d } : null;
  }

  async patchDeployment(_namespace: string, deployment: string, change: DeploymentChange): Promise<void> {
    this.patches.push({ deployment, change });
    const d = this.deployments.get(deployment);
    if (!d) throw new Error(`no Deployment ${deployment}`);
    let templateChanged = false;
    if (change.image !== undefined && change.image !== d.image) {
      d.image = change.image;
      templateChanged = true;
    }
    if (change.versionLabel !== undefined && change.versionLabel !== d.versionLabel) {
      d.versionLabel = change.versionLabel;
      templateChanged = true;
    }
    if (change.rollingUpdate) d.strategy = 'RollingUpdate';
    if (change.replicas !== undefined) {
      d.replicas = change.replicas;
      templateChanged = true;
    }
    if (change.annotations) {
      const mine = this.annotations.get(deployment) ?? {};
      for (const [k, v] of Object.entries(change.annotations)) {
        if (v === null) delete mine[k];
        else mine[k] = v;
      }
      this.annotations.set(deployment, mine);
      for (const [k, v] of Object.entries(change.annotations)) {
        if (k === PREVIOUS_IMAGE_ANNOTATION) d.previousImage = v;
        if (k === PREVIOUS_VERSION_ANNOTATION) d.previousVersionLabel = v;
      }
    }
    if (templateChanged) {
      d.generation += 1;
      // A rolling update: the old pods stay until the new ones are ready.
      d.currentReplicas = d.replicas + d.updatedReplicas;
      d.updatedReplicas = 0;
      d.availableReplicas = 0;
      d.readyReplicas = 0;
    }
  }

  /** What podsHealth answers; null: one healthy pod per ready replica of each Deployment. */
  podsReport: ((now: number) => PodHealth[]) | null = null;
  clockNow: () => number = () => 0;

  async podsHealth(): Promise<PodHealth[]> {
    if (this.podsReport) return this.podsReport(this.clockNow());
    return [...this.deployments.values()].flatMap((d) =>
      Array.from({ length: d.replicas }, (_, i) => ({
        name: `${d.deployment}-${i}`,
        component: d.component,
        ready: i < d.readyReplicas,
        phase: 'Running',
        containers: [{ name: d.component, ready: i < d.readyReplicas, restartCount: 0, waitingReason: null, lastTerminatedAt: null }],
      })),
    );
  }

  /** Every pause and resume, in order: `pause x` / `resume x`. */
  readonly pauseLog: string[] = [];

  async statefulSet(_namespace: string, name: string): Promise<StatefulSetRollout | null> {
    this.advanceStatefulSets();
    const s = this.statefulSets.get(name);
    return s ? { ...s } : null;
  }

  /** A controller pass for StatefulSets: one more pod on the update revision, then all ready. */
  private advanceStatefulSets(): void {
    for (const s of this.statefulSets.values()) {
      s.observedGeneration = s.generation;
      if (s.updatedReplicas < s.replicas) {
        s.updatedReplicas += 1;
        s.readyReplicas = s.updatedReplicas;
      } else {
        s.currentRevision = s.updateRevision;
        s.readyReplicas = s.replicas;
      }
    }
  }

  /** Deployments deleted in the foreground: gone once their pods have stopped (a pass later). */
  readonly deleting = new Set<string>();

  async deleteDeployment(_namespace: string, deployment: string): Promise<void> {
    const d = this.deployments.get(deployment);
    if (!d || this.deleting.has(deployment)) return;
    this.pauseLog.push(`delete ${deployment}`);
    this.deleting.add(deployment);
    d.terminatingPods = (d.terminatingPods ?? 0) + d.currentReplicas;
    d.currentReplicas = 0;
    d.replicas = 0;
  }

  /** The release the fake's Deployments belong to. */
  release = 'prod';

  async releasesPausedByBot(): Promise<string[]> {
    return [...this.deployments.values()].some((d) => d.pausedBy !== null) ? [this.release] : [];
  }

  async setPaused(_namespace: string, deployment: string, paused: boolean, mark: string | null): Promise<void> {
    const d = this.deployments.get(deployment);
    if (!d) throw new Error(`no Deployment ${deployment}`);
    this.pauseLog.push(`${paused ? 'pause' : 'resume'} ${deployment}`);
    d.paused = paused;
    d.pausedBy = mark;
  }

  async countPods(): Promise<number> {
    let n = 0;
    for (const d of this.deployments.values()) n += d.currentReplicas;
    return n;
  }

  async configMap(_namespace: string, name: string): Promise<ConfigMapInfo | null> {
    const cm = this.configMaps.get(name);
    return cm ? { data: { ...cm.data }, annotations: { ...cm.annotations } } : null;
  }

  async createConfigMap(
    _namespace: string,
    name: string,
    data: Record<string, string>,
    annotations: Record<string, string> = {},
  ): Promise<boolean> {
    if (this.configMaps.has(name)) return false;
    this.configMaps.set(name, { data: { ...data }, annotations: { ...annotations } });
    return true;
  }

  async replaceConfigMapData(_namespace: string, name: string, data: Record<string, string>): Promise<void> {
    const cm = this.configMaps.get(name);
    if (!cm) throw new Error(`no ConfigMap ${name}`);
    this.replacedConfigMaps.push({ name, data: { ...data } });
    cm.data = { ...data };
  }

  async setConfigFlag(namespace: string, name: string, key: string, sections: readonly string[], flag: string): Promise<readonly string[] | null> {
    const cm = this.configMaps.get(name);
    if (!cm) return null;
    const edit = editConfigFile(cm.data[key] ?? '', sections, flag, `${key} in ConfigMap ${name}`);
    if (edit.changed.length > 0) await this.replaceConfigMapData(namespace, name, { ...cm.data, [key]: edit.text });
    return edit.changed;
  }

  async annotateConfigMap(_namespace: string, name: string, annotations: Record<string, string>): Promise<void> {
    const cm = this.configMaps.get(name);
    if (!cm) throw new Error(`no ConfigMap ${name}`);
    Object.assign(cm.annotations, annotations);
  }

  async deleteConfigMap(_namespace: string, name: string): Promise<void> {
    this.configMaps.delete(name);
  }

  async storageClassExists(): Promise<boolean> {
    return true;
  }

  async ensurePvc(): Promise<void> {}

  async deletePvc(): Promise<void> {}

  async podPhase(_namespace: string, name: string): Promise<PodPhase | null> {
    return this.pods.get(name) ?? null;
  }

  async createMetaMigrationPod(_namespace: string, spec: MetaMigrationPodSpec): Promise<void> {
    this.createdPods.push(spec);
    this.pods.set(spec.name, 'Succeeded');
  }

  async deletePod(_namespace: string, name: string): Promise<void> {
    this.pods.delete(name);
  }

  async podLogTail(): Promise<string> {
    return 'log tail';
  }
}

export class FakeHelm implements ReleaseManager {
  readonly upgrades: HelmUpgradeArgs[] = [];
  readonly rollbacks: Array<{ revision: number }> = [];
  readonly repoUpdates: Array<{ name: string; url: string }> = [];
  readonly renders: HelmRenderArgs[] = [];
  /** What `values` returns: the person's values and helm's computed ones. */
  userValues: Record<string, unknown> = {};
  computedValues: Record<string, unknown> = {};
  /** Default values per chart version (`helm show values`). */
  defaults: Record<string, Record<string, unknown>> = {};
  /** The recorded manifest, and the rendering of an upgrade from the args. */
  recorded: KubeObject[] = [];
  render: (args: HelmRenderArgs) => KubeObject[] = () => this.recorded;
  /** `helm get values --revision N`: the user-supplied values of each revision. */
  readonly valuesByRevision = new Map<number, Record<string, unknown>>();

  constructor(
    public info: HelmReleaseInfo | null,
    public historyRows: HelmRevisionInfo[] = [],
  ) {}

  async version(): Promise<string> {
    return 'v3.16.2';
  }

  async repos(): Promise<Record<string, string>> {
    return {};
  }

  async repoUpdate(name: string, url: string): Promise<void> {
    this.repoUpdates.push({ name, url });
  }

  async searchCharts(): Promise<ChartEntry[]> {
    return [];
  }

  async release(): Promise<HelmReleaseInfo | null> {
    return this.info ? { ...this.info } : null;
  }

  async history(): Promise<HelmRevisionInfo[]> {
    return [...this.historyRows];
  }

  async upgrade(args: HelmUpgradeArgs): Promise<void> {
    this.upgrades.push(args);
    if (this.info) {
      this.info = { ...this.info, revision: this.info.revision + 1, chartVersion: args.chartVersion, chart: `milvus-${args.chartVersion}`, status: 'deployed' };
    }
  }

  async rollback(args: { revision: number }): Promise<void> {
    this.rollbacks.push({ revision: args.revision });
  }

  readonly installs: HelmInstallArgs[] = [];
  async install(args: HelmInstallArgs): Promise<void> {
    this.installs.push(args);
  }

  async values(_ns: string, _release: string, options: { all?: boolean; revision?: number } = {}): Promise<Record<string, unknown>> {
    if (options.revision !== undefined) return this.valuesByRevision.get(options.revision) ?? {};
    return options.all ? this.computedValues : this.userValues;
  }

  async manifest(): Promise<KubeObject[]> {
    return this.recorded;
  }

  async chartDefaults(_ref: string, version: string): Promise<Record<string, unknown>> {
    return this.defaults[version] ?? {};
  }

  async renderUpgrade(args: HelmRenderArgs): Promise<KubeObject[]> {
    this.renders.push(args);
    return this.render(args);
  }
}

/** Session keys as etcd would list them: `counts[i]` live sessions per read, plus the permanent `id` key. */
export class FakeSessions implements SessionProbe {
  constructor(
    public counts: Array<number | null> = [0],
    /** Milvus's server-id counter: a key without a lease that never goes away. */
    public permanentIdKey = true,
  ) {}

  async keys(_endpoint: string, prefix: string): Promise<string[] | null> {
    const n = this.counts.length > 1 ? this.counts.shift()! : (this.counts[0] ?? null);
    if (n === null) return null;
    const live = Array.from({ length: n }, (_, i) => `${prefix}querynode-${i + 1}`);
    return this.permanentIdKey ? [`${prefix}id`, ...live] : live;
  }
}

export interface FakePorts extends Ports {
  readonly helm: FakeHelm;
  readonly cluster: FakeCluster;
  readonly sessions: FakeSessions;
  readonly clock: FakeClock;
}

/** Ports whose clock lets the cluster's controller make one pass per sleep. */
export function fakePorts(o: { components?: readonly ComponentState[]; helm?: FakeHelm; sessions?: FakeSessions } = {}): FakePorts {
  const cluster = new FakeCluster(o.components ?? []);
  const clock = new FakeClock();
  clock.onSleep = () => cluster.advance();
  cluster.clockNow = () => clock.now();
  return {
    helm: o.helm ?? new FakeHelm(null),
    cluster,
    sessions: o.sessions ?? new FakeSessions(),
    clock,
  };
}

/** A step's context for calling a step handler or a wait directly (no runner around it). */
export function stepContext(ports: Ports, signal?: AbortSignal, pollIntervalMs = 1000): StepContext {
  return {
    ports,
    namespace: 'ns',
    release: 'rel',
    ...(signal ? { signal } : {}),
    handoverMs: 0,
    stepStartedAt: () => 0,
    pollIntervalMs,
    progress: async () => {},
  };
}

/**
 * Milvus in memory, for the data gate's rules: `snapshots` are answered in turn (the last one
 * again once they run out), a string answer rejects as an unreachable Milvus would.
 */
export class FakeMilvusAccess implements MilvusAccess {
  snapshots: Array<DataSnapshot | string> = [];
  /** Per collection: the probe's answer, or a string to reject with. */
  probes: Record<string, CanaryResult | string> = {};
  /** The canary rows pickCanary finds per collection (none: null). */
  canaryIds: Record<string, string[]> = {};
  readonly endpoints: MilvusEndpoint[] = [];
  checks: 'required' | 'off' = 'required';
  /** Answers of the sampler's query, in turn (true: answered); search answers the same. */
  samples: boolean[] = [];

  readonly reader: MilvusDataReader = {
    snapshot: async () => {
      const next = this.snapshots.length > 1 ? this.snapshots.shift()! : this.snapshots[0];
      if (next === undefined || typeof next === 'string') throw new UpgradeError('transient', next ?? 'no snapshot');
      return next;
    },
    pickCanary: async (_e, collection) => {
      const ids = this.canaryIds[collection];
      return ids ? { collection, primaryField: 'id', ids, primaryIsString: false, vectorField: 'vector' } : null;
    },
    probe: async (_e, canary) => {
      const answer = this.probes[canary.collection] ?? { found: canary.ids.length, searchHits: 3 };
      if (typeof answer === 'string') throw new UpgradeError('transient', answer);
      return answer;
    },
    openSampler: async () => {
      const next = async () => {
        if (this.samples.shift() === false) throw new UpgradeError('transient', 'DEADLINE_EXCEEDED');
      };
      return { query: next, search: next, close: async () => {} };
    },
  };

  address(r: { namespace: string; fullname: string }): string {
    return `${r.fullname}.${r.namespace}.svc:19530`;
  }

  async endpoint(_namespace: string, _release: string, address: string): Promise<MilvusEndpoint> {
    const e = { address, credentials: { username: 'root', password: 'pw' } };
    this.endpoints.push(e);
    return e;
  }
}

export function snapshotOf(collections: Array<[string, 'loaded' | 'loading' | 'not-loaded', number | null]>, healthy = true): DataSnapshot {
  return { serverVersion: 'v2.4.5', healthy, reasons: healthy ? [] : ['querynode down'], collections: collections.map(([name, loadState, rowCount]) => ({ name, loadState, rowCount })) };
}
