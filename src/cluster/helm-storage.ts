/**
 * helm's own record of a release, read with the Kubernetes client instead of a helm process:
 * each revision is a Secret `sh.helm.release.v1.<name>.v<revision>` (labels owner=helm,
 * name=<release>) whose `release` field is base64 of gzipped JSON (helm's storage/driver). The
 * reads `status`, a plan and a rollback need (release, history, values, manifest) come from
 * here; helm still runs for whatever changes the cluster and for rendering.
 */
import { gunzipSync } from 'node:zlib';
import type { CoreV1Api } from '@kubernetes/client-node';
import { UpgradeError } from '../upgrade/errors.js';
import type { HelmReleaseInfo, HelmRevisionInfo } from '../upgrade/state.js';
import { api } from './kube-api.js';

/** The fields of helm's release record (pkg/release) this bot reads. */
export interface StoredRelease {
  readonly name: string;
  readonly namespace: string;
  readonly version: number;
  readonly info: { readonly status?: string; readonly description?: string };
  readonly chart: {
    readonly metadata: { readonly name?: string; readonly version?: string; readonly appVersion?: string };
    /** The chart's default values (its values.yaml). */
    readonly values?: Record<string, unknown> | null;
  };
  /** The values the person gave (`helm get values`). */
  readonly config?: Record<string, unknown> | null;
  readonly manifest?: string;
}

const GZIP_MAGIC = [0x1f, 0x8b];

/** The `release` field of a helm Secret as the API returns it (base64 of helm's base64) -> the record. */
/** Labels helm keeps for itself on a release's Secret; the rest are the release's own (`--labels`). */
const HELM_LABELS = new Set(['name', 'owner', 'status', 'version', 'createdAt', 'modifiedAt']);

export function ownLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([k]) => !HELM_LABELS.has(k)));
}

export function decodeRelease(field: string): StoredRelease {
  const helmText = Buffer.from(field, 'base64').toString('utf8');
  let raw = Buffer.from(helmText, 'base64');
  if (raw[0] === GZIP_MAGIC[0] && raw[1] === GZIP_MAGIC[1]) raw = gunzipSync(raw);
  const parsed = JSON.parse(raw.toString('utf8')) as StoredRelease;
  if (typeof parsed?.version !== 'number' || typeof parsed.name !== 'string') {
    throw new UpgradeError('step-failed', 'a helm release Secret does not hold a helm release record');
  }
  return parsed;
}

/**
 * helm's CoalesceValues for one chart: the person's values over the chart's defaults, maps merged
 * key by key, and a null given by the person removes that key (as `helm get values --all` shows).
 */
export function coalesceValues(defaults: Record<string, unknown>, given: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...defaults };
  for (const [k, v] of Object.entries(given)) {
    if (v === null) {
      delete out[k];
      continue;
    }
    const base = out[k];
    out[k] = isMap(base) && isMap(v) ? coalesceValues(base, v) : v;
  }
  return out;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `image.all.tag` of the revision's values: the person's, else the chart's default. */
export function imageTagOf(r: StoredRelease): string | null {
  const tagIn = (values: unknown): unknown => {
    const image = isMap(values) ? values.image : undefined;
    const all = isMap(image) ? image.all : undefined;
    return isMap(all) ? all.tag : undefined;
  };
  const tag = tagIn(r.config) ?? tagIn(r.chart.values);
  return typeof tag === 'string' && tag !== '' ? tag : null;
}

export function chartOf(r: StoredRelease): string {
  return `${r.chart.metadata.name ?? ''}-${r.chart.metadata.version ?? ''}`;
}

function infoOf(r: StoredRelease): HelmReleaseInfo {
  return {
    name: r.name,
    namespace: r.namespace,
    revision: r.version,
    status: r.info.status ?? '',
    chart: chartOf(r),
    chartVersion: r.chart.metadata.version ?? '',
    appVersion: r.chart.metadata.appVersion ?? '',
  };
}

export class HelmSecretStorage {
  constructor(private readonly core: CoreV1Api) {}

  /** Every stored revision of the release, oldest first; empty when there is none. */
  async revisions(namespace: string, release: string): Promise<StoredRelease[]> {
    const list = await api(`reading helm's record of ${release} (its Secrets)`, () => this.core.listNamespacedSecret({ namespace, labelSelector: `owner=helm,name=${release}` }));
    return list.items
      .filter((s) => s.type === 'helm.sh/release.v1' && typeof s.data?.release === 'string')
      .map((s) => decodeRelease(s.data!.release!))
      .filter((r) => r.name === release)
      .sort((a, b) => a.version - b.version);
  }

  /**
   * The current revision of every release helm keeps in a namespace (every namespace when none is
   * given). Only the newest Secret of each release is decoded: the others are superseded history.
   */
  async releases(namespace?: string): Promise<HelmReleaseInfo[]> {
    const what = `listing helm's releases (their Secrets) in ${namespace ?? 'every namespace'}`;
    const labelSelector = 'owner=helm';
    const list = await api(what, () => (namespace ? this.core.listNamespacedSecret({ namespace, labelSelector }) : this.core.listSecretForAllNamespaces({ labelSelector })));
    const newest = new Map<string, { version: number; field: string; labels: Record<string, string> }>();
    for (const s of list.items) {
      const name = s.metadata?.labels?.name;
      const version = Number(s.metadata?.labels?.version);
      const field = s.data?.release;
      if (s.type !== 'helm.sh/release.v1' || !name || !Number.isInteger(version) || typeof field !== 'string') continue;
      const key = `${s.metadata?.namespace ?? ''}/${name}`;
      if ((newest.get(key)?.version ?? -1) < version) newest.set(key, { version, field, labels: ownLabels(s.metadata?.labels ?? {}) });
    }
    return [...newest.values()].map(({ field, labels }) => ({ ...infoOf(decodeRelease(field)), labels }));
  }

  async latest(namespace: string, release: string): Promise<StoredRelease | null> {
    return (await this.revisions(namespace, release)).at(-1) ?? null;
  }

  async release(namespace: string, release: string): Promise<HelmReleaseInfo | null> {
    const r = await this.latest(namespace, release);
    return r ? { ...infoOf(r), name: release, namespace } : null;
  }

  async history(namespace: string, release: string): Promise<HelmRevisionInfo[]> {
    return (await this.revisions(namespace, release)).map((r) => ({
      revision: r.version,
      status: r.info.status ?? '',
      chart: chartOf(r),
      appVersion: r.chart.metadata.appVersion ?? '',
      description: r.info.description ?? '',
      imageTag: imageTagOf(r),
    }));
  }

  /** The record of one revision (default: the current one); an error names what is missing. */
  async record(namespace: string, release: string, revision?: number): Promise<StoredRelease> {
    const all = await this.revisions(namespace, release);
    const r = revision === undefined ? all.at(-1) : all.find((x) => x.version === revision);
    if (!r) throw new UpgradeError('step-failed', `helm has no record of ${release}${revision === undefined ? '' : ` revision ${revision}`} in ${namespace}`);
    return r;
  }

  async values(namespace: string, release: string, options: { readonly all?: boolean; readonly revision?: number } = {}): Promise<Record<string, unknown>> {
    const r = await this.record(namespace, release, options.revision);
    const given = isMap(r.config) ? r.config : {};
    return options.all ? coalesceValues(isMap(r.chart.values) ? r.chart.values : {}, given) : given;
  }

  async manifest(namespace: string, release: string): Promise<string> {
    return (await this.record(namespace, release)).manifest ?? '';
  }
}
