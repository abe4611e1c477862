/**
 * A plan's `changes`: for the helm path from helm's own rendering of the upgrade (compared with
 * what helm recorded and what runs), checked by the data guard; for the paths that patch
 * Deployments, from the plan's own steps.
 */
import { chooseChart, type ChartEntry } from '../milvus/charts.js';
import { queueName, unsafeChartsFor } from '../milvus/message-queue.js';
import { CONFIG_SUBJECT, dataRisks, DataRiskError, MINIO_SUBJECT } from './data-guard.js';
import { minioFormatLosses } from '../milvus/minio.js';
import { diffObjects, type KubeObject, type ObjectChange } from '../objects.js';
import type { DataRisk, Plan } from '../plan.js';
import type { Step } from '../steps.js';
import { parseVersion } from '../milvus/version.js';

export interface RenderedUpgrade {
  /** `helm get manifest`: what helm recorded for the release. */
  readonly before: readonly KubeObject[];
  /** What the upgrade would apply (`helm upgrade --dry-run=server`). */
  readonly after: readonly KubeObject[];
  /** The release's live Deployments, StatefulSets and PVCs. */
  readonly live: readonly KubeObject[];
  /** The Milvus ConfigMap the pods mount (and its user file), for the config guard. */
  readonly config?: { readonly name: string; readonly userKey: string } | null;
}

/**
 * Adds the changes of a helm-path plan and refuses it when it would change what holds data,
 * unless `allowDataChanges` names who allowed it (then the plan records who and what).
 */
export function withHelmChanges(
  plan: Plan,
  render: RenderedUpgrade,
  context: { readonly charts: readonly ChartEntry[]; readonly allowDataChanges: { readonly by: string } | null; readonly rolloutTimeoutSeconds?: number },
): Plan {
  const changes = diffObjects(render.before, render.after, render.live);
  const risks = dataRisks({ ...render, changes, queue: plan.messageQueue?.kind ?? null });
  plan = withDependencyWait(plan, changes, context.rolloutTimeoutSeconds ?? 600);
  if (risks.length === 0) return { ...plan, changes };
  if (!context.allowDataChanges) {
    throw new DataRiskError(`cannot upgrade ${plan.release} with chart ${plan.chart?.version ?? '?'}`, risks, fixesFor(plan, context.charts, risks, render));
  }
  return {
    ...plan,
    changes,
    dataChanges: { allowedBy: context.allowDataChanges.by, risks },
    warnings: [
      ...plan.warnings,
      `changes to what holds data were allowed by ${context.allowDataChanges.by}: ${risks.map((r) => `${r.subject} ${r.reason}`).join('; ')}`,
    ],
  };
}

/**
 * On the ordered path helm does not wait (its --wait would roll every Milvus Deployment at
 * once), so nothing waited for the StatefulSets it changes: etcd, MinIO, Pulsar or Kafka could
 * still be restarting when the first Milvus component resumes (issue 24). Right after the helm
 * step, the run now waits for them.
 */
function withDependencyWait(plan: Plan, changes: readonly ObjectChange[], timeoutSeconds: number): Plan {
  const at = plan.steps.findIndex((s) => s.kind === 'helm-upgrade' && s.wait === false);
  const statefulSets = changes.filter((c) => c.kind === 'StatefulSet' && c.change !== 'removed').map((c) => c.name);
  if (at < 0 || statefulSets.length === 0) return plan;
  const wait: Step = {
    kind: 'wait-statefulsets',
    statefulSets,
    timeoutSeconds,
    description: `wait until the StatefulSets helm changed (${statefulSets.join(', ')}) run their new revision with every pod ready, before any Milvus component resumes`,
  };
  // A health gate counts restarts since a step index: those after the insertion move with it.
  const shifted = plan.steps.map((s): Step => (s.kind === 'check-health' && s.sinceStep > at ? { ...s, sinceStep: s.sinceStep + 1 } : s));
  return { ...plan, steps: [...shifted.slice(0, at + 1), wait, ...shifted.slice(at + 1)] };
}

function fixesFor(plan: Plan, charts: readonly ChartEntry[], risks: readonly DataRisk[], render: RenderedUpgrade): string[] {
  const fixes: string[] = [];
  const chart = plan.chart?.version;
  const queue = plan.messageQueue?.kind ?? null;
  const unsafe = unsafeChartsFor(queue);
  if (chart && queue && unsafe?.excludes(chart)) {
    try {
      const safe = chooseChart(charts, parseVersion(plan.to), { exclude: unsafe });
      fixes.push(
        `use chart ${safe.chartVersion}${safe.imageTagOverride ? ` with image.all.tag=${safe.imageTagOverride}` : ''} (the bot's own choice: leave out --chart); it keeps ${queueName(queue)}`,
      );
    } catch {
      fixes.push(`no chart outside ${unsafe.range} serves this version: pick another target version`);
    }
    fixes.push(unsafe.advice);
  }
  const config = risks.filter((r) => r.subject === CONFIG_SUBJECT);
  if (config.length > 0) {
    fixes.push(
      'keep the setting in the release\'s own config before this upgrade: write it in extraConfigFiles."user.yaml" (for the etcd root: etcd.rootPath) with a helm upgrade of the chart the release runs now, then plan again; charts 4.x no longer write the 3.x values metadata.rootPath, msgChannel.chanNamePrefix.cluster and authorization.enabled',
    );
  }
  if (risks.some((r) => r.subject === MINIO_SUBJECT)) {
    // The release's own value survives --reset-then-reuse-values; set on the chart it runs now, it changes nothing else.
    for (const tag of new Set(minioFormatLosses(render.live, render.after).map((m) => m.before.tag))) {
      fixes.push(
        `keep MinIO's image (what the release runs now): helm upgrade ${plan.release} ${plan.chart?.ref ?? 'zilliztech/milvus'} -n ${plan.namespace} --version ${plan.observed.chartVersion} --reuse-values --set minio.image.tag=${tag ?? '<its tag>'}, then plan again; the later upgrade keeps that value`,
      );
    }
    fixes.push('or first move MinIO\'s data to a single-drive (xl-single) MinIO, as the Milvus docs describe for Milvus 2.2.5 and later, then plan again');
  }
  fixes.push(
    'if the change is meant (a planned queue migration, say): back up first, then plan again with --allow-data-changes (in Slack only an approver may give it); it is recorded in the audit trail',
  );
  return fixes;
}

/** Changes of a plan that patches Deployments itself (rolling, migration): read off its steps. */
export function changesOfSteps(steps: readonly Step[], currentImages: Readonly<Record<string, string>>): ObjectChange[] {
  const changes = new Map<string, ObjectChange>();
  const changed = (deployment: string, component: string, image: string) => {
    const before = currentImages[deployment] ?? null;
    if (before === image) return;
    changes.set(`Deployment/${deployment}`, {
      kind: 'Deployment',
      name: deployment,
      change: 'changed',
      detail: `${component}: ${before ?? '(none)'} -> ${image}`,
      images: [{ container: component, before, after: image }],
    });
  };
  for (const s of steps) {
    if (s.kind === 'update-deployment') changed(s.target.deployment, s.target.component, s.target.image);
    else if (s.kind === 'start-milvus') for (const t of s.targets) changed(t.deployment, t.component, t.image);
    else if (s.kind === 'ensure-backup-pvc') {
      changes.set(`PersistentVolumeClaim/${s.pvc}`, { kind: 'PersistentVolumeClaim', name: s.pvc, change: 'added', detail: `backup of the metadata (${s.size})` });
    } else if (s.kind === 'ensure-migration-config' || s.kind === 'save-replicas') {
      const name = s.configMap;
      changes.set(`ConfigMap/${name}`, { kind: 'ConfigMap', name, change: 'added', detail: s.kind === 'save-replicas' ? 'replica counts saved for the restart' : 'meta-migration settings' });
    } else if (s.kind === 'enable-active-standby') {
      changes.set(`ConfigMap/${s.configMap}`, { kind: 'ConfigMap', name: s.configMap, change: 'changed', detail: `${s.key}: coordinators' enableActiveStandby: true` });
    }
  }
  return [...changes.values()];
}
