/**
 * The 2.1 -> 2.2 metadata migration (SPEC §7): migrate.sh's steps, without its bugs (it waits
 * for every pod, watches the etcd sessions, and looks for the backup mark where it was put).
 */
import { InputError } from '../errors.js';
import type { PlanSettings } from '../plan.js';
import type { ReleaseState } from '../state.js';
import type { Step } from '../steps.js';
import { migrationNames, releasePodSelector } from '../milvus/names.js';
import type { MilvusVersion } from '../milvus/version.js';
import { targetBack, targetOnto } from './targets.js';

/**
 * The pods of the release's Milvus Deployments: the release's pods without those of the
 * Deployments left running (Attu has the same labels, and is not stopped).
 */
export function milvusPodSelector(state: Pick<ReleaseState, 'release' | 'components' | 'others'>): string {
  const milvus = new Set(state.components.map((c) => c.component));
  const keep = [...new Set(state.others.map((c) => c.component))].filter((c) => c !== '' && !milvus.has(c)).sort();
  const base = releasePodSelector(state.release);
  return keep.length > 0 ? `${base},component notin (${keep.join(',')})` : base;
}

function migrationConfigFiles(
  rootPath: string,
  etcdEndpoint: string,
  from: MilvusVersion,
  to: MilvusVersion,
): Record<string, string> {
  const file = (type: string) =>
    [
      'cmd:',
      `  type: ${type}`,
      '  runWithBackup: true',
      'config:',
      `  sourceVersion: ${from.text}`,
      `  targetVersion: ${to.text}`,
      '  backupFilePath: /milvus/data/migration.bak',
      'metastore:',
      '  type: etcd',
      'etcd:',
      '  endpoints:',
      `    - ${etcdEndpoint}`,
      `  rootPath: ${rootPath}`,
      '  metaSubPath: meta',
      '  kvSubPath: kv',
      '',
    ].join('\n');
  return { 'backup.yaml': file('backup'), 'migration.yaml': file('run'), 'rollback.yaml': file('rollback') };
}

function etcdEndpointFor(state: ReleaseState, settings: PlanSettings): string {
  const endpoint = settings.migration.etcdEndpoint ?? state.etcdEndpoint;
  if (!endpoint) {
    throw new InputError(`cannot find the etcd of ${state.release}`, [
      `no Service labelled app.kubernetes.io/name=etcd,app.kubernetes.io/instance=${state.release} with a port named "client" in ${state.namespace}`,
      'give the endpoint explicitly with --etcd-endpoint host:port',
    ]);
  }
  return endpoint;
}

function leftRunning(state: Pick<ReleaseState, 'others'>): string {
  if (state.others.length === 0) return '';
  return ` (${state.others.map((c) => c.deployment).join(', ')} not Milvus: left running)`;
}

/** Shared by migrate and its rollback: record replicas, stop Milvus, wait for sessions to expire. */
function stopMilvusSteps(state: ReleaseState, settings: PlanSettings, etcdEndpoint: string, rootPath: string): Step[] {
  const names = migrationNames(state.release);
  return [
    {
      kind: 'save-replicas',
      configMap: names.replicasConfigMap,
      replicas: state.components.map((c) => ({
        component: c.component,
        deployment: c.deployment,
        replicas: state.savedReplicas?.[c.deployment] ?? c.replicas,
      })),
      description: `record each Deployment's replica count in ConfigMap ${names.replicasConfigMap}`,
    },
    {
      kind: 'stop-milvus',
      deployments: state.components.map((c) => c.deployment),
      podSelector: milvusPodSelector(state),
      timeoutSeconds: settings.rolloutTimeoutSeconds,
      description: `stop Milvus: scale ${state.components.length} Deployments to 0 and wait until no Milvus pod is left${leftRunning(state)}`,
    },
    {
      kind: 'wait-sessions-expired',
      etcdEndpoint,
      rootPath,
      fallbackSeconds: settings.migration.sessionFallbackSeconds,
      timeoutSeconds: 300,
      description: `wait until etcd holds no Milvus session under ${rootPath}/meta/session (etcd ${etcdEndpoint})`,
    },
  ];
}

/**
 * The release's migration objects and the etcd tree the tool works on, for the way there and
 * back: the one given (META_ROOT_PATH, --meta-root-path), else the root the release's own config
 * names (a custom root or a shared etcd), else Milvus's default by-dev.
 */
function migrationTarget(state: ReleaseState, settings: PlanSettings): { names: ReturnType<typeof migrationNames>; etcdEndpoint: string; rootPath: string } {
  return { names: migrationNames(state.release), etcdEndpoint: etcdEndpointFor(state, settings), rootPath: settings.migration.rootPath ?? state.etcdRootPath ?? 'by-dev' };
}

export function migrationSteps(
  state: ReleaseState,
  settings: PlanSettings,
  from: MilvusVersion,
  to: MilvusVersion,
  image: string,
): Step[] {
  const { names, etcdEndpoint, rootPath } = migrationTarget(state, settings);
  const m = settings.migration;
  const pod = (action: 'backup' | 'migrate', podName: string, configFile: string, what: string): Step => ({
    kind: 'run-meta-migration',
    action,
    pod: podName,
    image: m.image,
    configMap: names.configMap,
    pvc: names.pvc,
    configFile,
    timeoutSeconds: m.podTimeoutSeconds,
    description: what,
  });
  const steps: Step[] = [
    ...stopMilvusSteps(state, settings, etcdEndpoint, rootPath),
    {
      kind: 'ensure-backup-pvc',
      pvc: names.pvc,
      storageClass: m.storageClass,
      size: '10Gi',
      description: `PVC ${names.pvc} (10Gi, ReadWriteOnce, storage class ${m.storageClass ?? 'default'}) for the metadata backup`,
    },
    {
      kind: 'ensure-migration-config',
      configMap: names.configMap,
      files: migrationConfigFiles(rootPath, etcdEndpoint, from, to),
      description: `ConfigMap ${names.configMap} with backup.yaml, migration.yaml and rollback.yaml (${from.text} -> ${to.text})`,
    },
    pod('backup', names.backupPod, 'backup.yaml', `back up the metadata (pod ${names.backupPod}, ${m.image})`),
    pod('migrate', names.migratePod, 'migration.yaml', `migrate the metadata ${from.text} -> ${to.text} (pod ${names.migratePod})`),
    {
      kind: 'start-milvus',
      replicasConfigMap: names.replicasConfigMap,
      targets: state.components.map((c) => targetOnto(c, image, to, state.helm.revision)),
      timeoutSeconds: settings.rolloutTimeoutSeconds,
      description: `start Milvus on ${image} with the recorded replica counts and wait until ready`,
    },
  ];
  if (m.deleteResourcesWhenDone) {
    steps.push({
      kind: 'delete-migration-resources',
      pods: [names.backupPod, names.migratePod],
      pvc: names.pvc,
      configMaps: [names.configMap, names.replicasConfigMap],
      description: `delete the migration pods, PVC ${names.pvc} and ConfigMaps`,
    });
  }
  return steps;
}

export function migrationRollbackStepsFor(
  state: ReleaseState,
  settings: PlanSettings,
  from: MilvusVersion,
  to: MilvusVersion,
): Step[] {
  const { names, etcdEndpoint, rootPath } = migrationTarget(state, settings);
  return [
    ...stopMilvusSteps(state, settings, etcdEndpoint, rootPath),
    {
      kind: 'ensure-migration-config',
      configMap: names.configMap,
      files: migrationConfigFiles(rootPath, etcdEndpoint, from, to),
      description: `ConfigMap ${names.configMap} with rollback.yaml`,
    },
    {
      kind: 'run-meta-migration',
      action: 'rollback',
      pod: names.rollbackPod,
      image: settings.migration.image,
      configMap: names.configMap,
      pvc: names.pvc,
      configFile: 'rollback.yaml',
      timeoutSeconds: settings.migration.podTimeoutSeconds,
      description: `restore the metadata from the backup (pod ${names.rollbackPod})`,
    },
    { kind: 'delete-pod', pod: names.migratePod, description: `remove the old migration pod ${names.migratePod} so a new migration can run` },
    { kind: 'delete-pod', pod: names.rollbackPod, description: `remove the rollback pod ${names.rollbackPod}` },
    {
      kind: 'start-milvus',
      replicasConfigMap: names.replicasConfigMap,
      targets: state.components.map(targetBack),
      timeoutSeconds: settings.rolloutTimeoutSeconds,
      description: `start Milvus ${from.text} again with the recorded replica counts`,
    },
    {
      // Done with: a later rollback must not take this finished one for a migration in progress.
      kind: 'delete-config-map',
      configMap: names.replicasConfigMap,
      description: `remove the recorded replica counts (ConfigMap ${names.replicasConfigMap})`,
    },
  ];
}
