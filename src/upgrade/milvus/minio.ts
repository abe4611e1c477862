/**
 * MinIO's old FS format (SPEC §9). A single-drive MinIO (the chart's `minio.mode=standalone`: one
 * Deployment, one PVC) older than RELEASE.2022-10-29 could write the FS backend, and the charts up
 * to 4.0.12 ship RELEASE.2022-03-17T06-34-49Z; MinIO removed FS mode that day, and chart 4.0.13
 * moved to RELEASE.2023-03-20T20-16-18Z: on old data it exits with "found backend type fs", so
 * the release loses its object storage. Distributed MinIO (a StatefulSet) erasure-codes its data,
 * which every later image reads: only the Deployment is at risk.
 *
 * The bot cannot see the drive, so an old image on one drive is taken to hold FS data: keeping
 * that image is safe either way, starting the new one is not.
 */
import { imagesOf, type KubeObject } from '../objects.js';
import { parseImageRef } from './image-ref.js';

/** The first MinIO release without FS mode (minio/minio RELEASE.2022-10-29T06-21-33Z). */
export const MINIO_FS_REMOVED = '2022-10-29T06-21-33Z';

/** The date of a MinIO release tag (`RELEASE.2023-03-20T20-16-18Z` -> `2023-03-20T20-16-18Z`); null when the tag is no such release. */
export function minioReleaseOf(tag: string | null): string | null {
  const m = /^RELEASE\.(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z)(?:\..*)?$/.exec(tag ?? '');
  return m ? m[1]! : null;
}

/** Whether a MinIO image of this tag still reads (and, on a fresh drive, may write) the FS format. */
export function readsFsFormat(tag: string | null): boolean {
  const release = minioReleaseOf(tag);
  return release !== null && release < MINIO_FS_REMOVED;
}

export interface SingleDriveMinio {
  /** The Deployment's name (`<release>-minio`). */
  readonly name: string;
  readonly image: string;
  readonly tag: string | null;
}

/** The MinIO containers of `objects` that run on one drive: Deployments whose image is MinIO's server. */
export function singleDriveMinios(objects: readonly KubeObject[]): SingleDriveMinio[] {
  const out: SingleDriveMinio[] = [];
  for (const o of objects) {
    if (o.kind !== 'Deployment') continue;
    for (const { image } of imagesOf(o)) {
      const ref = parseImageRef(image);
      // minio/minio is the server; minio/mc (the bucket job) is not.
      if (ref && ref.repository.split('/').pop() === 'minio') out.push({ name: o.metadata.name, image, tag: ref.tag ?? null });
    }
  }
  return out;
}

export interface MinioFormatLoss {
  readonly name: string;
  readonly before: SingleDriveMinio;
  readonly after: SingleDriveMinio;
}

/**
 * The single-drive MinIOs that run an image that reads the FS format now (`live`) and would run
 * one that cannot after the upgrade (`after`, helm's rendering).
 */
export function minioFormatLosses(live: readonly KubeObject[], after: readonly KubeObject[]): MinioFormatLoss[] {
  const next = new Map(singleDriveMinios(after).map((m) => [m.name, m]));
  const out: MinioFormatLoss[] = [];
  for (const before of singleDriveMinios(live)) {
    const a = next.get(before.name);
    if (a && readsFsFormat(before.tag) && !readsFsFormat(a.tag)) out.push({ name: before.name, before, after: a });
  }
  return out;
}
