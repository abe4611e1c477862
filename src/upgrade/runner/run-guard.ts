/**
 * What a worker will run, checked against its own configuration and the live release, before
 * the first step and on every resume. The plan comes from a record in Redis, and a record is not
 * trusted to say which chart, repository, images or settings are safe: one HSET and one queued
 * job made a worker run `helm upgrade` with an attacker's chart and image (issue 25).
 */
import { queueSwitchKeys } from '../milvus/message-queue.js';
import { SHIFTS } from '../milvus/components.js';
import { sameRepository, tagOf } from '../milvus/image-ref.js';
import { parseImageTag } from '../milvus/version.js';
import type { Plan, PlanSettings } from '../plan.js';
import type { DeploymentTarget, Step } from '../steps.js';
import { BACKUP_NAME } from '../backup.js';

export interface RunGuardInputs {
  /** Where the request says it acts: its own fields, not the plan's. */
  readonly cluster: string;
  readonly namespace: string;
  readonly release: string;
  readonly plan: Plan;
  /** The worker's own settings: its chart repository and migration image. */
  readonly settings: PlanSettings;
  /** The repository of the Milvus images the release runs now; null when none was seen. */
  readonly liveMilvusRepository: string | null;
  /**
   * Where the worker's own config says the release's Milvus answers; null: it reads no Milvus.
   * The gate and the canary loop dial it with the release's credentials: a record must not name
   * another address to send them to. Absent: not checked (callers that run no data step).
   */
  readonly milvusAddress?: string | null;
  /**
   * The release's milvus-backup server by the worker's own config; null: none. A record must not
   * send the worker to another server (it would ask it to back up, and report, somewhere else).
   * Absent: not checked.
   */
  readonly backupUrl?: string | null;
}

const CHART_VERSION = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]{1,40})?$/;

/** Every `--set` key a plan of this bot writes: the image tag, the shifts' flags, the queues' switches. */
export const PLANNED_SET_KEYS: ReadonlySet<string> = new Set(['image.all.tag', ...SHIFTS.flatMap((s) => Object.keys(s.set)), ...queueSwitchKeys()]);

/** Why the worker must not run this plan; empty when nothing is wrong. */
export function runGuardProblems(i: RunGuardInputs): string[] {
  const problems: string[] = [];
  const p = i.plan;
  if (p.cluster !== i.cluster || p.namespace !== i.namespace || p.release !== i.release) {
    problems.push(`the plan is for ${p.cluster}/${p.namespace}/${p.release}, the request for ${i.cluster}/${i.namespace}/${i.release}`);
  }
  const chartRef = `${i.settings.repoName}/milvus`;
  const image = (what: string, ref: string) => {
    const tag = tagOf(ref);
    if (i.liveMilvusRepository === null || !sameRepository(ref, i.liveMilvusRepository)) {
      problems.push(`${what} ${ref} is not from the release's Milvus repository (${i.liveMilvusRepository ?? 'none seen'})`);
    } else if (tag === null || parseImageTag(tag) === null) problems.push(`${what} ${ref} has no Milvus version tag`);
  };
  const target = (t: DeploymentTarget) => {
    image(`the image for ${t.deployment}`, t.image);
    if (t.recordPrevious) image(`the previous image recorded for ${t.deployment}`, t.recordPrevious.image);
  };
  for (const step of p.steps) stepProblems(step, i, chartRef, image, target, problems);
  const dialled = [...new Set([...p.steps.flatMap((s) => (s.kind === 'check-data' ? [s.address] : [])), ...(p.data?.address && p.data.canaries.length > 0 ? [p.data.address] : [])])];
  if (i.milvusAddress !== undefined) {
    for (const address of dialled) {
      if (address !== i.milvusAddress) problems.push(`the plan reads Milvus at ${address}, not at ${i.milvusAddress ?? 'no address'} as this worker's config says (the release's credentials go there)`);
    }
  }
  for (const s of p.steps) {
    if (s.kind === 'backup') {
      if (!BACKUP_NAME.test(s.name)) problems.push(`the backup name "${s.name.slice(0, 60)}" is not one milvus-backup takes`);
      if (i.backupUrl !== undefined && s.url !== i.backupUrl) problems.push(`the plan takes its backup at ${s.url}, not at ${i.backupUrl ?? 'no milvus-backup server'} as this worker's config says`);
    }
    if (s.kind === 'restore-backup') {
      if (!BACKUP_NAME.test(s.backup) || !BACKUP_NAME.test(s.taskId)) problems.push(`the restore names "${s.backup.slice(0, 60)}" / "${s.taskId.slice(0, 60)}", not what milvus-backup takes`);
      if (i.backupUrl !== undefined && s.url !== i.backupUrl) problems.push(`the plan restores with ${s.url}, not with ${i.backupUrl ?? 'no milvus-backup server'} as this worker's config says for ${i.release}`);
    }
  }
  return problems;
}

function stepProblems(
  step: Step,
  i: RunGuardInputs,
  chartRef: string,
  image: (what: string, ref: string) => void,
  target: (t: DeploymentTarget) => void,
  problems: string[],
): void {
  switch (step.kind) {
    case 'helm-repo-update':
      if (step.repoName !== i.settings.repoName || step.repoUrl !== i.settings.repoUrl) {
        problems.push(`a step refreshes chart repository ${step.repoName}, not the configured ${i.settings.repoName}`);
      }
      return;
    case 'helm-upgrade':
      if (step.chartRef !== chartRef) problems.push(`a step upgrades with chart ${step.chartRef}, not ${chartRef}`);
      if (!CHART_VERSION.test(step.chartVersion)) problems.push(`a step upgrades to chart version "${step.chartVersion}"`);
      for (const [key, value] of Object.entries(step.set)) {
        if (!PLANNED_SET_KEYS.has(key)) problems.push(`a step sets ${key}, which no plan of this bot sets`);
        else if (key === 'image.all.tag' ? parseImageTag(value) === null : value !== 'true' && value !== 'false') {
          problems.push(`a step sets ${key}=${value}`);
        }
      }
      return;
    case 'helm-install':
      // Only a restore installs, and only itself, with the values of the release it restores.
      if (i.plan.kind !== 'restore' || !i.plan.restoreOf) problems.push('a step installs a release, which only a restore plan does');
      else if (step.valuesOf.release !== i.plan.restoreOf.release) problems.push(`a step installs with the values of ${step.valuesOf.release}, not of ${i.plan.restoreOf.release} whose backup it restores`);
      if (step.chartRef !== chartRef) problems.push(`a step installs chart ${step.chartRef}, not ${chartRef}`);
      if (!CHART_VERSION.test(step.chartVersion)) problems.push(`a step installs chart version "${step.chartVersion}"`);
      for (const [key, value] of Object.entries(step.set)) {
        if (key !== 'image.all.tag' || parseImageTag(value) === null) problems.push(`a step installs with --set ${key}=${value}`);
      }
      return;
    case 'update-deployment':
      target(step.target);
      return;
    case 'start-milvus':
      for (const t of step.targets) target(t);
      return;
    case 'run-meta-migration':
      if (step.image !== i.settings.migration.image) problems.push(`a step runs migration image ${step.image}, not the configured ${i.settings.migration.image}`);
      return;
    default:
      return;
  }
}
