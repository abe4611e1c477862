/**
 * What the domain needs from the outside world. The domain owns these interfaces; src/cluster
 * implements them (helm binary, Kubernetes API, etcd). Nothing here does I/O itself.
 */
import type { ComponentState, HelmReleaseInfo, HelmRevisionInfo, ReleaseState, ToolingState } from './state.js';
import type { ChartEntry } from './milvus/charts.js';
import type { KubeObject } from './objects.js';
import type { Plan } from './plan.js';
import type { Actor, LogEntry, NewRequest, Phase, PhaseExtra, Place, UpgradeRequest } from './requests.js';
import type { CanaryResult, CanaryRows, DataSnapshot, MilvusEndpoint } from './data-snapshot.js';
import type { BackupInfo, RestoreInfo, RestoreRequest } from './backup.js';
import type { FleetRecord } from './fleet/fleet-record.js';
import type { UpgradeError } from './errors.js';

export interface HelmUpgradeArgs {
  readonly namespace: string;
  readonly release: string;
  readonly chartRef: string;
  readonly chartVersion: string;
  readonly set: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
  /** false: helm returns once the objects are applied (no `--wait`); default true. */
  readonly wait?: boolean;
  readonly signal?: AbortSignal;
}

export interface HelmInstallArgs {
  readonly namespace: string;
  readonly release: string;
  readonly chartRef: string;
  readonly chartVersion: string;
  readonly values: Readonly<Record<string, unknown>>;
  readonly set: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
  readonly signal?: AbortSignal;
}

/** What `helm upgrade` is asked to do, without the waiting: enough to render it. */
export type HelmRenderArgs = Omit<HelmUpgradeArgs, 'timeoutSeconds' | 'signal'>;

export interface ReleaseManager {
  version(): Promise<string>;
  /**
   * The release's values: what the person gave, or (`all`) everything helm computed; of the
   * current revision, or of `revision`.
   */
  values(namespace: string, release: string, options?: { readonly all?: boolean; readonly revision?: number }): Promise<Record<string, unknown>>;
  /** The objects helm recorded for the release's current revision. */
  manifest(namespace: string, release: string): Promise<KubeObject[]>;
  /** The default values of a chart version (`helm show values`). */
  chartDefaults(chartRef: string, chartVersion: string): Promise<Record<string, unknown>>;
  /** The objects the upgrade would apply, rendered by helm itself against the cluster. */
  renderUpgrade(args: HelmRenderArgs): Promise<KubeObject[]>;
  repos(): Promise<Record<string, string>>;
  /**
   * Adds the repository when missing, then refreshes its index; with `maxAgeMs`, an index
   * refreshed more recently than that is used as it is (reads; a run refreshes for real).
   */
  repoUpdate(name: string, url: string, signal?: AbortSignal, options?: { readonly maxAgeMs?: number }): Promise<void>;
  searchCharts(repoName: string): Promise<ChartEntry[]>;
  release(namespace: string, release: string): Promise<HelmReleaseInfo | null>;
  history(namespace: string, release: string): Promise<HelmRevisionInfo[]>;
  upgrade(args: HelmUpgradeArgs): Promise<void>;
  /** `helm install` of a new release with these values (and `--set` over them), `--wait`. */
  install(args: HelmInstallArgs): Promise<void>;
  rollback(args: {
    readonly namespace: string;
    readonly release: string;
    readonly revision: number;
    readonly timeoutSeconds: number;
    /** false: no `--wait`; default true. */
    readonly wait?: boolean;
    readonly signal?: AbortSignal;
  }): Promise<void>;
}

/** One strategic-merge change to a Milvus Deployment; absent fields are left alone. */
export interface DeploymentChange {
  /** The container to change: Milvus names it after the component. */
  readonly container: string;
  readonly image?: string;
  readonly versionLabel?: string;
  readonly rollingUpdate?: boolean;
  readonly minReadySeconds?: number;
  readonly replicas?: number;
  /** null removes the annotation. */
  readonly annotations?: Readonly<Record<string, string | null>>;
}

export interface ConfigMapInfo {
  readonly data: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface ContainerHealth {
  readonly name: string;
  readonly ready: boolean;
  readonly restartCount: number;
  /** state.waiting.reason, e.g. CrashLoopBackOff, ImagePullBackOff; null when not waiting. */
  readonly waitingReason: string | null;
  /** lastState.terminated.finishedAt in ms since the epoch, null when it never terminated. */
  readonly lastTerminatedAt: number | null;
}

export interface PodHealth {
  readonly name: string;
  readonly component: string;
  /** The pod's Ready condition (the chart's readiness probe is Milvus's /healthz on 9091). */
  readonly ready: boolean;
  readonly phase: string;
  readonly containers: readonly ContainerHealth[];
}

export interface MetaMigrationPodSpec {
  readonly name: string;
  readonly image: string;
  readonly configMap: string;
  readonly configFile: string;
  readonly pvc: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface ClusterOps {
  serverVersion(): Promise<string>;
  components(namespace: string, release: string): Promise<ComponentState[]>;
  component(namespace: string, deployment: string): Promise<ComponentState | null>;
  /** A StatefulSet's rollout state; null when there is none of that name. */
  statefulSet(namespace: string, name: string): Promise<StatefulSetRollout | null>;
  patchDeployment(namespace: string, deployment: string, change: DeploymentChange): Promise<void>;
  /**
   * Deletes a Deployment in the foreground: it stays, being deleted, until its ReplicaSets and
   * their pods are gone (graceful stop included). None of that name: nothing to do.
   */
  deleteDeployment(namespace: string, deployment: string): Promise<void>;
  /** Sets spec.paused and the bot's pause mark (null removes it) in one patch. */
  setPaused(namespace: string, deployment: string, paused: boolean, mark: string | null): Promise<void>;
  /** The releases of the namespace with a Deployment that carries the bot's pause mark. */
  releasesPausedByBot(namespace: string): Promise<string[]>;
  countPods(namespace: string, labelSelector: string): Promise<number>;
  configMap(namespace: string, name: string): Promise<ConfigMapInfo | null>;
  /** Creates it; when it exists already, leaves it as it is and returns false. */
  createConfigMap(namespace: string, name: string, data: Record<string, string>, annotations?: Record<string, string>): Promise<boolean>;
  replaceConfigMapData(namespace: string, name: string, data: Record<string, string>): Promise<void>;
  /**
   * Sets `<section>.<flag>: true` for each section in the config file `key` of a ConfigMap (read
   * as helm wrote it; the rest of the file and its comments kept). Returns the sections it
   * changed (none: nothing written), or null when there is no such ConfigMap.
   */
  setConfigFlag(namespace: string, name: string, key: string, sections: readonly string[], flag: string): Promise<readonly string[] | null>;
  annotateConfigMap(namespace: string, name: string, annotations: Record<string, string>): Promise<void>;
  deleteConfigMap(namespace: string, name: string): Promise<void>;
  storageClassExists(name: string | null): Promise<boolean>;
  ensurePvc(namespace: string, name: string, storageClass: string | null, size: string): Promise<void>;
  deletePvc(namespace: string, name: string): Promise<void>;
  podPhase(namespace: string, name: string): Promise<PodPhase | null>;
  createMetaMigrationPod(namespace: string, spec: MetaMigrationPodSpec): Promise<void>;
  deletePod(namespace: string, name: string): Promise<void>;
  /** The last lines of a pod's log; a short explanation when the log cannot be read. */
  podLogTail(namespace: string, name: string, lines: number): Promise<string>;
  /** Every Milvus pod of the release that is not being deleted, with what its containers report. */
  podsHealth(namespace: string, release: string): Promise<PodHealth[]>;
}

/** Milvus's own view of its data (issue 26): read with the official SDK, in cluster/. */
export interface MilvusDataReader {
  /** Rejects with an UpgradeError saying why when Milvus cannot be reached or read. */
  snapshot(endpoint: MilvusEndpoint, signal?: AbortSignal): Promise<DataSnapshot>;
  /**
   * Up to `count` primary keys of a loaded collection (a query with a limit), with its primary
   * and vector fields; null when the collection has no row.
   */
  pickCanary(endpoint: MilvusEndpoint, collection: string, count: number, signal?: AbortSignal): Promise<CanaryRows | null>;
  /**
   * Queries the canary's keys (read-only) and searches with the vector of the first row found.
   * Rejects with an UpgradeError naming the collection and the call when either fails.
   */
  probe(endpoint: MilvusEndpoint, canary: CanaryRows, signal?: AbortSignal): Promise<CanaryResult>;
  /**
   * A connection held for a run's availability loop (one query and one search a second): each
   * call of the sampler is one read-only operation, rejecting when Milvus does not answer it.
   * Opened while Milvus serves (it reads the vector the searches use); rejects when it cannot.
   */
  openSampler(endpoint: MilvusEndpoint, canary: CanaryRows): Promise<CanarySampler>;
}

export interface CanarySampler {
  query(): Promise<void>;
  /** null: the collection has no vector to search with. */
  readonly search: (() => Promise<void>) | null;
  close(): Promise<void>;
}

/**
 * How the bot reaches a release's Milvus: the address from its config (a template per cluster),
 * the credentials from the Secret its config names, read when needed and never kept in a plan.
 */
export interface MilvusAccess {
  readonly reader: MilvusDataReader;
  /**
   * required: a plan whose data cannot be read needs an approver's --without-data-checks;
   * off: the bot never reads Milvus, and every card says so.
   */
  readonly checks: 'required' | 'off';
  /** The release's address by the config (e.g. `<fullname>.<namespace>.svc:19530`). */
  address(release: Pick<ReleaseState, 'namespace' | 'release' | 'fullname'>): string;
  /** The endpoint to dial at `address`, with the release's credentials when the config names a Secret. */
  endpoint(namespace: string, release: string, address: string): Promise<MilvusEndpoint>;
}

/**
 * A milvus-backup server (zilliztech/milvus-backup, `milvus-backup server`) over its REST API
 * (`<url>/api/v1/...`, issue 27). `url` is the server's base, e.g. `http://backup.milvus.svc:8080`.
 * Every call rejects with an UpgradeError naming the server and what failed (transport, a
 * non-zero `code`, an answer that is not the API's shape); a backup or restore that is not there
 * is null, not an error.
 */
export interface BackupService {
  /** `GET /api/v1/get_backup?backup_name=`: the backup, or null when the server has none by that name. */
  get(url: string, name: string, signal?: AbortSignal): Promise<BackupInfo | null>;
  /**
   * `GET /api/v1/list`: the names of the backups in the server's storage. A restarted server
   * forgets its tasks and no longer answers get() for a backup it wrote before (it still lists it).
   */
  listNames(url: string, signal?: AbortSignal): Promise<string[]>;
  /** `POST /api/v1/create` {backup_name, async: true}: starts a backup of every collection. */
  create(url: string, name: string, signal?: AbortSignal): Promise<void>;
  /** `POST /api/v1/restore` {backup_name, async: true, ...}: the restore task's id. */
  restore(url: string, request: RestoreRequest, signal?: AbortSignal): Promise<string>;
  /** `GET /api/v1/get_restore?id=`: the restore task, or null when the server has none by that id. */
  getRestore(url: string, id: string, signal?: AbortSignal): Promise<RestoreInfo | null>;
}

/** Where the bot reaches a release's milvus-backup server, and when a plan takes a backup. */
export interface BackupAccess {
  readonly service: BackupService;
  /** one-way: before a step that cannot be undone (into 2.6, into 3.0, the 2.1 -> 2.2 migration); always: before every upgrade. */
  readonly policy: 'one-way' | 'always';
  /** The release's milvus-backup server by the config (its base URL); null: none configured. */
  url(release: Pick<ReleaseState, 'namespace' | 'release' | 'fullname'>): string | null;
  /** Now, in ms: the time in a backup's name. */
  now(): number;
}

export interface SessionProbe {
  /** The keys under the prefix (names only); null when etcd cannot be reached from here. */
  keys(endpoint: string, prefix: string, signal?: AbortSignal): Promise<string[] | null>;
}

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * Resolves once `ms` of this clock's time has passed; rejects on abort. Unlike `sleep`, it is
   * a deadline kept beside other work: a test's clock never moves time for it.
   */
  timer(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * Changes to a release's Deployments and pods, as a watch sees them: waits read again when
 * something changed rather than on a timer. A counter, so that a change between a read and the
 * wait after it is not missed.
 */
export interface ReleaseChanges {
  /** The release's change counter now (starts watching it). */
  mark(namespace: string, release: string): number;
  /** Resolves once the counter has passed `mark` (at once if it has), or after `maxMs`; rejects on abort. */
  after(namespace: string, release: string, mark: number, maxMs: number, signal?: AbortSignal): Promise<void>;
}

export interface Ports {
  readonly helm: ReleaseManager;
  readonly cluster: ClusterOps;
  readonly sessions: SessionProbe;
  readonly clock: Clock;
  /** Without it (unit tests, fakes), waits poll every pollIntervalMs. */
  readonly changes?: ReleaseChanges;
  /** Milvus itself, for the data gate; absent: a plan with a check-data step cannot run. */
  readonly milvus?: MilvusAccess;
  /** milvus-backup, for the backup steps; absent: a plan with a backup step cannot run. */
  readonly backups?: BackupAccess;
}

/** What a StatefulSet's status says of its rollout. */
export interface StatefulSetRollout {
  readonly name: string;
  readonly replicas: number;
  readonly readyReplicas: number;
  readonly updatedReplicas: number;
  readonly currentRevision: string;
  readonly updateRevision: string;
  readonly generation: number;
  readonly observedGeneration: number;
}

/** Reads everything a plan is made from. Implemented by src/cluster/milvus.ts. */
export interface ReleaseObserver {
  tooling(): Promise<ToolingState>;
  release(namespace: string, release: string): Promise<ReleaseState | null>;
  /** The release's live Deployments, StatefulSets and PVCs (Milvus's and its dependencies'). */
  objects(namespace: string, release: string): Promise<KubeObject[]>;
}

/** Upgrade requests, their audit/event log and the per-release lock. Implemented in src/jobs. */
export interface RequestStore {
  create(input: NewRequest, now?: number): Promise<UpgradeRequest>;
  get(id: string): Promise<UpgradeRequest | null>;
  require(id: string): Promise<UpgradeRequest>;
  activeFor(cluster: string, namespace: string, release: string, now?: number): Promise<UpgradeRequest | null>;
  approve(id: string, by: Actor, now?: number): Promise<{ request: UpgradeRequest; changed: boolean; nowApproved: boolean }>;
  reject(id: string, by: Actor, reason: string | undefined, now?: number): Promise<UpgradeRequest>;
  setPhase(id: string, phase: Phase, actor: Actor, extra?: PhaseExtra, now?: number): Promise<UpgradeRequest>;
  /** Seals an approved request and marks it queued, atomically (see withSealForRun); refusals are thrown. */
  sealForRun(id: string, actor: Actor, sealOf: (r: UpgradeRequest) => string, now?: number): Promise<UpgradeRequest>;
  requestCancel(id: string, by: Actor, now?: number): Promise<UpgradeRequest>;
  /** A fleet member's approval sealed while it waits for its wave; refusals are thrown. */
  sealApproved(id: string, actor: Actor, sealOf: (r: UpgradeRequest) => string, now?: number): Promise<UpgradeRequest>;
  /** A sealed, approved request marked queued (a fleet member's wave started); refusals are thrown. */
  markQueued(id: string, actor: Actor, detail: string, now?: number): Promise<UpgradeRequest>;
  /** Ends a request that never started; false when it had started or ended. */
  endNotStarted(id: string, reason: string, actor: Actor, now?: number): Promise<boolean>;
  setPlace(id: string, place: Place): Promise<UpgradeRequest>;
  linkRollback(id: string, rollbackId: string): Promise<void>;
  audit(id: string, actor: Actor, action: string, detail?: string, now?: number): Promise<void>;
  /** Decisions not tied to a request (e.g. a denied requester). */
  auditAccess(entry: AccessAuditEntry): Promise<void>;
  log(id: string): Promise<LogEntry[]>;
  history(cluster: string, namespace: string, release: string, limit?: number): Promise<UpgradeRequest[]>;
  /** The newest request that changed the release (started running), however many came after it. */
  latestChange(cluster: string, namespace: string, release: string): Promise<UpgradeRequest | null>;
}

/** Fleet upgrades (fleet-record.ts), kept beside the requests; changes are announced on the requests' channel. */
export interface FleetStore {
  /** A new id, never one handed out before (also after Redis lost its data). */
  newId(now?: number): Promise<string>;
  create(fleet: FleetRecord): Promise<void>;
  get(id: string): Promise<FleetRecord | null>;
  require(id: string): Promise<FleetRecord>;
  /** The fleet record's change count (grows with every change). */
  version(id: string): Promise<number>;
  /** Applies a rule atomically (retried on a concurrent write); the last refusal is returned, nothing written. */
  decide(id: string, rule: (f: FleetRecord) => FleetRecord | UpgradeError | null): Promise<{ fleet: FleetRecord; changed: boolean; refusal: UpgradeError | null }>;
  /** Fleets not ended yet. */
  active(): Promise<string[]>;
  audit(id: string, actor: Actor, action: string, detail?: string, now?: number): Promise<void>;
  log(id: string): Promise<LogEntry[]>;
  /** Taken by whoever advances the fleet, so two advances never start more than its limit. */
  tryLock(id: string, ms: number): Promise<(() => Promise<void>) | null>;
}

export interface AccessAuditEntry {
  readonly at: number;
  readonly actor: Actor;
  readonly action: string;
  readonly allowed: boolean;
  readonly target: string;
  readonly reason: string;
}

export interface JobQueue {
  /** Idempotent: the request id is the job id. */
  enqueue(requestId: string): Promise<void>;
}

/** Which request version (and content) each Slack message shows, shared among bot replicas. */
export interface EditLedger {
  /** The request's change count, read before the request itself. */
  version(id: string): Promise<number>;
  claimEdit(messageTs: string, version: number, contentHash: string): Promise<boolean>;
  releaseEdit(messageTs: string, version: number, contentHash: string): Promise<void>;
}

/** Tells who listens that a request changed (an event, a phase, a vote), across processes. */
export interface RequestEvents {
  subscribe(onChange: (requestId: string) => void): Promise<() => Promise<void>>;
}

/** The engine as the bot sees it: read, plan; never changes the cluster itself. */
export interface UpgradeEngine {
  clusterName(cluster?: string): string;
  versions(cluster?: string): Promise<ChartEntry[]>;
  /**
   * `restarts`: container restarts of the release's pods, summed per component; absent when the
   * pods could not be read.
   */
  status(
    cluster: string | undefined,
    namespace: string,
    release: string,
  ): Promise<{ state: ReleaseState; running: string; restarts?: Readonly<Record<string, number>>; milvus?: DataSnapshot | { readonly notRead: string } }>;
  /** The Milvus releases helm keeps in a namespace of the cluster (every namespace when none is given). */
  releases(cluster: string | undefined, namespace?: string): Promise<HelmReleaseInfo[]>;
  planUpgrade(
    cluster: string | undefined,
    input: {
      release: string;
      namespace: string;
      version: string;
      strategy?: string;
      chart?: string;
      allowDataChanges?: { readonly by: string } | null;
      withoutDataChecks?: { readonly by: string } | null;
    },
  ): Promise<Plan>;
  planRollback(cluster: string | undefined, namespace: string, release: string): Promise<Plan>;
  /** A backup of `release` restored into a new release (issue 27). */
  planRestore(cluster: string | undefined, input: RestoreInput): Promise<Plan>;
}

export interface RestoreInput {
  readonly namespace: string;
  readonly release: string;
  readonly backup: string;
  readonly into?: string;
  readonly expected?: readonly { readonly name: string; readonly rows: number | null }[] | null;
}
