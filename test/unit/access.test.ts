import { describe, expect, it } from 'vitest';
import { AccessConfigError, approversOf, decide, groupsNamed, parseAccessConfig } from '../../src/bot/access.js';

const rules = parseAccessConfig(`
rules:
  - clusters: ["prod"]
    namespaces: ["milvus"]
    releases: ["*"]
    requesters: ["U0REQ1", "S0OPS"]
    approvers: ["U0APP1"]
    channels: ["C0OPS"]
  - namespaces: ["staging"]
    requesters: ["U0DEV1"]
    approvers: ["U0DEV2"]
    rollback: ["U0ONCALL"]
`);

const who = (user: string, channel = 'C0OPS', groups: string[] = []) => ({ user, channel, groups });
const prod = { cluster: 'prod', namespace: 'milvus', release: 'my-release' };

describe('access rules', () => {
  it('the issue example parses, with defaults for the optional fields', () => {
    const r = parseAccessConfig(`rules:\n  - clusters: ["*"]\n    namespaces: ["*"]\n    releases: ["*"]\n    requesters: ["U0REQ1", "S0OPS"]\n    approvers: ["U0APP1"]\n    rollback: ["U0REQ1", "U0APP1"]\n    channels: ["C0OPS"]\n`);
    expect(r).toHaveLength(1);
    expect(r[0]!.rollback).toEqual(['U0REQ1', 'U0APP1']);
  });

  it('allows requesters by user ID and by user-group membership, in the allowed channel only', () => {
    expect(decide(rules, who('U0REQ1'), 'request', prod).allowed).toBe(true);
    expect(decide(rules, who('U0SOMEONE', 'C0OPS', ['S0OPS']), 'request', prod).allowed).toBe(true);
    const elsewhere = decide(rules, who('U0REQ1', 'C0RANDOM'), 'request', prod);
    expect(elsewhere).toEqual({ allowed: false, reason: 'prod/milvus/my-release may not be handled from this channel' });
  });

  it('denies by default: unknown people, other clusters, other namespaces', () => {
    expect(decide(rules, who('U0NOBODY'), 'request', prod)).toEqual({ allowed: false, reason: 'you may not request prod/milvus/my-release' });
    expect(decide(rules, who('U0REQ1'), 'request', { ...prod, cluster: 'dev' }).reason).toBe('no access rule covers dev/milvus/my-release');
    expect(decide(rules, who('U0REQ1'), 'request', { ...prod, namespace: 'other' }).allowed).toBe(false);
  });

  it('keeps the roles apart: a requester is not an approver', () => {
    expect(decide(rules, who('U0REQ1'), 'approve', prod).allowed).toBe(false);
    expect(decide(rules, who('U0APP1'), 'approve', prod).allowed).toBe(true);
    expect(decide(rules, who('U0APP1'), 'request', prod).allowed).toBe(false);
  });

  it('rollback defaults to requesters and approvers; an explicit list replaces them', () => {
    expect(decide(rules, who('U0REQ1'), 'rollback', prod).allowed).toBe(true);
    expect(decide(rules, who('U0APP1'), 'rollback', prod).allowed).toBe(true);
    const staging = { cluster: 'any', namespace: 'staging', release: 'x' };
    expect(decide(rules, who('U0ONCALL', 'C0ANY'), 'rollback', staging).allowed).toBe(true);
    expect(decide(rules, who('U0DEV1', 'C0ANY'), 'rollback', staging).allowed).toBe(false);
  });

  it('reading is for anyone named in a matching rule; cluster-wide reads need no namespace', () => {
    expect(decide(rules, who('U0APP1'), 'read', prod).allowed).toBe(true);
    expect(decide(rules, who('U0NOBODY'), 'read', prod).allowed).toBe(false);
    expect(decide(rules, who('U0DEV1', 'C0X'), 'read', { cluster: 'x' }).allowed).toBe(true);
  });

  it('names the approvers and the groups to resolve', () => {
    expect(approversOf(rules, prod)).toEqual(['U0APP1']);
    expect(groupsNamed(rules)).toEqual(['S0OPS']);
  });

  it('refuses a malformed file with the path of the problem', () => {
    expect(() => parseAccessConfig('rules:\n  - requesters: "U0ONE"\n')).toThrow(AccessConfigError);
    expect(() => parseAccessConfig('rules:\n  - requesters: "U0ONE"\n')).toThrow(/rules\.0\.requesters/);
    expect(() => parseAccessConfig('rules:\n  - approvers: ["U1"]\n    typo: true\n')).toThrow(/typo/);
    expect(() => parseAccessConfig(': : :')).toThrow(/not valid YAML/);
  });
});
