/**
 * Who may request, approve and roll back upgrades of which releases, from which channels.
 * Deny by default: a person not named in a rule that matches the release may do nothing.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const names = z.array(z.string().min(1)).min(1);
const ruleSchema = z
  .object({
    clusters: names.optional(),
    namespaces: names.optional(),
    releases: names.optional(),
    requesters: z.array(z.string().min(1)).default([]),
    approvers: z.array(z.string().min(1)).default([]),
    rollback: z.array(z.string().min(1)).optional(),
    /** Read-only commands (status, versions, plan, history); absent: anyone named in the rule. */
    readers: z.array(z.string().min(1)).optional(),
    channels: names.optional(),
  })
  .strict();
// windows, freezes and fleets are the same policy file's (upgrade/schedule/policy.ts and
// upgrade/fleet/fleet-policy.ts check them).
const fileSchema = z.object({ rules: z.array(ruleSchema), windows: z.unknown().optional(), freezes: z.unknown().optional(), fleets: z.unknown().optional() }).strict();

export type AccessRule = z.infer<typeof ruleSchema>;
export type Action = 'read' | 'request' | 'approve' | 'rollback' | 'cancel';

export interface AccessSubject {
  readonly user: string;
  /** User-group IDs (S...) the user belongs to. */
  readonly groups: readonly string[];
  readonly channel: string;
}

export interface AccessTarget {
  readonly cluster: string;
  /** Absent: any namespace (for commands about the cluster, like versions). */
  readonly namespace?: string;
  readonly release?: string;
}

export interface Decision {
  readonly allowed: boolean;
  /** A sentence for the person (on denial) and the audit trail. */
  readonly reason: string;
}

export class AccessConfigError extends Error {}

export function parseAccessConfig(text: string, source = 'access config'): AccessRule[] {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new AccessConfigError(`${source} is not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new AccessConfigError(`${source}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data.rules;
}

const matches = (list: readonly string[] | undefined, value: string | undefined) =>
  list === undefined || list.includes('*') || (value !== undefined && list.includes(value));

function holders(rule: AccessRule, action: Action): readonly string[] {
  switch (action) {
    case 'request':
      return rule.requesters;
    case 'approve':
      return rule.approvers;
    case 'rollback':
      return rule.rollback ?? [...rule.requesters, ...rule.approvers];
    case 'cancel':
      return [...rule.requesters, ...rule.approvers, ...(rule.rollback ?? [])];
    case 'read':
      return rule.readers ?? [...rule.requesters, ...rule.approvers, ...(rule.rollback ?? [])];
  }
}

/** Every group ID the rules name: the bot resolves only these from Slack. */
export function groupsNamed(rules: readonly AccessRule[]): string[] {
  const all = rules.flatMap((r) => [...r.requesters, ...r.approvers, ...(r.rollback ?? []), ...(r.readers ?? [])]);
  return [...new Set(all.filter((id) => /^S[A-Z0-9]+$/.test(id)))];
}

export function decide(rules: readonly AccessRule[], who: AccessSubject, action: Action, target: AccessTarget): Decision {
  const where = [target.cluster, target.namespace, target.release].filter(Boolean).join('/');
  const forTarget = rules.filter(
    (r) =>
      matches(r.clusters, target.cluster) &&
      (target.namespace === undefined || matches(r.namespaces, target.namespace)) &&
      (target.release === undefined || matches(r.releases, target.release)),
  );
  if (forTarget.length === 0) return { allowed: false, reason: `no access rule covers ${where}` };
  const inChannel = forTarget.filter((r) => matches(r.channels, who.channel));
  if (inChannel.length === 0) return { allowed: false, reason: `${where} may not be handled from this channel` };
  const ids = new Set([who.user, ...who.groups]);
  const granted = inChannel.some((r) => holders(r, action).some((h) => h === '*' || ids.has(h)));
  return granted
    ? { allowed: true, reason: `${action} allowed on ${where}` }
    : { allowed: false, reason: `you may not ${action === 'read' ? 'look at' : action} ${where}` };
}

/** Who may approve requests for a target, as Slack mentions (users and user groups). */
export function approversOf(rules: readonly AccessRule[], target: AccessTarget): string[] {
  const ids = rules
    .filter((r) => matches(r.clusters, target.cluster) && (target.namespace === undefined || matches(r.namespaces, target.namespace)) && (target.release === undefined || matches(r.releases, target.release)))
    .flatMap((r) => r.approvers);
  return [...new Set(ids)];
}
