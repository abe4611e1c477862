import { Document, parse as parseYaml, parseDocument } from 'yaml';
import { Cancelled, StepFailed, UpgradeError, explainError } from './errors.js';
import type { Plan } from './plan.js';
import type { Ports } from './ports.js';
import { rolloutProgress, type ComponentState } from './state.js';
import {
  BACKUP_MARK,
  MARK_HELM_REVISION_ANNOTATION,
  PREVIOUS_IMAGE_ANNOTATION,
  PREVIOUS_VERSION_ANNOTATION,
  type DeploymentTarget,
  type Step,
} from './steps.js';

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

export interface RunOptions {
  readonly ports: Ports;
  readonly signal?: AbortSignal;
  /** Awaited before the run goes on, so a durable log sees every event before the next action. */
  readonly onEvent?: (event: RunEvent) => void | Promise<void>;
  /** How often waits re-read the cluster. */
  readonly pollIntervalMs?: number;
  /** Resume: steps before this index are known to be finished. */
  readonly startAt?: number;
}

interface StepContext {
  readonly ports: Ports;
  readonly namespace: string;
  readonly release: string;
  readonly signal?: AbortSignal;
  readonly pollIntervalMs: number;
  progress(message: string): Promise<void>;
}

interface StepOutcome {
  readonly skipped: boolean;
  readonly detail: string;
}

/** Runs `steps` (the plan's, or its rollback's) in order. Throws StepFailed or Cancelled. */
export async function runSteps(
  plan: Pick<Plan, 'namespace' | 'release'>,
  steps: readonly Step[],
  options: RunOptions,
): Promise<void> {
  const total = steps.length;
  const emit = async (e: RunEvent) => {
    await options.onEvent?.(e);
  };
  for (let index = options.startAt ?? 0; index < total; index++) {
    if (options.signal?.aborted) throw new Cancelled(`cancelled before step ${index + 1} of ${total}`);
    const step = steps[index]!;
    await emit({ type: 'step-started', index, total, step });
    let lastMessage = '';
    const ctx: StepContext = {
      ports: options.ports,
      namespace: plan.namespace,
      release: plan.release,
      signal: options.signal,
      pollIntervalMs: options.pollIntervalMs ?? 500,
      async progress(message) {
        if (message === lastMessage) return;
        lastMessage = message;
        await emit({ type: 'step-progress', index, total, message });
      },
    };
    try {
      const outcome = await runStep(step, ctx);
      await emit({ type: 'step-finished', index, total, ...outcome });
    } catch (err) {
      const failure = asStepFailure(err, index, step);
      await emit({ type: 'step-failed', index, total, error: failure.explain(), code: failure.code });
      throw failure;
    }
  }
}

function asStepFailure(err: unknown, index: number, step: Step): UpgradeError {
  if (err instanceof StepFailed || err instanceof Cancelled) return err;
  if (err instanceof UpgradeError) return new StepFailed(index, err.message, err.details, { cause: err, code: err.code === 'timeout' ? 'timeout' : err.code === 'transient' ? 'transient' : 'step-failed' });
  return new StepFailed(index, `step ${index + 1} (${step.kind}) failed: ${explainError(err)}`, [], { cause: err });
}

function fail(message: string, details: string[] = []): never {
  throw new UpgradeError('step-failed', message, details);
}

async function runStep(step: Step, ctx: StepContext): Promise<StepOutcome> {
  switch (step.kind) {
    case 'helm-repo-update':
      await ctx.ports.helm.repoUpdate(step.repoName, step.repoUrl, ctx.signal);
      return done(`repository ${step.repoName} is up to date`);
    case 'helm-upgrade':
      return helmUpgrade(step, ctx);
    case 'helm-rollback':
      return helmRollback(step, ctx);
    case 'wait-rollout':
      return waitRollout(step.deployments, step.timeoutSeconds, ctx);
    case 'enable-active-standby':
      return enableActiveStandby(step.configMap, step.key, ctx);
    case 'update-deployment':
      return updateDeployment(step, ctx);
    case 'save-replicas': {
      const data: Record<string, string> = {};
      for (const r of step.replicas) data[r.deployment] = String(r.replicas);
      const created = await ctx.ports.cluster.createConfigMap(ctx.namespace, step.configMap, data);
      return created
        ? done(`saved ${step.replicas.map((r) => `${r.component}=${r.replicas}`).join(', ')}`)
        : skipped(`ConfigMap ${step.configMap} already holds the counts of an earlier run; kept`);
    }
    case 'stop-milvus':
      return stopMilvus(step, ctx);
    case 'wait-sessions-expired':
      return waitSessions(step, ctx);
    case 'ensure-backup-pvc': {
      if (!(await ctx.ports.cluster.storageClassExists(step.storageClass))) {
        fail(
          step.storageClass
            ? `storage class ${step.storageClass} does not exist`
            : 'the cluster has no default storage class for the backup PVC',
          ['name an existing one with --storage-class'],
        );
      }
      await ctx.ports.cluster.ensurePvc(ctx.namespace, step.pvc, step.storageClass, step.size);
      return done(`PVC ${step.pvc} is there`);
    }
    case 'ensure-migration-config':
      return ensureMigrationConfig(step.configMap, step.files, ctx);
    case 'run-meta-migration':
      return runMetaMigration(step, ctx);
    case 'delete-pod': {
      const phase = await ctx.ports.cluster.podPhase(ctx.namespace, step.pod);
      if (phase === null) return skipped(`pod ${step.pod} is not there`);
      await ctx.ports.cluster.deletePod(ctx.namespace, step.pod);
      return done(`deleted pod ${step.pod}`);
    }
    case 'start-milvus':
      return startMilvus(step, ctx);
    case 'delete-config-map': {
      if (!(await ctx.ports.cluster.configMap(ctx.namespace, step.configMap))) return skipped(`ConfigMap ${step.configMap} is not there`);
      await ctx.ports.cluster.deleteConfigMap(ctx.namespace, step.configMap);
      return done(`deleted ConfigMap ${step.configMap}`);
    }
    case 'delete-migration-resources': {
      for (const pod of step.pods) await ctx.ports.cluster.deletePod(ctx.namespace, pod);
      await ctx.ports.cluster.deletePvc(ctx.namespace, step.pvc);
      for (const cm of step.configMaps) await ctx.ports.cluster.deleteConfigMap(ctx.namespace, cm);
      return done('migration resources deleted');
    }
  }
}

const done = (detail: string): StepOutcome => ({ skipped: false, detail });
const skipped = (detail: string): StepOutcome => ({ skipped: true, detail });

async function helmUpgrade(step: Extract<Step, { kind: 'helm-upgrade' }>, ctx: StepContext): Promise<StepOutcome> {
  const { helm } = ctx.ports;
  const before = await helm.release(ctx.namespace, ctx.release);
  if (!before) fail(`helm release ${ctx.release} is gone from ${ctx.namespace}`);
  if (before.revision > step.fromRevision && before.chartVersion === step.chartVersion && before.status === 'deployed') {
    return skipped(`already on chart ${step.chartVersion} (revision ${before.revision})`);
  }
  if (before.status.startsWith('pending')) {
    // Another helm operation runs (or died): worth waiting for a while, so this is retried.
    throw new UpgradeError('transient', `helm release ${ctx.release} is "${before.status}" (revision ${before.revision}): another helm operation has not finished`, [
      `if it stays so, check "helm history ${ctx.release} -n ${ctx.namespace}" and roll back to the last deployed revision`,
    ]);
  }
  await ctx.progress(`helm upgrade to chart ${step.chartVersion} (waits until every pod is ready)`);
  await helm.upgrade({
    namespace: ctx.namespace,
    release: ctx.release,
    chartRef: step.chartRef,
    chartVersion: step.chartVersion,
    set: step.set,
    timeoutSeconds: step.timeoutSeconds,
    // No abort signal: killing helm mid-upgrade leaves the release "pending-upgrade". A cancel
    // takes effect when helm returns (its own --timeout bounds that).
  });
  const after = await helm.release(ctx.namespace, ctx.release);
  return done(`revision ${after?.revision ?? '?'} deployed with chart ${step.chartVersion}`);
}

async function helmRollback(step: Extract<Step, { kind: 'helm-rollback' }>, ctx: StepContext): Promise<StepOutcome> {
  const history = await ctx.ports.helm.history(ctx.namespace, ctx.release);
  const last = history[history.length - 1];
  if (!last) fail(`helm release ${ctx.release} has no history in ${ctx.namespace}`);
  if (last.status === 'deployed' && last.description === `Rollback to ${step.toRevision}`) {
    return skipped(`already rolled back to revision ${step.toRevision} (revision ${last.revision})`);
  }
  if (!history.some((h) => h.revision === step.toRevision)) {
    fail(`revision ${step.toRevision} of ${ctx.release} is no longer in helm's history`);
  }
  await ctx.progress(`helm rollback to revision ${step.toRevision}`);
  await ctx.ports.helm.rollback({
    namespace: ctx.namespace,
    release: ctx.release,
    revision: step.toRevision,
    timeoutSeconds: step.timeoutSeconds,
  });
  return done(`rolled back to revision ${step.toRevision}`);
}

/** Polls until `check` returns a value, reporting its progress text; throws a timeout error. */
async function waitFor<T>(
  ctx: StepContext,
  timeoutSeconds: number,
  check: () => Promise<{ value: T | null; text: string }>,
  onTimeout: (lastText: string) => UpgradeError,
): Promise<T> {
  const { clock } = ctx.ports;
  const deadline = clock.now() + timeoutSeconds * 1000;
  let lastText = '';
  for (;;) {
    if (ctx.signal?.aborted) throw new Cancelled('cancelled while waiting');
    let value: T | null;
    let text: string;
    try {
      ({ value, text } = await check());
      lastText = text;
    } catch (err) {
      // Only reading here: an API that is briefly away is waited for, up to the same deadline.
      if (!(err instanceof UpgradeError && err.code === 'transient')) throw err;
      value = null;
      text = `${err.message}; retrying${lastText ? ` (last seen: ${lastText})` : ''}`;
    }
    if (value !== null) return value;
    await ctx.progress(text);
    if (clock.now() >= deadline) throw onTimeout(text);
    try {
      await clock.sleep(ctx.pollIntervalMs, ctx.signal);
    } catch {
      throw new Cancelled('cancelled while waiting');
    }
  }
}

function rolloutTimeout(what: string, timeoutSeconds: number, lastText: string, ctx: StepContext, component?: string): UpgradeError {
  const selector = component
    ? `app.kubernetes.io/instance=${ctx.release},component=${component}`
    : `app.kubernetes.io/instance=${ctx.release}`;
  return new UpgradeError('timeout', `${what} did not roll out within ${timeoutSeconds}s (${lastText})`, [
    `see the pods: kubectl -n ${ctx.namespace} get pods -l ${selector}`,
    'the new pods are not becoming ready: check their events and logs, then roll back',
  ]);
}

async function waitRollout(deployments: readonly string[], timeoutSeconds: number, ctx: StepContext): Promise<StepOutcome> {
  const read = async (): Promise<ComponentState[]> => {
    if (deployments.length === 0) return ctx.ports.cluster.components(ctx.namespace, ctx.release);
    const found = await Promise.all(deployments.map((d) => ctx.ports.cluster.component(ctx.namespace, d)));
    return found.filter((c): c is ComponentState => c !== null);
  };
  const comps = await waitFor(
    ctx,
    timeoutSeconds,
    async () => {
      const cs = await read();
      const pending = cs.map(rolloutProgress).filter((p) => !p.done);
      return { value: pending.length === 0 ? cs : null, text: pending.map((p) => p.text).join('; ') };
    },
    (last) => rolloutTimeout(`release ${ctx.release}`, timeoutSeconds, last, ctx),
  );
  return done(`${comps.length} Deployments rolled out`);
}

const ACTIVE_STANDBY_SECTIONS = ['rootCoord', 'queryCoord', 'dataCoord', 'indexCoord'] as const;

async function enableActiveStandby(name: string, key: string, ctx: StepContext): Promise<StepOutcome> {
  const cm = await ctx.ports.cluster.configMap(ctx.namespace, name);
  if (!cm) fail(`ConfigMap ${name} not found in ${ctx.namespace}`, ['is this a release of the Milvus chart?']);
  const text = cm.data[key] ?? '';
  const doc = parseDocument(text);
  if (doc.errors.length > 0) fail(`${key} in ConfigMap ${name} is not valid YAML: ${doc.errors[0]!.message}`);
  if (doc.contents === null || !(typeof doc.toJS() === 'object')) {
    // An empty user.yaml (only comments) has no map to add to yet.
    const fresh: Document = new Document({});
    fresh.commentBefore = doc.commentBefore ?? doc.comment ?? null;
    return writeActiveStandby(fresh, name, key, cm.data, ctx, text);
  }
  return writeActiveStandby(doc, name, key, cm.data, ctx, text);
}

async function writeActiveStandby(
  doc: Document,
  name: string,
  key: string,
  data: Readonly<Record<string, string>>,
  ctx: StepContext,
  before: string,
): Promise<StepOutcome> {
  const missing = ACTIVE_STANDBY_SECTIONS.filter((s) => doc.getIn([s, 'enableActiveStandby']) !== true);
  if (missing.length === 0) return skipped('active-standby already on for every coordinator');
  for (const s of missing) doc.setIn([s, 'enableActiveStandby'], true);
  const after = String(doc);
  // Checks the result parses back before writing it to a live release's config.
  parseYaml(after);
  if (after === before) return skipped('active-standby already on');
  await ctx.ports.cluster.replaceConfigMapData(ctx.namespace, name, { ...data, [key]: after });
  return done(`enableActiveStandby: true for ${missing.join(', ')}`);
}

function annotationsFor(target: DeploymentTarget): Record<string, string | null> {
  if (!target.recordPrevious) {
    return { [PREVIOUS_IMAGE_ANNOTATION]: null, [PREVIOUS_VERSION_ANNOTATION]: null, [MARK_HELM_REVISION_ANNOTATION]: null };
  }
  return {
    [PREVIOUS_IMAGE_ANNOTATION]: target.recordPrevious.image,
    [PREVIOUS_VERSION_ANNOTATION]: target.recordPrevious.versionLabel,
    [MARK_HELM_REVISION_ANNOTATION]: String(target.recordPrevious.helmRevision),
  };
}

async function updateDeployment(step: Extract<Step, { kind: 'update-deployment' }>, ctx: StepContext): Promise<StepOutcome> {
  const t = step.target;
  const current = await ctx.ports.cluster.component(ctx.namespace, t.deployment);
  if (!current) fail(`Deployment ${t.deployment} not found in ${ctx.namespace}`);
  const alreadyPatched = current.image === t.image && current.versionLabel === t.versionLabel;
  if (alreadyPatched && rolloutProgress(current).done) {
    return skipped(`${t.component} already runs ${t.image}`);
  }
  if (!alreadyPatched) {
    await ctx.ports.cluster.patchDeployment(ctx.namespace, t.deployment, {
      container: t.component,
      image: t.image,
      versionLabel: t.versionLabel,
      rollingUpdate: true,
      ...(step.minReadySeconds !== null ? { minReadySeconds: step.minReadySeconds } : {}),
      annotations: annotationsFor(t),
    });
  }
  await waitFor(
    ctx,
    step.timeoutSeconds,
    async () => {
      const c = await ctx.ports.cluster.component(ctx.namespace, t.deployment);
      if (!c) fail(`Deployment ${t.deployment} disappeared during the update`);
      const p = rolloutProgress(c);
      return { value: p.done ? c : null, text: p.text.replace(/pods updated$/, `pods on ${tagOf(t.image)}`) };
    },
    (last) => rolloutTimeout(t.component, step.timeoutSeconds, last, ctx, t.component),
  );
  return done(`${t.component} runs ${t.image}`);
}

function tagOf(image: string): string {
  const i = image.lastIndexOf(':');
  return i >= 0 ? image.slice(i + 1) : image;
}

async function stopMilvus(step: Extract<Step, { kind: 'stop-milvus' }>, ctx: StepContext): Promise<StepOutcome> {
  for (const d of step.deployments) {
    const c = await ctx.ports.cluster.component(ctx.namespace, d);
    if (!c || c.replicas === 0) continue;
    await ctx.ports.cluster.patchDeployment(ctx.namespace, d, { container: c.component, replicas: 0 });
  }
  // Waits for every pod of the release, not only the first Deployment's (a bug of migrate.sh).
  await waitFor(
    ctx,
    step.timeoutSeconds,
    async () => {
      const n = await ctx.ports.cluster.countPods(ctx.namespace, step.podSelector);
      return { value: n === 0 ? true : null, text: `${n} Milvus pod(s) still stopping` };
    },
    (last) => new UpgradeError('timeout', `Milvus did not stop within ${step.timeoutSeconds}s (${last})`, [
      `see: kubectl -n ${ctx.namespace} get pods -l ${step.podSelector}`,
    ]),
  );
  return done(`${step.deployments.length} Deployments scaled to 0, no pod left`);
}

async function waitSessions(step: Extract<Step, { kind: 'wait-sessions-expired' }>, ctx: StepContext): Promise<StepOutcome> {
  const prefix = `${step.rootPath}/meta/session/`;
  const first = step.etcdEndpoint ? await ctx.ports.sessions.countKeys(step.etcdEndpoint, prefix, ctx.signal) : null;
  if (first === null) {
    await ctx.progress(`etcd ${step.etcdEndpoint ?? '(none)'} cannot be reached from the bot: waiting ${step.fallbackSeconds}s for the sessions to expire`);
    try {
      await ctx.ports.clock.sleep(step.fallbackSeconds * 1000, ctx.signal);
    } catch {
      throw new Cancelled('cancelled while waiting for sessions to expire');
    }
    return done(`waited ${step.fallbackSeconds}s (etcd not reachable from the bot, so the keys were not watched)`);
  }
  if (first === 0) return done('no Milvus session left in etcd');
  await waitFor(
    ctx,
    step.timeoutSeconds,
    async () => {
      const n = await ctx.ports.sessions.countKeys(step.etcdEndpoint!, prefix, ctx.signal);
      return { value: n === 0 ? true : null, text: `${n ?? '?'} Milvus session key(s) still in etcd` };
    },
    (last) => new UpgradeError('timeout', `Milvus sessions did not expire within ${step.timeoutSeconds}s (${last})`, [
      'is a Milvus process still running somewhere against this etcd?',
    ]),
  );
  return done('every Milvus session expired');
}

async function ensureMigrationConfig(name: string, files: Readonly<Record<string, string>>, ctx: StepContext): Promise<StepOutcome> {
  const existing = await ctx.ports.cluster.configMap(ctx.namespace, name);
  if (!existing) {
    await ctx.ports.cluster.createConfigMap(ctx.namespace, name, { ...files }, { 'milvus-upgrade-bot.io/managed': 'true' });
    return done(`created ConfigMap ${name}`);
  }
  const same = Object.entries(files).every(([k, v]) => existing.data[k] === v);
  if (same) return skipped(`ConfigMap ${name} already holds these files`);
  // Keeps annotations (the backup mark) and replaces only the files.
  await ctx.ports.cluster.replaceConfigMapData(ctx.namespace, name, { ...existing.data, ...files });
  return done(`updated ConfigMap ${name}`);
}

async function runMetaMigration(step: Extract<Step, { kind: 'run-meta-migration' }>, ctx: StepContext): Promise<StepOutcome> {
  const { cluster } = ctx.ports;
  const cm = await cluster.configMap(ctx.namespace, step.configMap);
  if (!cm) fail(`ConfigMap ${step.configMap} not found: the migration configuration is missing`);
  const backupDone = cm.annotations[BACKUP_MARK.key] === BACKUP_MARK.value;
  const phase = await cluster.podPhase(ctx.namespace, step.pod);
  if (step.action === 'backup' && backupDone) return skipped('a successful backup exists already');
  if (step.action === 'migrate') {
    if (!backupDone) fail('no successful metadata backup: refusing to migrate without one');
    if (phase === 'Succeeded') return skipped(`migration pod ${step.pod} already succeeded`);
    if (phase === 'Failed') {
      fail(`an earlier migration (pod ${step.pod}) failed`, [
        'roll back first (it restores the metadata from the backup), then migrate again',
      ]);
    }
  }
  if (step.action === 'rollback') {
    if (!backupDone) {
      const migrated = await cluster.podPhase(ctx.namespace, migratePodOf(step.pod));
      if (migrated === null) return skipped('the metadata was never migrated: nothing to restore');
      fail('no successful metadata backup to restore from');
    }
    if (phase === 'Succeeded') return skipped(`rollback pod ${step.pod} already succeeded`);
  }
  if (phase === 'Failed' && step.action !== 'migrate') {
    // Backup and rollback only read the source or restore the backup: safe to run again.
    await cluster.deletePod(ctx.namespace, step.pod);
    await waitFor(ctx, 120, async () => ({ value: (await cluster.podPhase(ctx.namespace, step.pod)) === null ? true : null, text: `removing the failed pod ${step.pod}` }),
      () => new UpgradeError('timeout', `the failed pod ${step.pod} could not be removed`));
  }
  if (phase === null || (phase === 'Failed' && step.action !== 'migrate')) {
    await cluster.createMetaMigrationPod(ctx.namespace, {
      name: step.pod,
      image: step.image,
      configMap: step.configMap,
      configFile: step.configFile,
      pvc: step.pvc,
      labels: { 'app.kubernetes.io/name': 'milvus-meta-migration', 'app.kubernetes.io/instance': ctx.release, 'milvus-upgrade-bot.io/action': step.action },
    });
  }
  const final = await waitFor(
    ctx,
    step.timeoutSeconds,
    async () => {
      const p = await cluster.podPhase(ctx.namespace, step.pod);
      if (p === null) fail(`pod ${step.pod} disappeared`);
      return { value: p === 'Succeeded' || p === 'Failed' ? p : null, text: `${step.action} pod ${step.pod}: ${p}` };
    },
    () => new UpgradeError('timeout', `the ${step.action} pod ${step.pod} did not finish within ${step.timeoutSeconds}s`, [
      `see: kubectl -n ${ctx.namespace} describe pod ${step.pod}`,
    ]),
  );
  if (final === 'Failed') {
    const logs = await cluster.podLogTail(ctx.namespace, step.pod, 20);
    const advice = step.action === 'migrate' ? 'roll back (restores the backup), then migrate again' : 'fix the cause, then run again';
    fail(`the ${step.action} pod ${step.pod} failed`, [`its log ends with: ${logs}`, advice]);
  }
  if (step.action === 'backup') await cluster.annotateConfigMap(ctx.namespace, step.configMap, { [BACKUP_MARK.key]: BACKUP_MARK.value });
  return done(`${step.action} pod ${step.pod} succeeded`);
}

function migratePodOf(rollbackPod: string): string {
  return rollbackPod.replace('milvus-meta-migration-rollback-', 'milvus-meta-migration-');
}

async function startMilvus(step: Extract<Step, { kind: 'start-milvus' }>, ctx: StepContext): Promise<StepOutcome> {
  const saved = await ctx.ports.cluster.configMap(ctx.namespace, step.replicasConfigMap);
  if (!saved) fail(`ConfigMap ${step.replicasConfigMap} with the replica counts is missing`, ['scale the Deployments by hand, or restore the ConfigMap']);
  const counts: string[] = [];
  for (const t of step.targets) {
    const replicas = Number(saved.data[t.deployment] ?? NaN);
    if (!Number.isInteger(replicas) || replicas < 0) fail(`no saved replica count for ${t.deployment} in ${step.replicasConfigMap}`);
    await ctx.ports.cluster.patchDeployment(ctx.namespace, t.deployment, {
      container: t.component,
      image: t.image,
      versionLabel: t.versionLabel,
      replicas,
      annotations: annotationsFor(t),
    });
    counts.push(`${t.component}=${replicas}`);
  }
  await waitRollout(step.targets.map((t) => t.deployment), step.timeoutSeconds, ctx);
  return done(`started ${counts.join(', ')}`);
}
