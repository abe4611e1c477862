/**
 * What an upgrade must not do without saying so: lose the objects that hold data, or point Milvus
 * elsewhere. A plan that deletes or replaces a StatefulSet, deletes a PVC, changes a
 * volumeClaimTemplate or another field Kubernetes will not change in place, switches the message
 * queue, or changes a setting of Milvus's config that locates or protects data
 * (milvus/data-settings.ts), is refused unless an explicit, audited override allows it.
 */
import { PreflightError } from '../errors.js';
import { dataSettingChanges, dataSettingsOf } from '../milvus/data-settings.js';
import { minioFormatLosses } from '../milvus/minio.js';
import { queueName, queuesOfObjects, type QueueKind } from '../milvus/message-queue.js';
import type { DataRisk } from '../plan.js';
import { canonical, claimTemplatesOf, objectKey, statefulSetImmutable, type KubeObject, type ObjectChange } from '../objects.js';

export interface DataGuardInput {
  /** What helm recorded for the release (its manifest). */
  readonly before: readonly KubeObject[];
  /** What the upgrade would apply (helm's own rendering). */
  readonly after: readonly KubeObject[];
  /** The release's live objects (Deployments, StatefulSets, PVCs). */
  readonly live: readonly KubeObject[];
  readonly changes: readonly ObjectChange[];
  readonly queue: QueueKind | null;
  /** The Milvus ConfigMap the pods mount and its user file: its data settings are compared. */
  readonly config?: { readonly name: string; readonly userKey: string } | null;
}

/** The subject of a risk in Milvus's config (the fixes are keyed on it). */
export const CONFIG_SUBJECT = 'Milvus config';
/** The subject of a MinIO that would meet data it cannot read (the fixes are keyed on it). */
export const MINIO_SUBJECT = 'MinIO';

export function dataRisks(input: DataGuardInput): DataRisk[] {
  const risks: DataRisk[] = [];
  const afterByKey = new Map(input.after.map((o) => [objectKey(o), o]));
  const liveByKey = new Map(input.live.map((o) => [objectKey(o), o]));
  const livePvcs = input.live.filter((o) => o.kind === 'PersistentVolumeClaim').map((o) => o.metadata.name);
  for (const c of input.changes) {
    const subject = `${c.kind}/${c.name}`;
    if (c.kind === 'StatefulSet' && c.change === 'removed') {
      const sts = liveByKey.get(subject) ?? input.before.find((o) => objectKey(o) === subject);
      const pvcs = sts ? claimsOf(sts, livePvcs) : [];
      risks.push({
        subject,
        reason: `would be deleted${pvcs.length ? `; its PVCs ${pvcs.join(', ')} would stay behind with nothing using them` : ''}`,
      });
    } else if (c.kind === 'PersistentVolumeClaim' && c.change === 'removed') {
      risks.push({ subject, reason: 'would be deleted, and the volume with it' });
    }
  }
  for (const b of input.before) {
    if (b.kind !== 'StatefulSet') continue;
    const a = afterByKey.get(objectKey(b));
    if (!a) continue;
    const was = statefulSetImmutable(b);
    const will = statefulSetImmutable(a);
    const fields = Object.keys(was).filter((k) => was[k] !== will[k]);
    if (fields.length === 0) continue;
    const claims = fields.includes('volumeClaimTemplates')
      ? ` (volumeClaimTemplates ${claimTemplatesOf(b).join(', ') || 'none'} -> ${claimTemplatesOf(a).join(', ') || 'none'}${canonical(claimTemplatesOf(b)) === canonical(claimTemplatesOf(a)) ? ', their spec' : ''})`
      : '';
    risks.push({
      subject: objectKey(b),
      reason: `changes ${fields.join(', ')}${claims}: Kubernetes refuses that in place, so helm would fail part-way or the StatefulSet would have to be deleted and recreated`,
    });
  }
  const queueAfter = queuesOfObjects(input.after);
  const queueBefore = queuesOfObjects(input.live.length ? input.live : input.before);
  const lost = queueBefore.filter((q) => !queueAfter.includes(q));
  const gained = queueAfter.filter((q) => !queueBefore.includes(q));
  if (lost.length || gained.length) {
    const now = input.queue ? queueName(input.queue) : queueBefore.map(queueName).join(' and ') || 'no queue of its own';
    const parts = [
      ...(lost.length ? [`removes ${lost.map(queueName).join(' and ')}`] : []),
      ...(gained.length ? [`starts an empty ${gained.map(queueName).join(' and ')}`] : []),
    ];
    risks.push({ subject: 'message queue', reason: `the release uses ${now}; the upgrade ${parts.join(' and ')}: Milvus would lose the messages it has not yet persisted` });
  }
  // Before the config: a MinIO that does not start loses every segment, whatever the config says.
  for (const m of minioFormatLosses(input.live, input.after)) {
    risks.push({
      subject: MINIO_SUBJECT,
      reason: `Deployment/${m.name} runs ${m.before.image} on one drive (minio.mode=standalone), which keeps its data in the old FS format; the upgrade starts ${m.after.image}, which cannot read it ("found backend type fs"): MinIO would not start and Milvus would lose its object storage`,
    });
  }
  if (input.config) {
    const { name, userKey } = input.config;
    for (const c of dataSettingChanges(dataSettingsOf(input.before, name, userKey), dataSettingsOf(input.after, name, userKey))) {
      risks.push({ subject: CONFIG_SUBJECT, reason: `${c.text}: Milvus would look for its data elsewhere, or open it` });
    }
  }
  return risks;
}

/** PVCs a StatefulSet made from its templates: `<template>-<statefulset>-<ordinal>`. */
function claimsOf(sts: KubeObject, pvcs: readonly string[]): string[] {
  const prefixes = claimTemplatesOf(sts).map((t) => `${t}-${sts.metadata.name}-`);
  return pvcs.filter((p) => prefixes.some((prefix) => p.startsWith(prefix) && /^\d+$/.test(p.slice(prefix.length))));
}

/** The refusal of a plan that would lose data: each risk, then what to do instead. */
export class DataRiskError extends PreflightError {
  constructor(
    what: string,
    readonly risks: readonly DataRisk[],
    readonly fixes: readonly string[],
  ) {
    super(`${what}: the upgrade would change what holds the release's data`, [
      ...risks.map((r) => `${r.subject} ${r.reason}`),
      ...fixes.map((f) => `fix: ${f}`),
    ]);
  }
}
