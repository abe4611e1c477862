/**
 * The objects of a release as plain data, and what changes between two sets of them: what helm
 * recorded (its manifest), what helm would apply (the rendered upgrade) and what runs (live).
 * The adapters parse YAML and talk to the API; here it is lists in, `changes` out.
 */

/** A Kubernetes object as helm renders it or the API returns it (JSON-safe). */
export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
  };
  readonly spec?: unknown;
  /**
   * ConfigMaps only: each file of `data` read as YAML the way helm reads it (by the adapter, so
   * the domain needs no YAML reader); a file that is not YAML is left out.
   */
  readonly parsedData?: Readonly<Record<string, unknown>>;
  readonly [key: string]: unknown;
}

export interface ContainerImage {
  readonly container: string;
  readonly image: string;
}

export type ChangeKind = 'added' | 'removed' | 'changed';

export interface ObjectChange {
  readonly kind: string;
  readonly name: string;
  readonly change: ChangeKind;
  /** One line a person reads: the image before -> after, what else differs, or what goes. */
  readonly detail: string;
  /** Workloads: the image of each container before -> after (null: no such container). */
  readonly images?: readonly { readonly container: string; readonly before: string | null; readonly after: string | null }[];
}

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod']);

export const objectKey = (o: Pick<KubeObject, 'kind' | 'metadata'>) => `${o.kind}/${o.metadata.name}`;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The pod spec of a workload, wherever its kind keeps it. */
function podSpecOf(o: KubeObject): Record<string, unknown> | null {
  const spec = isRecord(o.spec) ? o.spec : null;
  if (!spec) return null;
  if (o.kind === 'Pod') return spec;
  if (o.kind === 'CronJob') {
    const job = isRecord(spec.jobTemplate) && isRecord(spec.jobTemplate.spec) ? spec.jobTemplate.spec : null;
    return job && isRecord(job.template) && isRecord(job.template.spec) ? job.template.spec : null;
  }
  return isRecord(spec.template) && isRecord(spec.template.spec) ? spec.template.spec : null;
}

export function imagesOf(o: KubeObject): ContainerImage[] {
  const pod = podSpecOf(o);
  if (!pod) return [];
  const out: ContainerImage[] = [];
  for (const field of ['initContainers', 'containers']) {
    const list = pod[field];
    if (!Array.isArray(list)) continue;
    for (const c of list) {
      if (isRecord(c) && typeof c.name === 'string' && typeof c.image === 'string') out.push({ container: c.name, image: c.image });
    }
  }
  return out;
}

export function isWorkload(o: Pick<KubeObject, 'kind'>): boolean {
  return WORKLOADS.has(o.kind);
}

/** Names of a StatefulSet's volumeClaimTemplates (each becomes a PVC per pod). */
export function claimTemplatesOf(o: KubeObject): string[] {
  const spec = isRecord(o.spec) ? o.spec : null;
  const list = spec && Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates : [];
  return list.flatMap((t) => (isRecord(t) && isRecord(t.metadata) && typeof t.metadata.name === 'string' ? [t.metadata.name] : []));
}

/**
 * The fields of a StatefulSet spec that Kubernetes refuses to change (only replicas, template,
 * updateStrategy, persistentVolumeClaimRetentionPolicy, minReadySeconds and ordinals may):
 * a change here makes helm's update fail, or a person delete and recreate it.
 */
export function statefulSetImmutable(o: KubeObject): Record<string, string> {
  const spec = isRecord(o.spec) ? o.spec : {};
  const templates = Array.isArray(spec.volumeClaimTemplates)
    ? spec.volumeClaimTemplates.map((t) => (isRecord(t) ? { name: isRecord(t.metadata) ? t.metadata.name : undefined, spec: t.spec } : t))
    : [];
  return {
    selector: canonical(spec.selector ?? null),
    serviceName: canonical(spec.serviceName ?? null),
    podManagementPolicy: canonical(spec.podManagementPolicy ?? 'OrderedReady'),
    volumeClaimTemplates: canonical(templates),
  };
}

/** JSON with sorted keys, so two renders of the same object compare equal. */
export function canonical(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isRecord(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortKeys(v[k])]),
  );
}

// Labels every chart version rewrites on every object: a change of them alone is no change.
const VERSION_LABELS = ['helm.sh/chart', 'chart', 'app.kubernetes.io/version'];

function withoutVersionLabels(labels: unknown): unknown {
  if (!isRecord(labels)) return labels;
  return Object.fromEntries(Object.entries(labels).filter(([k]) => !VERSION_LABELS.includes(k)));
}

/** The object without what changes with every chart version anyway. */
function normalised(o: KubeObject): KubeObject {
  const spec = isRecord(o.spec) ? o.spec : null;
  const template = spec && isRecord(spec.template) ? spec.template : null;
  const templateMeta = template && isRecord(template.metadata) ? template.metadata : null;
  return {
    ...o,
    metadata: { ...o.metadata, labels: withoutVersionLabels(o.metadata.labels ?? {}) as Record<string, string> },
    ...(spec && template
      ? { spec: { ...spec, template: { ...template, ...(templateMeta ? { metadata: { ...templateMeta, labels: withoutVersionLabels(templateMeta.labels) } } : {}) } } }
      : {}),
  };
}

/** Top-level fields (and spec's fields) that differ, for a one-line "what else changed". */
function differingFields(rawA: KubeObject, rawB: KubeObject): string[] {
  const a = normalised(rawA);
  const b = normalised(rawB);
  const out: string[] = [];
  // parsedData is the adapter's reading of `data`, not a field of the object.
  const keys = new Set([...Object.keys(a), ...Object.keys(b)].filter((k) => k !== 'metadata' && k !== 'status' && k !== 'parsedData'));
  for (const k of [...keys].sort()) {
    const av = (a as Record<string, unknown>)[k];
    const bv = (b as Record<string, unknown>)[k];
    if (canonical(av) === canonical(bv)) continue;
    if (k === 'spec' && isRecord(av) && isRecord(bv)) {
      for (const sk of [...new Set([...Object.keys(av), ...Object.keys(bv)])].sort()) {
        if (canonical(av[sk]) !== canonical(bv[sk])) out.push(`spec.${sk}`);
      }
    } else out.push(k);
  }
  if (canonical(a.metadata.labels ?? {}) !== canonical(b.metadata.labels ?? {})) out.push('labels');
  return out;
}

function imageChanges(before: KubeObject, after: KubeObject): NonNullable<ObjectChange['images']> {
  const b = new Map(imagesOf(before).map((c) => [c.container, c.image]));
  const a = new Map(imagesOf(after).map((c) => [c.container, c.image]));
  const names = [...new Set([...b.keys(), ...a.keys()])];
  return names
    .map((container) => ({ container, before: b.get(container) ?? null, after: a.get(container) ?? null }))
    .filter((c) => c.before !== c.after);
}

const imageText = (images: readonly ContainerImage[]) => images.map((c) => c.image).join(', ') || 'no image';

/**
 * One change per object added, removed or changed between `before` (what helm recorded) and
 * `after` (what the upgrade would apply). Workloads compare their images against `live` where
 * the cluster runs something else than helm recorded (a rolling upgrade, a hand edit).
 */
export function diffObjects(before: readonly KubeObject[], after: readonly KubeObject[], live: readonly KubeObject[] = []): ObjectChange[] {
  const liveByKey = new Map(live.map((o) => [objectKey(o), o]));
  const beforeByKey = new Map<string, KubeObject>();
  for (const o of before) beforeByKey.set(objectKey(o), liveByKey.get(objectKey(o)) ?? o);
  const afterByKey = new Map(after.map((o) => [objectKey(o), o]));
  const changes: ObjectChange[] = [];
  for (const [key, b] of beforeByKey) {
    const a = afterByKey.get(key);
    if (!a) {
      const claims = b.kind === 'StatefulSet' ? claimTemplatesOf(b) : [];
      changes.push({
        kind: b.kind,
        name: b.metadata.name,
        change: 'removed',
        detail: `deleted${isWorkload(b) ? ` (ran ${imageText(imagesOf(b))})` : ''}${claims.length ? `; its PVCs (${claims.join(', ')}) stay behind, unused` : ''}`,
        ...(isWorkload(b) ? { images: imagesOf(b).map((c) => ({ container: c.container, before: c.image, after: null })) } : {}),
      });
      continue;
    }
    const recorded = before.find((o) => objectKey(o) === key)!;
    const images = isWorkload(b) ? imageChanges(b, a) : [];
    // Fields other than images: compared against what helm recorded, so a live-only status or
    // defaulted field does not count as a change.
    const fields = differingFields(recorded, a).filter((f) => !(images.length > 0 && f === 'spec.template' && sameTemplateButImages(recorded, a)));
    if (images.length === 0 && fields.length === 0) continue;
    const parts = [
      ...images.map((c) => `${c.container}: ${c.before ?? '(none)'} -> ${c.after ?? '(none)'}`),
      ...(fields.length ? [`${fields.join(', ')} changed`] : []),
    ];
    changes.push({ kind: a.kind, name: a.metadata.name, change: 'changed', detail: parts.join('; '), ...(images.length ? { images } : {}) });
  }
  for (const [key, a] of afterByKey) {
    if (beforeByKey.has(key)) continue;
    changes.push({
      kind: a.kind,
      name: a.metadata.name,
      change: 'added',
      detail: isWorkload(a) ? `new, runs ${imageText(imagesOf(a))}` : 'new',
      ...(isWorkload(a) ? { images: imagesOf(a).map((c) => ({ container: c.container, before: null, after: c.image })) } : {}),
    });
  }
  return changes.sort((x, y) => CHANGE_ORDER[x.change] - CHANGE_ORDER[y.change] || x.kind.localeCompare(y.kind) || x.name.localeCompare(y.name));
}

const CHANGE_ORDER: Record<ChangeKind, number> = { removed: 0, changed: 1, added: 2 };

const ran = (images: ObjectChange['images'], side: 'before' | 'after') => (images ?? []).map((c) => c[side]).filter((i): i is string => i !== null).join(', ') || 'no image';

/**
 * What undoing `changes` does: what the upgrade added goes, what it deleted comes back, images
 * go back. For the card of a rollback, so it does not show the upgrade's own changes as if they
 * were the rollback's.
 */
export function invertChanges(changes: readonly ObjectChange[]): ObjectChange[] {
  const inverted = changes.map((c): ObjectChange => {
    const images = c.images?.map((i) => ({ container: i.container, before: i.after, after: i.before }));
    const withImages = images?.length ? { images } : {};
    if (c.change === 'added') return { kind: c.kind, name: c.name, change: 'removed', detail: `deleted${images ? ` (ran ${ran(images, 'before')})` : ''}`, ...withImages };
    if (c.change === 'removed') return { kind: c.kind, name: c.name, change: 'added', detail: `back${images ? `, runs ${ran(images, 'after')}` : ''}`, ...withImages };
    const others = c.detail.split('; ').filter((part) => !(images ?? []).some((i) => part.startsWith(`${i.container}: `)));
    const parts = [...(images ?? []).map((i) => `${i.container}: ${i.before ?? '(none)'} -> ${i.after ?? '(none)'}`), ...others.map((o) => `${o} back`)];
    return { kind: c.kind, name: c.name, change: 'changed', detail: parts.join('; '), ...withImages };
  });
  return inverted.sort((x, y) => CHANGE_ORDER[x.change] - CHANGE_ORDER[y.change] || x.kind.localeCompare(y.kind) || x.name.localeCompare(y.name));
}

/** True when two pod templates differ only in their containers' images. */
function sameTemplateButImages(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const spec = isRecord(o.spec) ? o.spec : {};
    const template = isRecord(spec.template) ? spec.template : {};
    const pod = isRecord(template.spec) ? template.spec : {};
    const noImage = (list: unknown) => (Array.isArray(list) ? list.map((c) => (isRecord(c) ? { ...c, image: undefined } : c)) : list);
    return canonical({ ...template, spec: { ...pod, containers: noImage(pod.containers), initContainers: noImage(pod.initContainers) } });
  };
  return strip(normalised(a)) === strip(normalised(b));
}

/** Counts per change kind, for a one-line summary. */
export function changeCounts(changes: readonly ObjectChange[]): Record<ChangeKind, number> {
  const counts: Record<ChangeKind, number> = { added: 0, removed: 0, changed: 0 };
  for (const c of changes) counts[c.change] += 1;
  return counts;
}
