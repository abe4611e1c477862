import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { inject } from 'vitest';
import { helm, kubectl, REPO_ROOT, type ClusterInfo } from '../harness/control-plane.js';

export function cluster(): ClusterInfo {
  return inject('cluster');
}

/**
 * Swallows only the failure a caller expects (`expected` matches its message); any other error of
 * helm or kubectl is thrown, so a test never goes on from a command that failed for another reason.
 */
export function onlyIf(expected: RegExp): (err: unknown) => string {
  return (err: unknown) => {
    if (expected.test(String(err))) return '';
    throw err;
  };
}

/** kubectl's and helm's answer for an object that is not there. */
export const NOT_FOUND = /NotFound|not found/;

/** A fresh namespace for one test; `cleanup` deletes it (without waiting for it to go). */
export async function newNamespace(prefix: string): Promise<{ name: string; cleanup: () => Promise<void> }> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await kubectl(cluster(), ['create', 'namespace', name]);
  // A test may have deleted its namespace already: only that is no failure of the cleanup.
  return { name, cleanup: async () => void (await kubectl(cluster(), ['delete', 'namespace', name, '--wait=false']).catch(onlyIf(NOT_FOUND))) };
}

/** helm with the test cluster's private helm home, the chart repo added as `zilliztech`. */
export async function helmT(args: string[], timeoutMs?: number): Promise<string> {
  return helm(cluster(), args, timeoutMs);
}

let repoReady: Promise<void> | null = null;
export function ensureRepo(): Promise<void> {
  repoReady ??= (async () => {
    await helmT(['repo', 'add', 'zilliztech', cluster().chartRepoUrl, '--force-update']);
    await helmT(['repo', 'update', 'zilliztech']);
  })();
  return repoReady;
}

export async function installRelease(namespace: string, release: string, chartVersion: string, set: Record<string, string> = {}, labels: Record<string, string> = {}): Promise<void> {
  await ensureRepo();
  const sets = Object.entries(set).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const own = Object.keys(labels).length > 0 ? ['--labels', Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',')] : [];
  await helmT(['install', release, 'zilliztech/milvus', '-n', namespace, '--version', chartVersion, ...sets, ...own, '--wait', '--timeout', '120s']);
  await waitSettled(namespace, release);
}

/**
 * Waits until the bot's preflight would see the release at rest. helm's --wait looks at the new
 * pods only: the Deployments' own status can lag a moment behind, and the old pods of a restart
 * are still terminating (the preflight refuses both).
 */
export async function waitSettled(namespace: string, release: string): Promise<void> {
  for (const d of await deployments(namespace, release)) {
    await kubectl(cluster(), ['rollout', 'status', `deployment/${d.name}`, '-n', namespace, '--timeout', '60s']);
  }
  const deadline = Date.now() + 60_000;
  for (;;) {
    const out = await kubectl(cluster(), ['get', 'pods', '-n', namespace, '-l', `app.kubernetes.io/instance=${release}`, '-o', 'json']);
    const terminating = (JSON.parse(out) as { items: Array<{ metadata: { name: string; deletionTimestamp?: string } }> }).items.filter((p) => p.metadata.deletionTimestamp);
    if (terminating.length === 0) return;
    if (Date.now() > deadline) throw new Error(`pods still terminating after 60 s: ${terminating.map((p) => p.metadata.name).join(', ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Redis keys the CLI writes (its audit trail) in this test file; global teardown removes them. */
export const CLI_KEY_PREFIX = `e2e-cli-${inject('runId')}-${randomBytes(4).toString('hex')}:`;

/** Runs the real CLI as a person would (a separate process), against the test cluster. */
export function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> {
  const info = cluster();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(REPO_ROOT, 'bin', 'milvus-upgrade.js'), '--kubeconfig', info.kubeconfig, '--repo-url', info.chartRepoUrl, ...args],
      { env: { ...process.env, ...info.helmEnv, LOG_LEVEL: 'warn', KEY_PREFIX: CLI_KEY_PREFIX, HEALTH_SETTLE_SECONDS: '1', MILVUS_DATA_CHECKS: 'off', ...extraEnv }, timeout: 400_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export interface DeploymentView {
  readonly name: string;
  readonly component: string;
  readonly image: string;
  readonly versionLabel: string | undefined;
  readonly replicas: number;
  readonly readyReplicas: number;
  readonly annotations: Record<string, string>;
}

export async function deployments(namespace: string, release: string): Promise<DeploymentView[]> {
  const out = await kubectl(cluster(), ['get', 'deployments', '-n', namespace, '-l', `app.kubernetes.io/instance=${release},component`, '-o', 'json']);
  const list = JSON.parse(out) as { items: Array<Record<string, any>> };
  return list.items
    .map((d) => {
      const component = d.spec.template.metadata.labels.component as string;
      const container = (d.spec.template.spec.containers as Array<{ name: string; image: string }>).find((c) => c.name === component);
      return {
        name: d.metadata.name as string,
        component,
        image: container?.image ?? '',
        versionLabel: d.spec.template.metadata.labels['app.kubernetes.io/version'] as string | undefined,
        replicas: d.spec.replicas as number,
        readyReplicas: (d.status?.readyReplicas ?? 0) as number,
        annotations: (d.metadata.annotations ?? {}) as Record<string, string>,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

export async function imagesByComponent(namespace: string, release: string): Promise<Record<string, string>> {
  return Object.fromEntries((await deployments(namespace, release)).map((d) => [d.component, d.image]));
}

export async function helmStatus(namespace: string, release: string): Promise<{ revision: number; status: string; chart: string }> {
  const rows = JSON.parse(await helmT(['list', '-n', namespace, '-a', '-o', 'json'])) as Array<{ name: string; revision: string; status: string; chart: string }>;
  const row = rows.find((r) => r.name === release);
  if (!row) throw new Error(`release ${release} not in ${namespace}`);
  return { revision: Number(row.revision), status: row.status, chart: row.chart };
}

/** Everything a refused command must leave untouched. */
export async function snapshot(namespace: string, release: string): Promise<string> {
  const deps = await deployments(namespace, release);
  // A release that is not there (uninstalled, never installed) is part of the state; any other helm failure is not.
  const h = await helmStatus(namespace, release).catch((err: unknown) => {
    if (/not in /.test(String(err))) return null;
    throw err;
  });
  const cms = await kubectl(cluster(), ['get', 'configmaps', '-n', namespace, '-o', 'jsonpath={range .items[*]}{.metadata.name}={.metadata.resourceVersion};{end}']);
  return JSON.stringify({ deps: deps.map((d) => [d.name, d.image, d.replicas, d.versionLabel]), h, cms });
}
