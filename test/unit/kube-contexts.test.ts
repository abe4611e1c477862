/**
 * Issue 25, item 10: `-c <unknown>` in Slack answered with every context of the bot's kubeconfig.
 * The terminal (whose user owns the kubeconfig) still lists them.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadKubeConfig } from '../../src/cluster/kube-api.js';
import { UpgradeError } from '../../src/upgrade/errors.js';

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- {name: a, cluster: {server: 'https://127.0.0.1:1'}}
users:
- {name: u, user: {token: t}}
contexts:
- {name: prod-eu, context: {cluster: a, user: u}}
- {name: secret-lab, context: {cluster: a, user: u}}
current-context: prod-eu
`;

function refusal(listContexts?: boolean): UpgradeError {
  const file = join(mkdtempSync(join(tmpdir(), 'kc-')), 'config');
  writeFileSync(file, KUBECONFIG);
  try {
    loadKubeConfig({ kubeconfig: file, context: 'nope', listContexts });
  } catch (err) {
    return err as UpgradeError;
  }
  throw new Error('expected a refusal');
}

describe('an unknown cluster name', () => {
  it('for Slack: refused without naming the contexts the bot knows', () => {
    const err = refusal();
    expect(err.message).toBe('no context "nope" in the kubeconfig');
    expect([err.message, ...err.details].join(' ')).not.toMatch(/prod-eu|secret-lab/);
  });

  it('for the terminal: the known contexts are listed', () => {
    expect(refusal(true).details).toEqual(['known contexts: prod-eu, secret-lab']);
  });
});
