import type { Plan } from './upgrade/plan.js';
import type { RunEvent } from './upgrade/steps.js';
import type { RunEventRecord } from './upgrade/requests.js';
import type { ReleaseState } from './upgrade/state.js';
import { rolloutProgress } from './upgrade/state.js';
import type { ChartEntry } from './upgrade/milvus/charts.js';
import { changeCounts } from './upgrade/objects.js';
import { hopViews, noRollbackReason, routeVersions } from './upgrade/plan.js';
import { backupLines, restoreSourceLine } from './upgrade/backup-lines.js';
import { dataSummary, planDataLines, type DataSnapshot } from './upgrade/data-snapshot.js';

/** A plan as a person reads it in a terminal. */
export function planText(plan: Plan): string {
  const lines: string[] = [];
  const title = { upgrade: 'Upgrade plan', rollback: 'Rollback plan', restore: 'Restore plan' }[plan.kind];
  lines.push(`${title} for ${plan.release} (namespace ${plan.namespace}, cluster ${plan.cluster})`);
  const restoring = restoreSourceLine(plan);
  if (restoring) lines.push(`  ${restoring}`);
  lines.push(`  Milvus ${plan.from} -> ${plan.to}, path: ${plan.path}`);
  if (plan.chart) lines.push(`  chart: ${plan.chart.ref} ${plan.chart.version} (built for Milvus ${plan.chart.appVersion})`);
  if (plan.image) lines.push(`  image: ${plan.image}`);
  for (const r of plan.reasons) lines.push(`  why: ${r}`);
  if (plan.messageQueue) lines.push(`  ${plan.messageQueue.note}`);
  const changes = plan.changes ?? [];
  const counts = changeCounts(changes);
  // As the Slack card: a plan whose changes were not worked out (a rollback planned from the
  // cluster's state) says so, rather than claiming it changes nothing.
  const summary = plan.changes === undefined ? 'not listed for this plan' : changes.length === 0 ? 'none found' : `${counts.changed} changed, ${counts.added} added, ${counts.removed} removed`;
  lines.push(`  changes: ${summary}`);
  for (const c of changes) lines.push(`    ${CHANGE_MARK[c.change]} ${c.kind} ${c.name}: ${c.detail}`);
  if (plan.data) for (const l of planDataLines(plan.data)) lines.push(`  ${l}`);
  for (const l of backupLines(plan)) lines.push(`  ${l}`);
  lines.push('  steps:');
  plan.steps.forEach((s, i) => lines.push(`    ${i + 1}. ${s.description}`));
  if (plan.warnings.length > 0) {
    lines.push('  warnings:');
    for (const w of plan.warnings) lines.push(`    ! ${w}`);
  }
  if (plan.hops && plan.hops.length > 0) {
    lines.push(`  route: ${routeVersions(plan).join(' -> ')} (each hop checked before the next)`);
    plan.hops.forEach((h, i) =>
      lines.push(`    hop ${i + 1}: ${h.from} -> ${h.to} by ${h.path}${h.chart ? ` (chart ${h.chart.version})` : ''}; ${h.rollback ? `rollback: ${h.rollback.summary}` : `no rollback: ${h.noRollback}`}`),
    );
  } else if (plan.rollback) lines.push(`  rollback: ${plan.rollback.summary}`);
  else if (plan.kind === 'upgrade') lines.push(`  no rollback: ${noRollbackReason(plan, plan.steps.length)}`);
  else if (plan.kind === 'restore' && plan.noRollback) lines.push(`  no rollback: ${plan.noRollback}`);
  return lines.join('\n');
}

export function planJson(plan: Plan): object {
  return {
    id: plan.id,
    kind: plan.kind,
    cluster: plan.cluster,
    release: plan.release,
    namespace: plan.namespace,
    path: plan.path,
    from: plan.from,
    to: plan.to,
    chart: plan.chart ? plan.chart.version : null,
    chartRef: plan.chart?.ref ?? null,
    image: plan.image,
    reasons: plan.reasons,
    steps: plan.steps,
    warnings: plan.warnings,
    rollback: plan.rollback,
    observed: plan.observed,
    messageQueue: plan.messageQueue ?? null,
    changes: (plan.changes ?? []).map((c) => ({ kind: c.kind, name: c.name, change: c.change, detail: c.detail, ...(c.images ? { images: c.images } : {}) })),
    dataChanges: plan.dataChanges ?? null,
    data: plan.data ?? null,
    backupMissing: plan.backupMissing ?? null,
    restoreOf: plan.restoreOf ?? null,
    withoutBackup: plan.withoutBackup ?? null,
    // Each hop a full plan of its own; one hop (no route) is the plan itself.
    hops: hopViews(plan).map((h) => ({
      from: h.from,
      to: h.to,
      path: h.path,
      chart: h.chart ? h.chart.version : null,
      set: h.set,
      firstStep: h.firstStep,
      steps: h.steps,
      changes: h.changes.map((c) => ({ kind: c.kind, name: c.name, change: c.change, detail: c.detail })),
      warnings: h.warnings,
      rollback: h.rollback,
      noRollback: h.noRollback,
      backup: h.backup ?? null,
      restore: h.restore ?? null,
    })),
  };
}

const CHANGE_MARK = { added: '+', removed: '-', changed: '~' } as const;

export function eventText(e: RunEvent | RunEventRecord): string {
  const n = `[${e.index + 1}/${e.total}]`;
  switch (e.type) {
    case 'step-started':
      return `${n} ${'step' in e ? e.step.description : e.description}`;
    case 'step-progress':
      return `${n}   ${e.message}`;
    case 'step-finished':
      return `${n}   ${e.skipped ? 'already done: ' : 'done: '}${e.detail}`;
    case 'step-failed':
      return `${n}   FAILED: ${e.error}`;
  }
}

export function statusText(s: ReleaseState, running: string): string {
  const lines = [
    `${s.release} (namespace ${s.namespace}, cluster ${s.cluster})`,
    `  helm: revision ${s.helm.revision}, ${s.helm.status}, chart ${s.helm.chart}, app ${s.helm.appVersion}`,
    `  running Milvus ${running} (${s.mode} mode, message queue ${s.messageQueue ?? 'unknown'})`,
    '  components:',
  ];
  for (const c of s.components) {
    const paused = c.paused ? `   PAUSED ${c.pausedBy ? '(by the bot, for an ordered helm step)' : '(not by the bot)'}: nothing rolls until resumed` : '';
    lines.push(`    ${c.component.padEnd(13)} ${c.image.padEnd(28)} ${rolloutProgress(c).text.replace(`${c.component}: `, '')}${paused}`);
  }
  const paused = s.components.filter((c) => c.paused);
  if (paused.length > 0) lines.push(`  WARNING: ${paused.length} Deployment${paused.length === 1 ? '' : 's'} paused (${paused.map((c) => c.deployment).join(', ')})`);
  // Same labels as Milvus (Attu...), another image: no upgrade touches them.
  for (const c of s.others) lines.push(`    ${c.component.padEnd(13)} ${c.image.padEnd(28)} not Milvus, left alone (${c.deployment})`);
  if (s.migration) lines.push(`  migration resources present (backup ${s.migration.backupDone ? 'done' : 'not done'})`);
  return lines.join('\n');
}

export function versionsText(versions: readonly ChartEntry[]): string {
  return ['Milvus   chart', ...versions.map((v) => `${v.appVersion.padEnd(8)} ${v.chartVersion}`)].join('\n');
}

/** Milvus's own view, under `status`: every collection, or why it could not be read. */
export function dataText(m: DataSnapshot | { readonly notRead: string }): string {
  if ('notRead' in m) return `  milvus: data not checked: ${m.notRead}`;
  return [
    `  milvus: ${dataSummary(m)}`,
    ...m.collections.map((c) => `    ${c.name.padEnd(24)} ${c.loadState.padEnd(11)} ${c.rowCount === null ? 'rows unknown' : `${c.rowCount.toLocaleString('en-US')} rows`}`),
  ].join('\n');
}
