/**
 * Every setting, read once from the environment and checked with zod. Nothing else reads
 * process.env: main.ts builds this object and passes it down.
 */
import { z } from 'zod';
import { DEFAULT_PLAN_SETTINGS, type PlanSettings } from './upgrade/plan.js';
import { DEFAULT_REQUEST_RETENTION_DAYS } from './upgrade/requests.js';
import { addressFromTemplate, DEFAULT_MILVUS_ADDRESS, isMilvusAddress } from './upgrade/data-snapshot.js';
import { isBackupUrl } from './upgrade/backup.js';

const RELEASE_KEY = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** `context=template,context=template`: a template per cluster (kubeconfig context), each checked. */
function perCluster(valid: (template: string) => boolean, shape: string, key: 'context' | 'namespace/release' = 'context') {
  return z
    .string()
    .default('')
    .transform((s, ctx) => {
      const out: Record<string, string> = {};
      for (const pair of s.split(',').map((p) => p.trim()).filter(Boolean)) {
        const at = pair.indexOf('=');
        const template = pair.slice(at + 1);
        const bad = at <= 0 || !valid(template) || (key === 'namespace/release' && !RELEASE_KEY.test(pair.slice(0, at)));
        if (bad) ctx.addIssue({ code: 'custom', message: `"${pair.slice(0, 80)}" is not ${key}=${shape}` });
        else out[pair.slice(0, at)] = template;
      }
      return out;
    });
}

function validBackupTemplate(template: string): boolean {
  return isBackupUrl(addressFromTemplate(template, { release: 'r', namespace: 'ns', fullname: 'r-milvus' }));
}

function validTemplate(template: string): boolean {
  return isMilvusAddress(addressFromTemplate(template, { release: 'r', namespace: 'ns', fullname: 'r-milvus' }));
}

/**
 * bot: Slack; worker: runs upgrades and renders plans; planner: renders plans only (beside a bot
 * that should render its own, or as a small replica set of its own).
 */
const ROLES = ['bot', 'worker', 'planner'] as const;
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v));
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Each entry: the environment variable, its schema (with default), and what it is for. */
const schema = z.object({
  ROLES: z.string().default('bot,worker').transform((s, ctx) => {
    const roles = s.split(',').map((r) => r.trim()).filter(Boolean);
    for (const r of roles) if (!(ROLES as readonly string[]).includes(r)) ctx.addIssue({ code: 'custom', message: `unknown role "${r}" (bot, worker, planner)` });
    return roles as Array<(typeof ROLES)[number]>;
  }),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /**
   * The bot's Redis commands (clicks, commands, /readyz) fail after this long: a stalled Redis is
   * answered like a closed one, not by a click that hangs and applies later.
   */
  REDIS_COMMAND_TIMEOUT_MS: int(100, 60_000).default(2000),
  /** Prefix of every Redis key (requests, logs, locks, the queue): one per deployment. */
  KEY_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]+:$/, 'letters, digits, "_.-", ending with ":"').default('mub:'),
  KUBECONFIG: z.string().optional(),
  /** Default cluster: a kubeconfig context name; absent: the kubeconfig's current context. */
  KUBE_CONTEXT: z.string().optional(),
  HELM_BIN: z.string().optional(),
  MILVUS_CHART_REPO_NAME: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/).default(DEFAULT_PLAN_SETTINGS.repoName),
  MILVUS_CHART_REPO_URL: z.string().url().default(DEFAULT_PLAN_SETTINGS.repoUrl),
  HELM_TIMEOUT_SECONDS: int(30, 86_400).default(DEFAULT_PLAN_SETTINGS.helmTimeoutSeconds),
  ROLLOUT_TIMEOUT_SECONDS: int(5, 86_400).default(DEFAULT_PLAN_SETTINGS.rolloutTimeoutSeconds),
  COORDINATOR_MIN_READY_SECONDS: int(0, 3600).default(DEFAULT_PLAN_SETTINGS.coordinatorMinReadySeconds),
  /** The health gate after a hop: how long every pod must stay Ready without a restart. */
  HEALTH_SETTLE_SECONDS: int(0, 3600).default(DEFAULT_PLAN_SETTINGS.healthSettleSeconds),
  /** The data gate after a hop: how long loaded collections may take to be loaded again. */
  DATA_TIMEOUT_SECONDS: int(5, 86_400).default(DEFAULT_PLAN_SETTINGS.dataTimeoutSeconds),
  /** required: a Milvus the bot cannot read needs an approver's --without-data-checks; off: never read (every card says so). */
  MILVUS_DATA_CHECKS: z.enum(['required', 'off']).default('required'),
  /** Where a release's Milvus answers: {release}, {namespace}, {fullname} replaced; no placeholder: a fixed gateway. */
  MILVUS_ADDRESS: z.string().default(DEFAULT_MILVUS_ADDRESS).refine(validTemplate, 'host:port once {release}, {namespace} and {fullname} are replaced'),
  /** Per cluster (kubeconfig context): `context=template,context=template`; MILVUS_ADDRESS for the rest. */
  MILVUS_ADDRESS_BY_CLUSTER: perCluster(validTemplate, 'host:port'),
  /**
   * Per release, over the templates: `namespace/release=host:port,...`, in every cluster. For a
   * release whose Milvus the template does not reach (a restore's new release exposed elsewhere).
   */
  MILVUS_ADDRESS_BY_RELEASE: perCluster(validTemplate, 'host:port', 'namespace/release'),
  /** A Secret in the release's namespace with `token`, or `username` and `password` ({release}, {namespace} replaced). */
  MILVUS_CREDENTIALS_SECRET: z.string().regex(/^[a-z0-9{}.-]+$/, 'a Secret name; {release} and {namespace} may be used').optional(),
  MILVUS_TLS: bool.default(false),
  /** The release's milvus-backup server (issue 27): a URL template like MILVUS_ADDRESS; unset: no backups. */
  BACKUP_URL: z.string().optional().refine((t) => t === undefined || t === '' || validBackupTemplate(t), 'an http(s) URL once {release}, {namespace} and {fullname} are replaced'),
  /** Per cluster (kubeconfig context): `context=url,context=url`; BACKUP_URL for the rest. */
  BACKUP_URL_BY_CLUSTER: perCluster(validBackupTemplate, 'http(s)://host:port'),
  /** Per release, over the templates: `namespace/release=url,...` (a restore's new release has its own server). */
  BACKUP_URL_BY_RELEASE: perCluster(validBackupTemplate, 'http(s)://host:port', 'namespace/release'),
  /** one-way: a backup before steps that cannot be undone (required into 3.0); always: before every upgrade, required. */
  BACKUP_POLICY: z.enum(['one-way', 'always']).default('one-way'),
  BACKUP_TIMEOUT_SECONDS: int(10, 86_400).default(DEFAULT_PLAN_SETTINGS.backupTimeoutSeconds),
  POLL_INTERVAL_MS: int(50, 60_000).default(1000),
  MIGRATION_IMAGE: z.string().min(1).default(DEFAULT_PLAN_SETTINGS.migration.image),
  /** Overrides the etcd root the release's config names (unset: that one, by-dev when none). */
  META_ROOT_PATH: z.string().min(1).optional(),
  MIGRATION_STORAGE_CLASS: z.string().optional(),
  ETCD_ENDPOINT: z.string().optional(),
  SESSION_WAIT_SECONDS: int(0, 3600).default(DEFAULT_PLAN_SETTINGS.migration.sessionFallbackSeconds),
  APPROVALS_NEEDED: int(0, 10).default(1),
  ALLOW_SELF_APPROVAL: bool.default(false),
  /** Votes before a rollback runs, never the asker's own; 0 (no consent) only when set so. */
  ROLLBACK_APPROVALS: int(0, 10).default(1),
  REQUEST_TTL_MINUTES: int(1, 7 * 24 * 60).default(60),
  /** How long an ended request's record and log are kept (the latest change of a release: always). */
  REQUEST_RETENTION_DAYS: int(1, 36_500).default(DEFAULT_REQUEST_RETENTION_DAYS),
  /** Where the worker looks for Deployments the bot left paused even when Redis knows nothing (the chart sets it). */
  MANAGED_NAMESPACES: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((n) => n.trim()).filter((n) => n !== ''))
    .pipe(z.array(z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'namespace names, separated by commas'))),
  WORKER_CONCURRENCY: int(1, 100).default(2),
  JOB_ATTEMPTS: int(1, 50).default(5),
  JOB_BACKOFF_MS: int(100, 600_000).default(5000),
  JOB_LOCK_MS: int(1000, 600_000).default(30_000),
  JOB_STALLED_INTERVAL_MS: int(500, 600_000).default(30_000),
  /** On SIGTERM: how long the running steps may take to finish before the process exits. */
  SHUTDOWN_GRACE_SECONDS: int(0, 86_400).default(1860),
  /** How often abandoned requests are looked for (and ended, freeing their release). */
  RECONCILE_INTERVAL_SECONDS: int(1, 86_400).default(60),
  /** A queued or approved request with no job, quiet this long, is taken as abandoned. */
  RECONCILE_GRACE_SECONDS: int(1, 86_400).default(60),
  SLACK_MODE: z.enum(['http', 'socket']).default('http'),
  SLACK_BOT_TOKEN: z.string().optional(),
  SLACK_SIGNING_SECRET: z.string().optional(),
  SLACK_APP_TOKEN: z.string().optional(),
  SLACK_API_URL: z.string().url().optional(),
  PORT: int(0, 65_535).default(3000),
  /**
   * Commands and clicks worked on at once after their ack (the rest wait their turn). The bot runs
   * no helm process (plans render on workers), so this bounds Redis and API reads and the waits
   * for plans.
   */
  BOT_WORK_CONCURRENCY: int(1, 256).default(32),
  /**
   * How long the work after an ack may wait while other requests still wait for their acks: a
   * burst is acked first (Slack's 3 s), then worked on. 0: no wait beyond one event-loop turn.
   */
  BOT_WORK_DEFER_MS: int(0, 10_000).default(1000),
  /** How long the bot waits for a worker to render a plan before it says none did. */
  PLAN_TIMEOUT_SECONDS: int(1, 3600).default(120),
  /** Plans one worker (or planner) renders at once: each runs helm. */
  PLAN_CONCURRENCY: int(1, 64).default(4),
  /** How often the bot re-reads active requests to bring their Slack messages up to date. */
  PROGRESS_REREAD_MS: int(100, 3_600_000).default(10_000),
  ACCESS_CONFIG: z.string().optional(),
  /**
   * The policy file's maintenance windows and freezes (its `windows` and `freezes`; issue 28):
   * read by the worker (which holds runs) and the bot (which shows and refuses). Unset: the
   * access file (ACCESS_CONFIG) when there is one, else no windows.
   */
  SCHEDULE_CONFIG: z.string().optional(),
  /** How long one hop of an upgrade is expected to take: it starts only if that still fits in its window. */
  HOP_EXPECTED_MINUTES: int(1, 24 * 60).default(30),
  /** A held run looks again this often (a lifted freeze or an edited window is seen within it). */
  SCHEDULE_RECHECK_MS: int(100, 3_600_000).default(60_000),
  /**
   * The approval seal's key (32 bytes or more): a file, the mount of a Kubernetes Secret, or the
   * value. Bot and worker must hold the same one; never stored in Redis.
   */
  APPROVAL_SEAL_KEY_FILE: z.string().optional(),
  APPROVAL_SEAL_KEY: z.string().min(32, 'the approval seal key needs 32 characters or more').optional(),
  /** The queue dashboard (Bull Board): off unless a port is given. */
  DASHBOARD_PORT: int(0, 65_535).optional(),
  DASHBOARD_TOKEN: z.string().optional(),
  DASHBOARD_READ_ONLY: bool.default(true),
});

export interface AppConfig {
  readonly roles: ReadonlySet<'bot' | 'worker' | 'planner'>;
  readonly logLevel: string;
  readonly redisUrl: string;
  readonly redisCommandTimeoutMs: number;
  readonly keyPrefix: string;
  readonly kubeconfig?: string;
  readonly kubeContext?: string;
  readonly helmBin?: string;
  readonly plan: PlanSettings;
  /** How to reach Milvus itself (issue 26). */
  readonly milvus: {
    readonly checks: 'required' | 'off';
    readonly address: string;
    readonly addressByCluster: Readonly<Record<string, string>>;
    readonly addressByRelease: Readonly<Record<string, string>>;
    readonly credentialsSecret: string | null;
    readonly tls: boolean;
  };
  readonly backups: {
    readonly url: string | null;
    readonly urlByCluster: Readonly<Record<string, string>>;
    readonly urlByRelease: Readonly<Record<string, string>>;
    readonly policy: 'one-way' | 'always';
  };
  readonly pollIntervalMs: number;
  readonly approvals: { readonly needed: number; readonly allowSelf: boolean; readonly ttlMs: number; readonly rollbackNeeded: number };
  /** How long ended requests' records and logs are kept in Redis. */
  readonly retentionMs: number;
  /** The namespaces (of the default cluster) the sweep searches for Deployments the bot left paused. */
  readonly managedNamespaces: readonly string[];
  readonly worker: {
    readonly concurrency: number;
    readonly attempts: number;
    readonly backoffMs: number;
    readonly lockMs: number;
    readonly stalledIntervalMs: number;
    readonly shutdownGraceMs: number;
    readonly reconcileIntervalMs: number;
    readonly reconcileGraceMs: number;
  };
  readonly plans: { readonly timeoutMs: number; readonly concurrency: number };
  /** Where the windows and freezes are read from (null: none apply), how long a hop is expected to take, how often a held run looks again. */
  readonly schedule: { readonly path: string | null; readonly expectedHopSeconds: number; readonly recheckMs: number };
  readonly slack: {
    readonly mode: 'http' | 'socket';
    readonly botToken?: string;
    readonly signingSecret?: string;
    readonly appToken?: string;
    readonly apiUrl?: string;
    readonly port: number;
    readonly accessConfigPath?: string;
    readonly workConcurrency: number;
    readonly workDeferMs: number;
    readonly progressRereadMs: number;
  };
  readonly dashboard: { readonly port: number; readonly token: string; readonly readOnly: boolean } | null;
  /** Empty: a key of this process only (bot and worker in one process, e.g. the demo). */
  readonly approvalSeal: { readonly keyFile?: string; readonly key?: string };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
  }
}

/** Environment -> config, or ConfigError naming every missing or invalid setting. */
export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([k, v]) => k in schema.shape && v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  const roles = new Set(e.ROLES);
  if (roles.size === 0) problems.push('ROLES: name at least one of bot, worker, planner');
  if (roles.has('bot')) {
    if (!e.SLACK_BOT_TOKEN) problems.push('SLACK_BOT_TOKEN: required for the bot role');
    if (e.SLACK_MODE === 'http' && !e.SLACK_SIGNING_SECRET) problems.push('SLACK_SIGNING_SECRET: required in HTTP mode');
    if (e.SLACK_MODE === 'socket' && !e.SLACK_APP_TOKEN) problems.push('SLACK_APP_TOKEN: required in Socket Mode');
    if (!e.ACCESS_CONFIG) problems.push('ACCESS_CONFIG: required for the bot role (path of the access YAML; deny by default)');
  }
  // A bot and a worker in separate processes can only agree on seals through a shared key.
  const split = roles.has('bot') !== roles.has('worker');
  if (split && !e.APPROVAL_SEAL_KEY_FILE && !e.APPROVAL_SEAL_KEY) {
    problems.push('APPROVAL_SEAL_KEY_FILE: required when the bot and the worker run in separate processes (both mount the same Secret)');
  }
  if (e.DASHBOARD_PORT !== undefined && (e.DASHBOARD_TOKEN ?? '').length < 16) {
    problems.push('DASHBOARD_TOKEN: required (16 characters or more) when DASHBOARD_PORT is set');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    roles,
    logLevel: e.LOG_LEVEL,
    redisUrl: e.REDIS_URL,
    redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    keyPrefix: e.KEY_PREFIX,
    kubeconfig: e.KUBECONFIG,
    kubeContext: e.KUBE_CONTEXT,
    helmBin: e.HELM_BIN,
    plan: {
      repoName: e.MILVUS_CHART_REPO_NAME,
      repoUrl: e.MILVUS_CHART_REPO_URL,
      helmTimeoutSeconds: e.HELM_TIMEOUT_SECONDS,
      rolloutTimeoutSeconds: e.ROLLOUT_TIMEOUT_SECONDS,
      coordinatorMinReadySeconds: e.COORDINATOR_MIN_READY_SECONDS,
      healthSettleSeconds: e.HEALTH_SETTLE_SECONDS,
      dataTimeoutSeconds: e.DATA_TIMEOUT_SECONDS,
      backupTimeoutSeconds: e.BACKUP_TIMEOUT_SECONDS,
      migration: {
        image: e.MIGRATION_IMAGE,
        rootPath: e.META_ROOT_PATH ?? null,
        storageClass: e.MIGRATION_STORAGE_CLASS ?? null,
        etcdEndpoint: e.ETCD_ENDPOINT ?? null,
        sessionFallbackSeconds: e.SESSION_WAIT_SECONDS,
        deleteResourcesWhenDone: false,
        podTimeoutSeconds: DEFAULT_PLAN_SETTINGS.migration.podTimeoutSeconds,
      },
    },
    milvus: {
      checks: e.MILVUS_DATA_CHECKS,
      address: e.MILVUS_ADDRESS,
      addressByCluster: e.MILVUS_ADDRESS_BY_CLUSTER,
      addressByRelease: e.MILVUS_ADDRESS_BY_RELEASE,
      credentialsSecret: e.MILVUS_CREDENTIALS_SECRET ?? null,
      tls: e.MILVUS_TLS,
    },
    backups: { url: e.BACKUP_URL || null, urlByCluster: e.BACKUP_URL_BY_CLUSTER, urlByRelease: e.BACKUP_URL_BY_RELEASE, policy: e.BACKUP_POLICY },
    pollIntervalMs: e.POLL_INTERVAL_MS,
    approvals: { needed: e.APPROVALS_NEEDED, allowSelf: e.ALLOW_SELF_APPROVAL, ttlMs: e.REQUEST_TTL_MINUTES * 60_000, rollbackNeeded: e.ROLLBACK_APPROVALS },
    retentionMs: e.REQUEST_RETENTION_DAYS * 86_400_000,
    managedNamespaces: e.MANAGED_NAMESPACES,
    worker: {
      concurrency: e.WORKER_CONCURRENCY,
      attempts: e.JOB_ATTEMPTS,
      backoffMs: e.JOB_BACKOFF_MS,
      lockMs: e.JOB_LOCK_MS,
      stalledIntervalMs: e.JOB_STALLED_INTERVAL_MS,
      shutdownGraceMs: e.SHUTDOWN_GRACE_SECONDS * 1000,
      reconcileIntervalMs: e.RECONCILE_INTERVAL_SECONDS * 1000,
      reconcileGraceMs: e.RECONCILE_GRACE_SECONDS * 1000,
    },
    plans: { timeoutMs: e.PLAN_TIMEOUT_SECONDS * 1000, concurrency: e.PLAN_CONCURRENCY },
    schedule: { path: e.SCHEDULE_CONFIG ?? e.ACCESS_CONFIG ?? null, expectedHopSeconds: e.HOP_EXPECTED_MINUTES * 60, recheckMs: e.SCHEDULE_RECHECK_MS },
    slack: {
      mode: e.SLACK_MODE,
      botToken: e.SLACK_BOT_TOKEN,
      signingSecret: e.SLACK_SIGNING_SECRET,
      appToken: e.SLACK_APP_TOKEN,
      apiUrl: e.SLACK_API_URL,
      port: e.PORT,
      accessConfigPath: e.ACCESS_CONFIG,
      workConcurrency: e.BOT_WORK_CONCURRENCY,
      workDeferMs: e.BOT_WORK_DEFER_MS,
      progressRereadMs: e.PROGRESS_REREAD_MS,
    },
    approvalSeal: { ...(e.APPROVAL_SEAL_KEY_FILE ? { keyFile: e.APPROVAL_SEAL_KEY_FILE } : {}), ...(e.APPROVAL_SEAL_KEY ? { key: e.APPROVAL_SEAL_KEY } : {}) },
    dashboard: e.DASHBOARD_PORT === undefined ? null : { port: e.DASHBOARD_PORT, token: e.DASHBOARD_TOKEN!, readOnly: e.DASHBOARD_READ_ONLY },
  };
}

/** A cluster's milvus-backup server template and policy (BackupAccessSettings of src/cluster/backup-access.ts). */
export function backupAccessOf(b: AppConfig['backups'], cluster: string | undefined) {
  return { urlTemplate: (cluster !== undefined ? b.urlByCluster[cluster] : undefined) ?? b.url, byRelease: b.urlByRelease, policy: b.policy };
}

/** How a cluster's releases are reached (MilvusAccessSettings of src/cluster/milvus-access.ts). */
export function milvusAccessOf(m: AppConfig['milvus'], cluster: string | undefined) {
  return {
    checks: m.checks,
    addressTemplate: (cluster !== undefined ? m.addressByCluster[cluster] : undefined) ?? m.address,
    byRelease: m.addressByRelease,
    credentialsSecret: m.credentialsSecret,
    tls: m.tls,
  };
}
