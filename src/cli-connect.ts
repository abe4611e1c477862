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
  });
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
