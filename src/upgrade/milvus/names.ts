import { InputError, showInput } from '../errors.js';

// DNS-1123 label: what Kubernetes accepts for namespaces; helm release names follow the same
// rule with a 53-character cap (helm appends suffixes to make object names).
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function validateReleaseName(name: string): string {
  if (name.length === 0 || name.length > 53 || !DNS1123_LABEL.test(name)) {
    throw new InputError(`"${show(name)}" is not a valid Helm release name`, [
      'use lower-case letters, digits and "-", starting and ending with a letter or digit, at most 53 characters',
    ]);
  }
  return name;
}

export function validateNamespace(name: string): string {
  if (name.length === 0 || name.length > 63 || !DNS1123_LABEL.test(name)) {
    throw new InputError(`"${show(name)}" is not a valid Kubernetes namespace`, [
      'use lower-case letters, digits and "-", starting and ending with a letter or digit, at most 63 characters',
    ]);
  }
  return name;
}

const show = (s: string) => showInput(s, 60);

/** The chart's fullname rule (SPEC §4): `<release>-milvus`, or the release when it says milvus. */
export function milvusFullname(release: string, fullnameOverride?: string | null): string {
  if (fullnameOverride) return fullnameOverride;
  return release.includes('milvus') ? release : `${release}-milvus`;
}

/** The meta-migration's objects, named as migrate.sh names them: the planner makes them, the observer finds a migration in progress by them. */
export function migrationNames(release: string) {
  return {
    replicasConfigMap: `milvus-deploy-replicas-${release}`,
    configMap: `milvus-meta-migration-config-${release}`,
    pvc: `milvus-meta-migration-backup-${release}`,
    backupPod: `milvus-meta-migration-backup-${release}`,
    migratePod: `milvus-meta-migration-${release}`,
    rollbackPod: `milvus-meta-migration-rollback-${release}`,
  };
}

/**
 * The release's Milvus workloads and pods: the release's instance label and the chart's plain
 * `component` label. Not `app.kubernetes.io/name=milvus`: nameOverride changes that label (and
 * such a release looked empty). No subchart the Milvus chart ships (etcd, MinIO, Pulsar, Kafka,
 * TEI) sets both.
 */
export function releasePodSelector(release: string): string {
  return `app.kubernetes.io/instance=${release},component`;
}
