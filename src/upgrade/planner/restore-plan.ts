/**
 * The way back past a step that cannot be undone (issue 27): a backup taken before it, restored
 * into a NEW release at the version it was taken from, as milvus-backup restores (collections
 * recreated and bulk-inserted, indexes built again). The old release is left as it is: someone
 * removes it once the new one is trusted. Pure: the engine reads the backup, the source's helm
 * revisions and their values, and hands them here.
 *
 * The plan: install the new release with the chart and values of the source's revision that ran
 * the backup's version (the values are read again by the worker, never carried in the record),
 * the health gate, the restore, then the data gate on the new release: every collection of the
 * backup there, with no fewer rows than the snapshot saw before the backup.
 */
import { InputError, PreflightError } from '../errors.js';
import { BACKUP_NAME, bytesText, nameSafe, restoreEstimateSeconds, utcStamp, type BackupInfo, type ExpectedBackupCollection } from '../backup.js';
import { imageTag, parseImageTag, tryParseVersion, type MilvusVersion } from '../milvus/version.js';
import { validateReleaseName } from '../milvus/names.js';
import { valueAtPath } from '../milvus/data-settings.js';
import { planId, type Plan, type PlanSettings } from '../plan.js';
import type { Step } from '../steps.js';
import type { ToolingState } from '../state.js';
import { assertNoProblems, toolingProblems } from './preflight.js';
import { healthGate } from './helm-plan.js';

/** One helm revision of the source release, with the values the person gave it. */
export interface SourceRevision {
  readonly revision: number;
  readonly status: string;
  /** `milvus-5.0.22` */
  readonly chart: string;
  readonly appVersion: string;
  /** `helm get values --revision` (user-supplied only): what the new release is installed with. */
  readonly values: Readonly<Record<string, unknown>>;
}

export interface RestoreInputs {
  readonly cluster: string;
  readonly namespace: string;
  /** The release the backup was taken of. */
  readonly source: string;
  /** The new release. */
  readonly into: string;
  /** Whether a helm release of that name is already in the namespace. */
  readonly intoExists: boolean;
  readonly backup: BackupInfo;
  /** The milvus-backup server that reported the backup (the source's). */
  readonly backupUrl: string;
  /** The source's revisions, any order. */
  readonly revisions: readonly SourceRevision[];
  readonly tooling: ToolingState;
  readonly settings: PlanSettings;
  /** The milvus-backup server the config names for the new release; null: none. */
  readonly restoreUrl: string | null;
  /** The new release's Milvus by the config; null: the bot reads no Milvus (no data gate). */
  readonly milvusAddress: string | null;
  /** What the backup must bring back, with rows where the upgrade's snapshot counted them. */
  readonly expected: readonly ExpectedBackupCollection[] | null;
  readonly plannedAt: number;
}

/** Values that point the new release at the source's own stores, or at its object names. */
const SHARED_STORES: readonly (readonly [string, string])[] = [
  ['externalEtcd.enabled', 'an external etcd'],
  ['externalS3.enabled', 'external object storage'],
  ['externalPulsar.enabled', 'an external Pulsar'],
  ['externalKafka.enabled', 'an external Kafka'],
];

const valueAt = (values: Readonly<Record<string, unknown>>, path: string) => valueAtPath(values, path.split('.'));

/**
 * Why these values cannot make the new release, one line each; empty when they can. A release
 * on external stores would share them with the source (same etcd root, same bucket: two Milvus
 * on one metadata), and a fullnameOverride would name its objects as the source's.
 */
export function restoreValuesProblems(source: string, values: Readonly<Record<string, unknown>>): string[] {
  const out: string[] = [];
  for (const [path, what] of SHARED_STORES) {
    if (valueAt(values, path) === true) out.push(`${source} uses ${what} (${path}=true): the new release would share it with ${source}`);
  }
  const override = valueAt(values, 'fullnameOverride');
  if (typeof override === 'string' && override !== '') out.push(`${source} sets fullnameOverride=${override}: the new release's objects would take the names of ${source}'s`);
  return out;
}

/** The version a revision ran: its values' image tag, else its chart's appVersion. */
export function revisionVersion(r: Pick<SourceRevision, 'values' | 'appVersion'>): MilvusVersion | null {
  const tag = valueAt(r.values, 'image.all.tag');
  return (typeof tag === 'string' ? parseImageTag(tag)?.version : null) ?? tryParseVersion(r.appVersion);
}

/** The restore task's id at milvus-backup: the same on every resume, one per plan. */
export function restoreTaskId(into: string, plannedAt: number): string {
  return `mub_restore_${nameSafe(into)}_${utcStamp(plannedAt)}`.slice(0, 128);
}

export function planRestore(i: RestoreInputs): Plan {
  validateReleaseName(i.into);
  assertNoProblems(toolingProblems(i.tooling, i.settings.repoName, i.settings.repoUrl), `cannot restore into ${i.into}`);
  const b = i.backup;
  if (!BACKUP_NAME.test(b.name)) throw new InputError(`"${b.name.slice(0, 60)}" is not a milvus-backup backup name`);
  if (b.state !== 'success') {
    throw new InputError(`backup ${b.name} ended ${b.state}${b.errorMessage ? ` (${b.errorMessage})` : ''}: there is nothing to restore`);
  }
  if (i.into === i.source) throw new InputError(`a restore goes into a NEW release, not into ${i.source} itself`, [`name another with --into (e.g. ${i.source}-restored)`]);
  if (i.intoExists) {
    throw new InputError(`release ${i.into} already exists in ${i.namespace}: a restore goes into a NEW release`, [
      'name another with --into, or remove that one first (helm uninstall) if it is a restore you gave up',
    ]);
  }
  const version = tryParseVersion(b.milvusVersion.replace(/^v/, ''));
  if (!version) throw new InputError(`backup ${b.name} does not say which Milvus it was taken from ("${b.milvusVersion.slice(0, 30)}"): the version to restore into is unknown`);
  const candidates = [...i.revisions].sort((x, y) => y.revision - x.revision).filter((r) => revisionVersion(r)?.text === version.text);
  const from = candidates[0];
  if (!from) {
    throw new InputError(`no helm revision of ${i.source} ran Milvus ${version.text}, the version backup ${b.name} was taken from`, [
      `its revisions: ${[...i.revisions].sort((x, y) => x.revision - y.revision).map((r) => `${r.revision} ${r.chart} (${revisionVersion(r)?.text ?? '?'})`).join('; ') || 'none'}`,
      'the new release is installed with the chart and values of that revision; without them, install it by hand and restore with milvus-backup',
    ]);
  }
  const problems = restoreValuesProblems(i.source, from.values);
  if (i.restoreUrl === null) problems.push(`no milvus-backup server is configured for ${i.into} (BACKUP_URL gives none): nothing can write the backup into it`);
  if (problems.length > 0) {
    throw new PreflightError(`cannot restore backup ${b.name} into ${i.into}`, [
      ...problems,
      'restore by hand instead: install a release on its own stores (new etcd root path and bucket), then `milvus-backup restore`',
    ]);
  }
  const chartVersion = from.chart.replace(/^milvus-/, '');
  const chartRef = `${i.settings.repoName}/milvus`;
  // The revision ran the backup's version; a chart whose appVersion says otherwise needs the tag.
  const tagged = typeof valueAt(from.values, 'image.all.tag') === 'string' || tryParseVersion(from.appVersion)?.text === version.text;
  const set: Record<string, string> = tagged ? {} : { 'image.all.tag': imageTag(version) };
  const expected: readonly ExpectedBackupCollection[] =
    i.expected ?? b.collections.filter((c) => c.db === '' || c.db === 'default').map((c) => ({ name: c.name, rows: null }));
  const names = expected.map((c) => c.name);
  const steps: Step[] = [
    {
      kind: 'helm-repo-update',
      repoName: i.settings.repoName,
      repoUrl: i.settings.repoUrl,
      description: `refresh chart repository ${i.settings.repoName}`,
    },
    {
      kind: 'helm-install',
      chartRef,
      chartVersion,
      valuesOf: { release: i.source, revision: from.revision },
      set,
      timeoutSeconds: i.settings.helmTimeoutSeconds,
      description:
        `helm install ${i.into} ${chartRef} --version ${chartVersion} with the values of ${i.source} revision ${from.revision}` +
        `${Object.keys(set).length > 0 ? ` and --set image.all.tag=${set['image.all.tag']}` : ''} (Milvus ${version.text}, its own etcd, object storage and queue), --wait`,
    },
    healthGate(i.into, i.settings, 1),
    {
      kind: 'restore-backup',
      url: i.restoreUrl!,
      backup: b.name,
      taskId: restoreTaskId(i.into, i.plannedAt),
      collections: names,
      timeoutSeconds: i.settings.backupTimeoutSeconds,
      description: `restore backup ${b.name} (${names.length} collection(s), ${bytesText(b.sizeBytes)}) into ${i.into} with milvus-backup at ${i.restoreUrl}; wait up to ${i.settings.backupTimeoutSeconds}s`,
    },
  ];
  if (i.milvusAddress) {
    steps.push({
      kind: 'check-data',
      address: i.milvusAddress,
      expected: expected.map((c) => ({ name: c.name, loaded: false, rowCount: c.rows })),
      canaries: [],
      timeoutSeconds: i.settings.dataTimeoutSeconds,
      description: `check ${i.into}'s data in Milvus: healthy, every one of the ${names.length} collection(s) of the backup there, no row count lower than before the backup`,
    });
  }
  const minutes = Math.max(1, Math.round(restoreEstimateSeconds(expected) / 60));
  return {
    id: planId(i.cluster, i.namespace, i.into, `restore-${b.name}`),
    kind: 'restore',
    cluster: i.cluster,
    namespace: i.namespace,
    release: i.into,
    path: 'helm',
    from: version.text,
    to: version.text,
    chart: { ref: chartRef, version: chartVersion, appVersion: from.appVersion },
    image: '',
    reasons: [
      `backup ${b.name} of ${i.source} was taken from Milvus ${version.text}: ${i.into} is installed as ${i.source} revision ${from.revision} ran it (chart ${chartVersion})`,
      `milvus-backup recreates the collections and bulk-inserts their data; indexes are built again and nothing is loaded; about ${minutes} min (a rough estimate)`,
      `${i.source} is left as it is: remove it yourself once ${i.into} is trusted`,
    ],
    steps,
    warnings: i.milvusAddress ? [] : [`the bot reads no Milvus here: the restored collections are not checked (MILVUS_DATA_CHECKS=off)`],
    rollback: null,
    noRollback: `a restore makes a new release; to undo it, remove ${i.into} (helm uninstall ${i.into} -n ${i.namespace})`,
    observed: { helmRevision: 0, helmStatus: 'absent', chartVersion: '', images: {} },
    restoreOf: { release: i.source, backup: b.name, backupUrl: i.backupUrl, revision: from.revision, collections: names.length, sizeBytes: b.sizeBytes },
  };
}
