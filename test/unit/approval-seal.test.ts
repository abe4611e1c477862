import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hmacSealer, readSealKey, sealerFor } from '../../src/approval-seal.js';
import { newRequest, type UpgradeRequest } from '../../src/upgrade/requests.js';
import { approvalContent, runContent, sealProblem } from '../../src/upgrade/seal.js';
import { fakePlan } from '../integration/plans.js';

const KEY = Buffer.from('unit-test-approval-seal-key-0123456789');
const sealer = hmacSealer(KEY);
const alice = { id: 'U0ALICE', via: 'slack' as const };
const bob = { id: 'U0BOB', via: 'slack' as const };

function approved(): UpgradeRequest {
  const r = newRequest('req-7', { kind: 'upgrade', plan: fakePlan('prod'), requester: alice, approvalsNeeded: 1, allowSelfApproval: false, ttlMs: 60_000 }, 1_000);
  const voted = { ...r, approvals: [{ by: bob, at: 2_000 }] };
  return { ...voted, phase: 'queued', approvalSeal: sealer.seal(approvalContent(voted)) };
}

function started(r: UpgradeRequest, completedSteps: number): UpgradeRequest {
  const s = { ...r, phase: 'running' as const, startedAt: 3_000, completedSteps };
  return { ...s, runSeal: sealer.seal(runContent(s)!) };
}

describe('the approval seal', () => {
  it('vouches for the request as approved, whatever the order of keys or of votes', () => {
    const r = approved();
    expect(sealProblem(r, sealer, false)).toBeNull();
    // The same record read back from Redis (keys in another order) still matches.
    const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(r).reverse()))) as UpgradeRequest;
    expect(sealProblem(reordered, sealer, false)).toBeNull();
    const carol = { id: 'U0CAROL', via: 'slack' as const };
    const two = { ...r, approvals: [{ by: bob, at: 2 }, { by: carol, at: 3 }] };
    const sealedTwo = { ...two, approvalSeal: sealer.seal(approvalContent(two)) };
    expect(sealProblem({ ...sealedTwo, approvals: [...sealedTwo.approvals].reverse() }, sealer, false)).toBeNull();
  });

  it('breaks when anything that decides what runs, where or on whose word changes', () => {
    const r = approved();
    const changes: Array<[string, UpgradeRequest]> = [
      ['a step', { ...r, plan: { ...r.plan, steps: [...r.plan.steps, { kind: 'helm-repo-update', repoName: 'x', repoUrl: 'https://x', description: 'x' }] } }],
      ['the target version', { ...r, plan: { ...r.plan, to: '9.9.9' } }],
      ['the namespace', { ...r, namespace: 'other' }],
      ['the cluster', { ...r, cluster: 'other' }],
      ['the release', { ...r, release: 'other' }],
      ['the requester', { ...r, requester: bob }],
      ['an approver', { ...r, approvals: [{ by: alice, at: 2_000 }] }],
      ['the id', { ...r, id: 'req-8' }],
      ['the kind', { ...r, kind: 'rollback' }],
      ['what it rolls back', { ...r, rollbackOf: 'req-1' }],
    ];
    for (const [what, changed] of changes) expect(sealProblem(changed, sealer, false), what).toMatch(/does not match the request/);
    expect(sealProblem({ ...r, approvalSeal: null }, sealer, false)).toMatch(/carries no approval seal/);
    expect(sealProblem({ ...r, approvalSeal: 'hmac-sha256:AAAA' }, sealer, false)).toMatch(/does not match/);
    expect(sealProblem(r, hmacSealer(Buffer.from('another key, also of 32 bytes or more')), false)).toMatch(/does not match/);
  });

  it('a resume is believed only as far as the worker sealed it', () => {
    const r = started(approved(), 2);
    expect(sealProblem(r, sealer, true)).toBeNull();
    expect(sealProblem({ ...r, completedSteps: 3 }, sealer, true)).toMatch(/claims a run already started \(3 step\(s\) done\), but no worker of this deployment recorded that/);
    expect(sealProblem({ ...r, startedAt: 4_000 }, sealer, true)).toMatch(/claims a run already started/);
    expect(sealProblem({ ...r, runSeal: undefined }, sealer, true)).toMatch(/claims a run already started/);
    // A run seal of another request does not carry over.
    const other = started({ ...approved(), id: 'req-9', approvalSeal: 'hmac-sha256:x' }, 2);
    expect(sealProblem({ ...r, runSeal: other.runSeal }, sealer, true)).toMatch(/claims a run already started/);
    // Not a resume: the run seal is not asked for.
    expect(sealProblem({ ...approved(), completedSteps: 0 }, sealer, false)).toBeNull();
  });

  it('the key: from a file (trailing newline not part of it) before the value, 32 bytes or more, else one of this process', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seal-'));
    writeFileSync(join(dir, 'key'), 'file-key-of-thirty-two-bytes-or-more\n');
    expect(readSealKey({ keyFile: join(dir, 'key'), key: 'value-key-of-thirty-two-bytes-or-more' })!.toString()).toBe('file-key-of-thirty-two-bytes-or-more');
    expect(readSealKey({ key: 'value-key-of-thirty-two-bytes-or-more' })!.toString()).toBe('value-key-of-thirty-two-bytes-or-more');
    expect(() => readSealKey({ keyFile: join(dir, 'absent') })).toThrow(/cannot read the approval seal key file/);
    expect(() => hmacSealer(Buffer.from('short'))).toThrow(/5 bytes: it needs 32 or more/);
    const a = sealerFor({});
    const b = sealerFor({});
    expect(a.ephemeral).toBe(true);
    const content = approvalContent(approved());
    expect(b.sealer.verify(content, a.sealer.seal(content))).toBe(false);
    expect(a.sealer.verify(content, a.sealer.seal(content))).toBe(true);
  });
});
