/** Metadata-migration steps: stop Milvus, wait for its sessions, back up, migrate, start. */
import { Cancelled, UpgradeError } from '../errors.js';
import { annotationsFor, done, fail, skipped, waitFor, waitRollout, type StepContext, type StepOutcome } from './run-support.js';
import { BACKUP_MARK, type Step } from '../steps.js';
import { migrationNames } from '../milvus/names.js';

export async function stopMilvus(step: Extract<Step, { kind: 'stop-milvus' }>, ctx: StepContext): Promise<StepOutcome> {
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
    { watched: false });
  return done(`${step.deployments.length} Deployments scaled to 0, no pod left`);
}

/**
 * Keys under `<root>/meta/session/` that are no session: `id` is the server-id counter, written
 * without a lease, so it never expires (Milvus's session code keeps it there for good).
 */
export function liveSessionKeys(keys: readonly string[], prefix: string): string[] {
  return keys.filter((k) => k.startsWith(prefix) && k !== `${prefix}id`);
}

export async function waitSessions(step: Extract<Step, { kind: 'wait-sessions-expired' }>, ctx: StepContext): Promise<StepOutcome> {
  const prefix = `${step.rootPath}/meta/session/`;
  const count = async (endpoint: string): Promise<number | null> => {
    const keys = await ctx.ports.sessions.keys(endpoint, prefix, ctx.signal);
    return keys === null ? null : liveSessionKeys(keys, prefix).length;
  };
  const first = step.etcdEndpoint ? await count(step.etcdEndpoint) : null;
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
      const n = await count(step.etcdEndpoint!);
      return { value: n === 0 ? true : null, text: `${n ?? '?'} Milvus session key(s) still in etcd` };
    },
    (last) => new UpgradeError('timeout', `Milvus sessions did not expire within ${step.timeoutSeconds}s (${last})`, [
      'is a Milvus process still running somewhere against this etcd?',
    ]),
    { watched: false });
  return done('every Milvus session expired');
}

export async function ensureMigrationConfig(name: string, files: Readonly<Record<string, string>>, ctx: StepContext): Promise<StepOutcome> {
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

export async function runMetaMigration(step: Extract<Step, { kind: 'run-meta-migration' }>, ctx: StepContext): Promise<StepOutcome> {
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
      const migrated = await cluster.podPhase(ctx.namespace, migrationNames(ctx.release).migratePod);
      if (migrated === null) return skipped('the metadata was never migrated: nothing to restore');
      fail('no successful metadata backup to restore from');
    }
    if (phase === 'Succeeded') return skipped(`rollback pod ${step.pod} already succeeded`);
  }
  if (phase === 'Failed' && step.action !== 'migrate') {
    // Backup and rollback only read the source or restore the backup: safe to run again.
    await cluster.deletePod(ctx.namespace, step.pod);
    await waitFor(ctx, 120, async () => ({ value: (await cluster.podPhase(ctx.namespace, step.pod)) === null ? true : null, text: `removing the failed pod ${step.pod}` }),
      () => new UpgradeError('timeout', `the failed pod ${step.pod} could not be removed`),
    { watched: false });
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
    { watched: false });
  if (final === 'Failed') {
    const logs = await cluster.podLogTail(ctx.namespace, step.pod, 20);
    const advice = step.action === 'migrate' ? 'roll back (restores the backup), then migrate again' : 'fix the cause, then run again';
    fail(`the ${step.action} pod ${step.pod} failed`, [`its log ends with: ${logs}`, advice]);
  }
  if (step.action === 'backup') await cluster.annotateConfigMap(ctx.namespace, step.configMap, { [BACKUP_MARK.key]: BACKUP_MARK.value });
  return done(`${step.action} pod ${step.pod} succeeded`);
}


export async function startMilvus(step: Extract<Step, { kind: 'start-milvus' }>, ctx: StepContext): Promise<StepOutcome> {
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

export async function saveReplicas(step: Extract<Step, { kind: 'save-replicas' }>, ctx: StepContext): Promise<StepOutcome> {
  const data: Record<string, string> = {};
  for (const r of step.replicas) data[r.deployment] = String(r.replicas);
  const created = await ctx.ports.cluster.createConfigMap(ctx.namespace, step.configMap, data);
  return created
    ? done(`saved ${step.replicas.map((r) => `${r.component}=${r.replicas}`).join(', ')}`)
    : skipped(`ConfigMap ${step.configMap} already holds the counts of an earlier run; kept`);
}

export async function ensureBackupPvc(step: Extract<Step, { kind: 'ensure-backup-pvc' }>, ctx: StepContext): Promise<StepOutcome> {
  if (!(await ctx.ports.cluster.storageClassExists(step.storageClass))) {
    fail(
      step.storageClass ? `storage class ${step.storageClass} does not exist` : 'the cluster has no default storage class for the backup PVC',
      ['name an existing one with --storage-class'],
    );
  }
  await ctx.ports.cluster.ensurePvc(ctx.namespace, step.pvc, step.storageClass, step.size);
  return done(`PVC ${step.pvc} is there`);
}

export async function deletePod(step: Extract<Step, { kind: 'delete-pod' }>, ctx: StepContext): Promise<StepOutcome> {
  const phase = await ctx.ports.cluster.podPhase(ctx.namespace, step.pod);
  if (phase === null) return skipped(`pod ${step.pod} is not there`);
  await ctx.ports.cluster.deletePod(ctx.namespace, step.pod);
  return done(`deleted pod ${step.pod}`);
}

export async function deleteConfigMap(step: Extract<Step, { kind: 'delete-config-map' }>, ctx: StepContext): Promise<StepOutcome> {
  if (!(await ctx.ports.cluster.configMap(ctx.namespace, step.configMap))) return skipped(`ConfigMap ${step.configMap} is not there`);
  await ctx.ports.cluster.deleteConfigMap(ctx.namespace, step.configMap);
  return done(`deleted ConfigMap ${step.configMap}`);
}

export async function deleteMigrationResources(step: Extract<Step, { kind: 'delete-migration-resources' }>, ctx: StepContext): Promise<StepOutcome> {
  for (const pod of step.pods) await ctx.ports.cluster.deletePod(ctx.namespace, pod);
  await ctx.ports.cluster.deletePvc(ctx.namespace, step.pvc);
  for (const cm of step.configMaps) await ctx.ports.cluster.deleteConfigMap(ctx.namespace, cm);
  return done('migration resources deleted');
}
