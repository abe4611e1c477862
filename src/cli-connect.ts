/**
 * The CLI's connection to a cluster and who it acts as. Loaded when a command runs, so that
 * `--help` and refused input never load the Kubernetes client; light enough for `plan`, which
 * needs nothing else (no Redis, no BullMQ: those are cli-run.ts).
 */
import { userInfo } from 'node:os';
import { connectCluster, type Connection } from './cluster/connect.js';
import type { PlanSettings } from './upgrade/plan.js';
import type { Actor } from './upgrade/requests.js';
import type { GlobalOpts, PlanOpts } from './cli-options.js';

export function connect(o: Partial<PlanOpts> & GlobalOpts, settings: PlanSettings): Connection {
  return connectCluster({
    kubeconfig: o.kubeconfig,
    context: o.context,
    listContexts: true,
    helmBin: o.helmBin,
    settings,
    ...(o.dataChecks ? { milvus: milvusSettings(o as PlanOpts) } : {}),
    ...(o.backupPolicy ? { backups: { urlTemplate: o.backupUrl || null, byRelease: intoOnly(o, o.restoreUrl), policy: o.backupPolicy } } : {}),
  });
}

/** A restore's new release reached at its own address (`--restore-url`, `--into-milvus-address`). */
function intoOnly(o: Partial<PlanOpts>, value: string | undefined): Record<string, string> {
  return o.into && o.namespace && value ? { [`${o.namespace}/${o.into}`]: value } : {};
}

/** From the flags (and their environment variables); credentials from the environment when no Secret is named. */
function milvusSettings(o: PlanOpts) {
  const env = process.env;
  const credentials = env.MILVUS_TOKEN ? { token: env.MILVUS_TOKEN } : env.MILVUS_USER ? { username: env.MILVUS_USER, password: env.MILVUS_PASSWORD ?? '' } : null;
  return { checks: o.dataChecks, addressTemplate: o.milvusAddress, byRelease: intoOnly(o, o.intoMilvusAddress), credentialsSecret: o.milvusCredentialsSecret ?? null, credentials, tls: env.MILVUS_TLS === 'true' };
}

export function cliActor(): Actor {
  let name = 'unknown';
  try {
    name = userInfo().username;
  } catch {
    // No passwd entry (some containers): the audit says "unknown".
  }
  return { id: `cli:${name}`, name, via: 'cli' };
}
