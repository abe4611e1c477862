import type { PlanSettings } from '../upgrade/plan.js';
import type { Ports } from '../upgrade/ports.js';
import type { HelmReleaseInfo } from '../upgrade/state.js';
import type { EngineDeps } from '../upgrade/planner/service.js';
import { systemClock } from './clock.js';
import { EtcdHttpSessionProbe } from './etcd.js';
import { CoreV1Api } from '@kubernetes/client-node';
import { HelmCliReleaseManager } from './helm.js';
import { HelmSecretStorage } from './helm-storage.js';
import { KubernetesClusterOps } from './kube.js';
import { loadKubeConfig } from './kube-api.js';
import { makeApiClient } from './kube-client.js';
import { KubernetesReleaseWatch } from './release-watch.js';
import { HelmKubeReleaseObserver } from './milvus.js';
import { KubeMilvusAccess, type MilvusAccessSettings } from './milvus-access.js';
import { ConfiguredBackupAccess, type BackupAccessSettings } from './backup-access.js';
import { HttpBackupService } from './milvus-backup.js';

export interface ConnectOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  /** See KubeOptions.listContexts: the CLI only. */
  readonly listContexts?: boolean;
  readonly helmBin?: string;
  readonly helmEnv?: Readonly<Record<string, string>>;
  readonly settings: PlanSettings;
  /** How to reach each release's Milvus; absent: plans say their data is not checked. */
  readonly milvus?: MilvusAccessSettings;
  /** Each release's milvus-backup server and the backup policy; absent: no backups (cards warn where one is wanted). */
  readonly backups?: BackupAccessSettings;
}

export interface Connection extends EngineDeps {
  readonly ports: Ports;
  readonly kube: KubernetesClusterOps;
  /** helm's releases (their current revisions), read from the release Secrets; every namespace when none is given. */
  releases(namespace?: string): Promise<HelmReleaseInfo[]>;
  /** Closes the watches that wake waits (they would keep a short-lived process alive). */
  close(): void;
}

/** Builds the real adapters for one cluster (a kubeconfig context). */
export function connectCluster(options: ConnectOptions): Connection {
  const kc = loadKubeConfig({ kubeconfig: options.kubeconfig, context: options.context, listContexts: options.listContexts });
  const clusterName = kc.getCurrentContext() || 'default';
  const kube = new KubernetesClusterOps(kc);
  const core = makeApiClient(kc, CoreV1Api);
  const storage = new HelmSecretStorage(core);
  const milvus = options.milvus ? new KubeMilvusAccess(options.milvus, core) : undefined;
  const backups = new ConfiguredBackupAccess(options.backups ?? { urlTemplate: null, policy: 'one-way' }, new HttpBackupService());
  const helm = new HelmCliReleaseManager({
    storage,
    bin: options.helmBin,
    kubeconfig: options.kubeconfig,
    // Only an explicit context: helm finds the same default (KUBECONFIG, ~/.kube/config or
    // in-cluster) as the client, and knows nothing of the client's name for the in-cluster one.
    kubeContext: options.context,
    env: options.helmEnv,
  });
  const changes = new KubernetesReleaseWatch(kc);
  return {
    clusterName,
    helm,
    kube,
    releases: (namespace) => storage.releases(namespace),
    observer: new HelmKubeReleaseObserver(helm, kube, clusterName),
    settings: options.settings,
    ...(milvus ? { milvus } : {}),
    backups,
    ports: { helm, cluster: kube, sessions: new EtcdHttpSessionProbe(), clock: systemClock, changes, backups, ...(milvus ? { milvus } : {}) },
    close: () => changes.close(),
  };
}
