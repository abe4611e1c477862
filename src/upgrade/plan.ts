/**
 * The shared words of the domain: what a plan is, what it was made from, and the lookups every
 * room reads (drift, which rollback a route offers). Types and pure lookups only: a planner
 * imports another planner directly, never through here, so no circle runs through this file.
 */
import { InputError } from './errors.js';
import { crossesInto26 } from './milvus/components.js';
import type { QueueKind } from './milvus/message-queue.js';
import { compareVersions, flavourOfImage, tryParseVersion, versionOfImage, type ImageFlavour, type MilvusVersion } from './milvus/version.js';
import type { ObjectChange } from './objects.js';
import type { ReleaseState } from './state.js';
import type { Step } from './steps.js';
import type { PlanData } from './data-snapshot.js';
import type { BackupPlan, RestoreOffer } from './backup.js';

export type UpgradePath = 'helm' | 'rolling' | 'migrate';
/**
 * What a person may ask for: a path, or `helm-parallel`, the helm path as plain helm does it
 * (every Deployment at once) instead of the bot's default, components rolled in Milvus's order.
 */
export type Strategy = UpgradePath | 'helm-parallel';
export const STRATEGIES: readonly Strategy[] = ['helm', 'helm-parallel', 'rolling', 'migrate'];

export function pathOfStrategy(strategy: Strategy | undefined): UpgradePath | undefined {
  return strategy === 'helm-parallel' ? 'helm' : strategy;
}

/** An upgrade, its rollback, or a backup restored into a new release (the way back past a one-way step). */
export type PlanKind = 'upgrade' | 'rollback' | 'restore';

export interface DataRisk {
  /** `StatefulSet/my-release-pulsar-bookie`, or `message queue`. */
  readonly subject: string;
  readonly reason: string;
}

export interface PlanSettings {
  readonly repoName: string;
  readonly repoUrl: string;
  /** helm --timeout for one upgrade or rollback. */
  readonly helmTimeoutSeconds: number;
  /** How long one Deployment may take to roll out. */
  readonly rolloutTimeoutSeconds: number;
  /** rollingUpdate.sh sets minReadySeconds 30 on coordinators so a new one settles first. */
  readonly coordinatorMinReadySeconds: number;
  /** The health gate: how long every pod must stay Ready, without restarts, after a hop. */
  readonly healthSettleSeconds: number;
  /** The data gate: how long loaded collections may take to be loaded again after a hop. */
  readonly dataTimeoutSeconds: number;
  /** How long a milvus-backup backup before a hop may take. */
  readonly backupTimeoutSeconds: number;
  readonly migration: {
    readonly image: string;
    /** etcd root of the metadata; null: the one the release's config names (by-dev when none). */
    readonly rootPath: string | null;
    readonly storageClass: string | null;
    /** Overrides the release's etcd Service (`host:port`). */
    readonly etcdEndpoint: string | null;
    readonly sessionFallbackSeconds: number;
    readonly deleteResourcesWhenDone: boolean;
    readonly podTimeoutSeconds: number;
  };
}

export const DEFAULT_PLAN_SETTINGS: PlanSettings = {
  repoName: 'zilliztech',
  repoUrl: 'https://zilliztech.github.io/milvus-helm',
  helmTimeoutSeconds: 1800,
  rolloutTimeoutSeconds: 600,
  coordinatorMinReadySeconds: 30,
  healthSettleSeconds: 30,
  dataTimeoutSeconds: 600,
  backupTimeoutSeconds: 3600,
  migration: {
    // What today's migrate.sh and the Milvus Operator use (the plain v2.2.0 is older).
    image: 'milvusdb/meta-migration:v2.2.0-bugfix-20230112',
    rootPath: null,
    storageClass: null,
    etcdEndpoint: null,
    sessionFallbackSeconds: 75,
    deleteResourcesWhenDone: false,
    podTimeoutSeconds: 1800,
  },
};

/** What the plan was made from: if any of it changes before the run, the plan is stale. */
export interface ObservedFingerprint {
  readonly helmRevision: number;
  readonly helmStatus: string;
  readonly chartVersion: string;
  readonly images: Readonly<Record<string, string>>;
}

export interface RollbackPlan {
  readonly path: UpgradePath;
  readonly summary: string;
  readonly steps: readonly Step[];
}

export interface Plan {
  readonly id: string;
  readonly kind: PlanKind;
  readonly cluster: string;
  readonly namespace: string;
  readonly release: string;
  readonly path: UpgradePath;
  readonly from: string;
  readonly to: string;
  readonly chart: { readonly ref: string; readonly version: string; readonly appVersion: string } | null;
  readonly image: string;
  /** Why this path and chart, one sentence each. */
  readonly reasons: readonly string[];
  readonly steps: readonly Step[];
  readonly warnings: readonly string[];
  readonly rollback: RollbackPlan | null;
  readonly observed: ObservedFingerprint;
  // Optional: plans stored by earlier versions of the bot have none of these.
  /** Every object the plan adds, removes or changes (helm path: from helm's own rendering). */
  readonly changes?: readonly ObjectChange[];
  /** The queue in use and what the plan does with it. */
  readonly messageQueue?: { readonly kind: QueueKind | null; readonly note: string };
  /** Set only when someone allowed changes to what holds data: who, and which. */
  readonly dataChanges?: { readonly allowedBy: string; readonly risks: readonly DataRisk[] } | null;
  /** Why there is no rollback, when the planner says more than the default (see noRollbackReason). */
  readonly noRollback?: string | null;
  /** Milvus's view of the data when planned, the canaries, or why it was not read (issue 26). */
  readonly data?: PlanData;
  /** A route (see route.ts): the hops whose steps `steps` runs in sequence. Absent: one hop. */
  readonly hops?: readonly RouteHop[];
  /** The backup a one-hop plan takes first (issue 27; a route has one per hop); null: none. */
  readonly backup?: BackupPlan | null;
  /** A one-hop plan with no rollback and a backup: the way back, a restore into a new release. */
  readonly restore?: RestoreOffer | null;
  /** A backup is wanted and no service is configured; `required`: the plan needs --without-backup. */
  readonly backupMissing?: { readonly reason: string; readonly required: boolean } | null;
  /** Set only when an approver let a plan that requires a backup run without one. */
  readonly withoutBackup?: { readonly by: string } | null;
  /** A restore plan: which backup of which release it restores, and the helm revision it rebuilds. */
  readonly restoreOf?: RestoreSourceRef;
}

export interface RestoreSourceRef {
  /** The release the backup was taken of (left as it is). */
  readonly release: string;
  readonly backup: string;
  /** The milvus-backup server that holds and reports the backup. */
  readonly backupUrl: string;
  /** The source's helm revision whose chart and values the new release gets. */
  readonly revision: number;
  readonly collections: number;
  readonly sizeBytes: number;
}

export interface RouteHop {
  readonly from: string;
  readonly to: string;
  readonly path: Plan['path'];
  readonly chart: Plan['chart'];
  /** The hop's `--set` values (helm hops). */
  readonly set: Readonly<Record<string, string>>;
  /** Its steps are the route's steps firstStep..firstStep+steps.length-1. */
  readonly firstStep: number;
  readonly steps: readonly Step[];
  readonly changes: NonNullable<Plan['changes']>;
  readonly warnings: readonly string[];
  readonly rollback: RollbackPlan | null;
  /** Why there is no rollback, when there is none. */
  readonly noRollback: string | null;
  /** The backup taken as the hop's first step (issue 27); null or absent: none. */
  readonly backup?: BackupPlan | null;
  /** The hop has no rollback and a backup: restoring it into a new release is the way back. */
  readonly restore?: RestoreOffer | null;
}

export function planId(cluster: string, namespace: string, release: string, to: string): string {
  return `${cluster}/${namespace}/${release}@${to}`;
}

export function fingerprint(state: ReleaseState): ObservedFingerprint {
  const images: Record<string, string> = {};
  for (const c of state.components) images[c.deployment] = c.image;
  return {
    helmRevision: state.helm.revision,
    helmStatus: state.helm.status,
    chartVersion: state.helm.chartVersion,
    images,
  };
}

/** The image flavour the release runs (the proxy's or standalone's image): kept by every plan. */
export function runningFlavour(state: Pick<ReleaseState, 'components'>): ImageFlavour | null {
  const main = state.components.find((c) => c.component === 'proxy') ?? state.components.find((c) => c.component === 'standalone') ?? state.components[0];
  return main ? flavourOfImage(main.image) : null;
}

/** The version the release really runs: the proxy's image (SPEC §3), else the oldest component. */
export function runningVersion(state: ReleaseState): MilvusVersion {
  const byComponent = (name: string) => state.components.find((c) => c.component === name);
  const main = byComponent('proxy') ?? byComponent('standalone');
  const fromMain = main ? versionOfImage(main.image) : null;
  if (fromMain) return fromMain;
  const versions = state.components
    .map((c) => versionOfImage(c.image))
    .filter((v): v is MilvusVersion => v !== null)
    .sort(compareVersions);
  const fromApp = tryParseVersion(state.helm.appVersion);
  const oldest = versions[0] ?? fromApp;
  if (!oldest) {
    throw new InputError(`cannot tell which Milvus version ${state.release} runs`, [
      `no image tag of its Deployments is a version (${state.components.map((c) => c.image).join(', ')})`,
    ]);
  }
  return oldest;
}

/** Differences between what a plan was made from and the release now; empty when none. */
export function driftOf(plan: Pick<Plan, 'observed'>, now: ReleaseState): string[] {
  const before = plan.observed;
  const after = fingerprint(now);
  const out: string[] = [];
  if (before.helmRevision !== after.helmRevision) out.push(`helm revision ${before.helmRevision} -> ${after.helmRevision}`);
  if (before.helmStatus !== after.helmStatus) out.push(`helm status ${before.helmStatus} -> ${after.helmStatus}`);
  if (before.chartVersion !== after.chartVersion) out.push(`chart ${before.chartVersion} -> ${after.chartVersion}`);
  for (const [d, image] of Object.entries(before.images)) {
    const nowImage = after.images[d];
    if (nowImage === undefined) out.push(`Deployment ${d} is gone`);
    else if (nowImage !== image) out.push(`${d}: ${image} -> ${nowImage}`);
  }
  for (const d of Object.keys(after.images)) if (!(d in before.images)) out.push(`new Deployment ${d}`);
  return out;
}

/**
 * The rollback a request offers once it stopped after `completedSteps` steps: a route offers
 * that of the hop it stopped in (the last one when it finished), a plain plan its own.
 */
/**
 * A route's rollback undoes every hop that began, in reverse, each its own way (a helm hop by
 * helm, the migration by its metadata restore): back to where the route started, never to a
 * middle that older images cannot read. None when any of them has no way back.
 */
export function rollbackAt(plan: Pick<Plan, 'rollback' | 'hops'>, completedSteps: number): RollbackPlan | null {
  if (!plan.hops || plan.hops.length === 0) return plan.rollback;
  const undone = hopsToUndo(plan.hops, completedSteps);
  if (undone.some((h) => !h.rollback)) return null;
  if (undone.length === 1) return undone[0]!.rollback;
  let at = 0;
  const steps = undone.flatMap((h) => {
    const label = `[undo ${h.to} -> ${h.from}]`;
    const mine = h.rollback!.steps.map((st): Step => (st.kind === 'check-health' ? { ...st, sinceStep: st.sinceStep + at, description: `${label} ${st.description}` } : { ...st, description: `${label} ${st.description}` }));
    at += mine.length;
    return mine;
  });
  return {
    // The last one run says what the release goes back through (e.g. the migration's restore).
    path: undone[undone.length - 1]!.rollback!.path,
    summary: `undo each hop, the last first: ${undone.map((h) => `${h.to} → ${h.from} (${h.rollback!.summary})`).join('; then ')}`,
    steps,
  };
}

/** The versions a plan goes through: from, each hop's target; a one-hop plan, from and to. */
export function routeVersions(plan: Pick<Plan, 'from' | 'to' | 'hops'>): string[] {
  return plan.hops && plan.hops.length > 0 ? [plan.from, ...plan.hops.map((h) => h.to)] : [plan.from, plan.to];
}

/** The hops a rollback undoes, the last first: every hop that began (at least the first). */
export function hopsToUndo(hops: readonly RouteHop[], completedSteps: number): RouteHop[] {
  const began = hops.filter((h) => h.firstStep < completedSteps);
  return (began.length > 0 ? began : hops.slice(0, 1)).reverse();
}

/**
 * Every hop of a plan, a one-hop plan as its single hop: what `--json` and the card show per hop
 * (its backup, its rollback or why none, and then the restore offer).
 */
export function hopViews(plan: Plan): RouteHop[] {
  if (plan.hops && plan.hops.length > 0) return [...plan.hops];
  const upgrade = plan.steps.find((s): s is Extract<Step, { kind: 'helm-upgrade' }> => s.kind === 'helm-upgrade');
  return [
    {
      from: plan.from,
      to: plan.to,
      path: plan.path,
      chart: plan.chart,
      set: upgrade?.set ?? {},
      firstStep: 0,
      steps: plan.steps,
      changes: plan.changes ?? [],
      warnings: plan.warnings,
      rollback: plan.rollback,
      noRollback: plan.rollback || plan.kind === 'rollback' ? null : noRollbackReason(plan, plan.steps.length),
      backup: plan.backup ?? null,
      restore: plan.restore ?? null,
    },
  ];
}

export function hopAt(hops: readonly RouteHop[], completedSteps: number): RouteHop {
  const inside = hops.find((h) => completedSteps < h.firstStep + h.steps.length);
  return inside ?? hops[hops.length - 1]!;
}

/** Why a request offers no rollback, for the card: the hop's reason, else the plan's. */
export function noRollbackReason(plan: Pick<Plan, 'rollback' | 'hops' | 'from' | 'to' | 'noRollback'>, completedSteps: number): string | null {
  if (plan.hops && plan.hops.length > 0) {
    const blocked = hopsToUndo(plan.hops, completedSteps).find((h) => !h.rollback);
    return blocked ? blocked.noRollback : null;
  }
  if (plan.rollback) return null;
  if (plan.noRollback) return plan.noRollback;
  return crossesInto26(plan.from, plan.to) ? INTO_26_IS_FOR_GOOD : `${plan.to} cannot be rolled back`;
}

export const INTO_26_IS_FOR_GOOD = 'into Milvus 2.6 there is no way back (the metadata changes for good): restore a backup into a new release';
