/**
 * The CLI's options as commander parses them. A module of their own so that the lazily loaded
 * parts of the CLI (cli-connect.ts, cli-run.ts) name them without importing cli.ts, which loads them.
 */
export interface GlobalOpts {
  kubeconfig?: string;
  context?: string;
  repoName: string;
  repoUrl: string;
  helmBin?: string;
  json?: boolean;
}

export interface PlanOpts extends GlobalOpts {
  namespace: string;
  strategy?: string;
  etcdEndpoint?: string;
  storageClass?: string;
  migrationImage: string;
  metaRootPath?: string;
  deleteMigrationResources?: boolean;
  sessionWait: string;
  helmTimeout: string;
  rolloutTimeout: string;
  coordinatorMinReady: string;
  settle: string;
  pollMs: string;
  yes?: boolean;
  redisUrl: string;
  keyPrefix: string;
  record?: boolean;
  queue?: boolean;
  sealKeyFile?: string;
  /** From APPROVAL_SEAL_KEY only (a flag would show the key in `ps`). */
  sealKey?: string;
  chart?: string;
  allowDataChanges?: boolean;
  withoutDataChecks?: boolean;
  milvusAddress: string;
  milvusCredentialsSecret?: string;
  dataChecks: 'required' | 'off';
  dataTimeout: string;
  backupUrl?: string;
  backupPolicy: 'one-way' | 'always';
  withoutBackup?: boolean;
  backupTimeout: string;
  /** restore: the backup, the new release, its milvus-backup server and its Milvus. */
  backup?: string;
  into?: string;
  restoreUrl?: string;
  intoMilvusAddress?: string;
}
