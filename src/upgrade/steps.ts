/**
 * A plan is a list of steps; each step is plain data (JSON-safe) so the same object is shown
 * in Slack, printed by the CLI, stored with the approval and executed. Every step is written
 * so that running it again after a crash is safe: its handler looks at the live state first.
 */
import type { CanaryRows } from './data-snapshot.js';
import type { ExpectedBackupCollection } from './backup.js';

export interface DeploymentTarget {
  readonly component: string;
  readonly deployment: string;
  readonly image: string;
  readonly versionLabel: string;
  /**
   * What to write into the Deployment's rollback annotations in the same patch: the image and
   * label it ran before the bot changed it (from the plan, never re-read live, so a resumed step
   * cannot record the new image as the old one); null clears them (after a rollback).
   */
  readonly recordPrevious: {
    readonly image: string;
    readonly versionLabel: string | null;
    /** The helm revision at the time: a later helm upgrade or rollback makes the mark stale. */
    readonly helmRevision: number;
  } | null;
}

/**
 * A Deployment as it ran before a hop whose helm rollback cannot restore it (the migration or a
 * rolling upgrade set its image outside helm): image, label and the bot's marks. The marks are
 * written at helm's revision when the step runs (a rollback makes a new one).
 */
export interface RestoredDeployment {
  readonly component: string;
  readonly deployment: string;
  readonly image: string;
  readonly versionLabel: string | null;
  readonly recordPrevious: { readonly image: string; readonly versionLabel: string | null } | null;
}

export interface DeploymentReplicas {
  readonly component: string;
  readonly deployment: string;
  readonly replicas: number;
}

interface StepBase {
  /** One line a person reads: what this step does to what. */
  readonly description: string;
}

export type Step =
  | (StepBase & { readonly kind: 'helm-repo-update'; readonly repoName: string; readonly repoUrl: string })
  | (StepBase & {
      readonly kind: 'helm-upgrade';
      readonly chartRef: string;
      readonly chartVersion: string;
      /** `--set` values beyond the reused ones, e.g. image.all.tag. */
      readonly set: Readonly<Record<string, string>>;
      /** helm revision the release had when planned: the upgrade is done once a later one is deployed with this chart. */
      readonly fromRevision: number;
      readonly timeoutSeconds: number;
      /** false: no `--wait` (the ordered path rolls the paused Deployments itself); absent in older plans = true. */
      readonly wait?: boolean;
    })
  | (StepBase & { readonly kind: 'helm-rollback'; readonly toRevision: number; readonly timeoutSeconds: number; readonly wait?: boolean })
  | (StepBase & {
      /**
       * Pauses every Milvus Deployment of the release (read when the step runs, so a rollback
       * planned before the upgrade pauses what the upgrade left), marking each as paused by the bot.
       */
      readonly kind: 'pause-deployments';
    })
  | (StepBase & {
      /**
       * Resumes the Deployments of one component that the bot paused and waits until every
       * Deployment of that component is rolled out; null: every one the bot paused that is left.
       */
      readonly kind: 'resume-deployments';
      readonly component: string | null;
      /**
       * Resumed right after `component`, without waiting for it, then waited for together: a
       * 2.6 streamingnode is healthy only once a 2.6 mixcoord is (SPEC §9). Absent in older plans.
       */
      readonly with?: readonly string[];
      readonly timeoutSeconds: number;
    })
  | (StepBase & {
      /**
       * Marks these components' Deployments `helm.sh/resource-policy: keep`, so the helm upgrade
       * that drops them from the chart leaves them running: they go after every other component
       * has rolled (remove-deployments), as Milvus's guide removes indexnode after proxy into 2.6.
       */
      readonly kind: 'keep-deployments';
      readonly components: readonly string[];
    })
  | (StepBase & {
      /**
       * Right after a helm rollback that left the Deployments paused: their templates set back to
       * what ran before the hop (helm's older revision records older images), so no pod of those
       * ever starts. Deployments that are gone are left.
       */
      readonly kind: 'restore-deployments';
      readonly targets: readonly RestoredDeployment[];
    })
  | (StepBase & {
      /** Deletes these components' Deployments and waits until no pod of them is left, graceful stop included. */
      readonly kind: 'remove-deployments';
      readonly components: readonly string[];
      readonly timeoutSeconds: number;
    })
  | (StepBase & { readonly kind: 'wait-rollout'; readonly deployments: readonly string[]; readonly timeoutSeconds: number })
  | (StepBase & {
      /**
       * Waits until these StatefulSets (the release's etcd, MinIO, Pulsar or Kafka that helm just
       * changed) run their new revision with every pod ready: Milvus resumes on its dependencies
       * settled, not while they restart.
       */
      readonly kind: 'wait-statefulsets';
      readonly statefulSets: readonly string[];
      readonly timeoutSeconds: number;
    })
  | (StepBase & {
      readonly kind: 'enable-active-standby';
      readonly configMap: string;
      /** The key the pods mount as user.yaml: `user.yaml`, or `milvus.yaml` for a customConfigMap. */
      readonly key: string;
    })
  | (StepBase & {
      readonly kind: 'update-deployment';
      readonly target: DeploymentTarget;
      /** The script's `minReadySeconds: 30` for coordinators; null leaves the field as it is. */
      readonly minReadySeconds: number | null;
      readonly timeoutSeconds: number;
    })
  | (StepBase & {
      /**
       * The health gate after a hop: every Milvus pod Ready, still Ready after the settle window,
       * no container restarted since step `sinceStep` began, none in CrashLoopBackOff.
       */
      readonly kind: 'check-health';
      readonly settleSeconds: number;
      readonly timeoutSeconds: number;
      /** The hop's first step (plan index): restarts after that one started count. */
      readonly sinceStep: number;
    })
  | (StepBase & {
      /**
       * The data gate after a hop (issue 26): Milvus's CheckHealth healthy, every collection that
       * was loaded before loaded again, no row count lower than before, each canary's keys found
       * again and a search with their vector answered. Waits up to timeoutSeconds for all of it.
       */
      readonly kind: 'check-data';
      /** `host:port` of the release's Milvus; the credentials are read when the step runs. */
      readonly address: string;
      /** The collections as they were when the plan was made. */
      readonly expected: readonly { readonly name: string; readonly loaded: boolean; readonly rowCount: number | null }[];
      readonly canaries: readonly CanaryRows[];
      readonly timeoutSeconds: number;
    })
  | (StepBase & {
      /**
       * A backup with milvus-backup before a step that cannot be undone (issue 27): created
       * under `name` (so a resumed run finds it), waited for, and held to the data snapshot:
       * every collection it saw, with bytes where it had rows. The hop's first step: a backup
       * that fails stops the route before the hop changes anything.
       */
      readonly kind: 'backup';
      /** The milvus-backup server (its base URL); the worker runs it only at its own config's URL. */
      readonly url: string;
      readonly name: string;
      readonly expected: readonly ExpectedBackupCollection[];
      readonly timeoutSeconds: number;
    })
  | (StepBase & {
      /**
       * Installs the plan's release (a NEW one: a restore's target) with the chart and values a
       * revision of another release ran: the values are read from helm when the step runs, never
       * carried in the record. Done once the release is deployed with this chart.
       */
      readonly kind: 'helm-install';
      readonly chartRef: string;
      readonly chartVersion: string;
      /** Whose values, of which helm revision (`helm get values <release> --revision <n>`). */
      readonly valuesOf: { readonly release: string; readonly revision: number };
      /** `--set` over those values (the image tag the revision ran, when its values do not say it). */
      readonly set: Readonly<Record<string, string>>;
      readonly timeoutSeconds: number;
    })
  | (StepBase & {
      /**
       * A milvus-backup restore into the plan's release (issue 27): asked under `taskId` (so a
       * resumed run finds it), waited for until every collection is restored.
       */
      readonly kind: 'restore-backup';
      /** The milvus-backup server that writes into the plan's release (its config's URL for it). */
      readonly url: string;
      readonly backup: string;
      readonly taskId: string;
      readonly collections: readonly string[];
      readonly timeoutSeconds: number;
    })
  | (StepBase & {
      /** The last step of a rolling plan: checks, does not wait; fails naming what is off. */
      readonly kind: 'verify-deployments';
      /** Each Deployment the plan changed and the image it must run now, rolled out. */
      readonly expected: readonly { readonly deployment: string; readonly image: string }[];
      /**
       * When set, every live Deployment of the release on this image's repository must run this
       * image too, so none is left behind (one the plan did not know, e.g. a new resource group).
       */
      readonly everyMilvusDeploymentOn: string | null;
    })
  | (StepBase & { readonly kind: 'save-replicas'; readonly configMap: string; readonly replicas: readonly DeploymentReplicas[] })
  | (StepBase & { readonly kind: 'stop-milvus'; readonly deployments: readonly string[]; readonly podSelector: string; readonly timeoutSeconds: number })
  | (StepBase & {
      readonly kind: 'wait-sessions-expired';
      readonly etcdEndpoint: string | null;
      readonly rootPath: string;
      /** Used only when etcd cannot be reached from the bot: Milvus's session TTL plus margin. */
      readonly fallbackSeconds: number;
      readonly timeoutSeconds: number;
    })
  | (StepBase & { readonly kind: 'ensure-backup-pvc'; readonly pvc: string; readonly storageClass: string | null; readonly size: string })
  | (StepBase & { readonly kind: 'ensure-migration-config'; readonly configMap: string; readonly files: Readonly<Record<string, string>> })
  | (StepBase & {
      readonly kind: 'run-meta-migration';
      readonly action: 'backup' | 'migrate' | 'rollback';
      readonly pod: string;
      readonly image: string;
      readonly configMap: string;
      readonly pvc: string;
      readonly configFile: string;
      readonly timeoutSeconds: number;
    })
  | (StepBase & { readonly kind: 'delete-pod'; readonly pod: string })
  | (StepBase & { readonly kind: 'delete-config-map'; readonly configMap: string })
  | (StepBase & {
      readonly kind: 'start-milvus';
      readonly replicasConfigMap: string;
      readonly targets: readonly DeploymentTarget[];
      readonly timeoutSeconds: number;
    })
  | (StepBase & { readonly kind: 'delete-migration-resources'; readonly pods: readonly string[]; readonly pvc: string; readonly configMaps: readonly string[] });

/** Annotation the backup step leaves on the migration ConfigMap (the script's `backup=succeed`). */
export const BACKUP_MARK = { key: 'backup', value: 'succeed' } as const;

/** Annotations the bot leaves on Deployments it changed outside helm, so a later rollback knows the old state. */
export const PREVIOUS_IMAGE_ANNOTATION = 'milvus-upgrade-bot.io/previous-image';
export const PREVIOUS_VERSION_ANNOTATION = 'milvus-upgrade-bot.io/previous-version';
export const MARK_HELM_REVISION_ANNOTATION = 'milvus-upgrade-bot.io/helm-revision';
/** On a Deployment the bot paused for an ordered helm upgrade or rollback; removed when resumed. */
export const PAUSED_BY_BOT_ANNOTATION = 'milvus-upgrade-bot.io/paused';
/**
 * The same mark as a label (value `true`), set and removed with the annotation: a label selector
 * finds what the bot left paused from Kubernetes alone, even after Redis lost every record.
 */
export const PAUSED_BY_BOT_LABEL = 'milvus-upgrade-bot.io/paused';

/** What a run reports as it goes: the request's log keeps it, Slack and the CLI show it. */
export type RunEvent =
  | { readonly type: 'step-started'; readonly index: number; readonly total: number; readonly step: Step }
  | { readonly type: 'step-progress'; readonly index: number; readonly total: number; readonly message: string }
  | {
      readonly type: 'step-finished';
      readonly index: number;
      readonly total: number;
      /** True when the live state showed the step was already done (a resumed run). */
      readonly skipped: boolean;
      readonly detail: string;
    }
  | { readonly type: 'step-failed'; readonly index: number; readonly total: number; readonly error: string; readonly code: string };
