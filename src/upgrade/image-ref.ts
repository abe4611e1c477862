/** Image references as Kubernetes writes them: `[registry[:port]/]repository[:tag][@digest]`. */
export interface ImageRef {
  /** Everything before the tag: registry (if any) and path, e.g. `milvusdb/milvus`, `reg:5000/x/milvus`. */
  readonly repository: string;
  readonly tag: string | null;
  readonly digest: string | null;
}

export function parseImageRef(image: string): ImageRef {
  const at = image.indexOf('@');
  const digest = at >= 0 ? image.slice(at + 1) : null;
  const ref = at >= 0 ? image.slice(0, at) : image;
  // A colon after the last slash is the tag's; one before it belongs to a registry's port.
  const colon = ref.lastIndexOf(':');
  const hasTag = colon > ref.lastIndexOf('/');
  return { repository: hasTag ? ref.slice(0, colon) : ref, tag: hasTag ? ref.slice(colon + 1) : null, digest };
}
