/**
 * The demo on the embedded default: the local control plane and chart repository, a Milvus
 * release at 2.3.11, then the headline story through the real CLI: plan, upgrade to 2.4.23
 * (a version no chart carries), status, rollback. Leaves no process behind when it ends.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { down, helm, kubectl, REPO_ROOT, status, up } from '../test/harness/control-plane.js';

const NS = 'demo';
const RELEASE = 'my-release';

async function main(): Promise<number> {
  const wasRunning = (await status()).running;
  const info = await up();
  const cli = (args: string[]) =>
    new Promise<number>((resolve) => {
      process.stdout.write(`\n$ milvus-upgrade ${args.join(' ')}\n`);
      const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'milvus-upgrade.js'), '--kubeconfig', info.kubeconfig, '--repo-url', info.chartRepoUrl, ...args], {
        stdio: 'inherit',
        env: { ...process.env, ...info.helmEnv },
      });
      child.on('close', (code) => resolve(code ?? 1));
    });
  try {
    await kubectl(info, ['delete', 'namespace', NS, '--ignore-not-found', '--wait=true']);
    await kubectl(info, ['create', 'namespace', NS]);
    await helm(info, ['repo', 'add', 'zilliztech', info.chartRepoUrl, '--force-update']);
    process.stdout.write(`Installing ${RELEASE} (chart 4.1.24, Milvus 2.3.11) in namespace ${NS}...\n`);
    await helm(info, ['install', RELEASE, 'zilliztech/milvus', '-n', NS, '--version', '4.1.24', '--wait', '--timeout', '120s']);
    for (const args of [
      ['versions'],
      ['status', RELEASE, '-n', NS],
      ['plan', RELEASE, '2.4.23', '-n', NS],
      ['upgrade', RELEASE, '2.4.23', '-n', NS, '--yes'],
      ['status', RELEASE, '-n', NS],
      ['rollback', RELEASE, '-n', NS, '--yes'],
      ['status', RELEASE, '-n', NS],
    ]) {
      const code = await cli(args);
      if (code !== 0) {
        process.stderr.write(`demo: "${args.join(' ')}" exited ${code}\n`);
        return 1;
      }
    }
    process.stdout.write('\nDemo finished: upgraded to 2.4.23 and rolled back to 2.3.11.\n');
    return 0;
  } finally {
    if (!wasRunning) await down();
  }
}

process.exitCode = await main();
