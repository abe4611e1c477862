/**
 * Which releases a fleet request names (issue 28): `<namespace glob>/<release glob>`, e.g.
 * `team-*\/milvus-*`, optionally with `key=value` conditions on the releases' labels. A glob has
 * `*` (any run of characters) and `?` (one character) over the characters of a Kubernetes name;
 * anything else is refused at once, with the right form. Pure.
 */
import { InputError, showInput } from '../errors.js';

export interface FleetSelector {
  readonly text: string;
  readonly namespace: string;
  readonly release: string;
  /** Every one must hold on the release's labels. */
  readonly labels: Readonly<Record<string, string>>;
}

const GLOB = /^[a-z0-9*?]([-a-z0-9*?]{0,62})$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const FORM = 'write a selector like team-*/milvus-* (namespace glob / release glob; * and ? only), labels as -l key=value';

export function parseSelector(text: string, labels: readonly string[] = []): FleetSelector {
  const [namespace, release, ...rest] = text.trim().split('/');
  if (namespace === undefined || release === undefined || rest.length > 0 || !GLOB.test(namespace) || !GLOB.test(release)) {
    throw new InputError(`"${showInput(text, 60)}" is not a fleet selector`, [FORM]);
  }
  const pairs: Record<string, string> = {};
  // `-l a=b,c=d` as kubectl writes it: a label value never holds a comma.
  for (const l of labels.flatMap((x) => x.split(','))) {
    const at = l.indexOf('=');
    const key = l.slice(0, at);
    const value = l.slice(at + 1);
    if (at <= 0 || !LABEL_KEY.test(key) || !LABEL_VALUE.test(value)) throw new InputError(`"${showInput(l, 60)}" is not a label condition`, [FORM]);
    pairs[key] = value;
  }
  const conditions = Object.entries(pairs).map(([k, v]) => `${k}=${v}`);
  return { text: `${text.trim()}${conditions.length > 0 ? ` -l ${conditions.join(',')}` : ''}`, namespace, release, labels: pairs };
}

/** A glob as a regular expression over the whole name. */
function globRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\-]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

export function selects(s: FleetSelector, r: { readonly namespace: string; readonly release: string; readonly labels?: Readonly<Record<string, string>> }): boolean {
  return globRegExp(s.namespace).test(r.namespace) && globRegExp(s.release).test(r.release) && Object.entries(s.labels).every(([k, v]) => r.labels?.[k] === v);
}
