/**
 * Runs the fake kubelet standalone:
 *   tsx test/harness/fake-kubelet-main.ts --kubeconfig K [--delay-ms N] [--node-name NAME]
 * Writes one JSON line per event to stdout; exits cleanly (code 0) on SIGTERM / SIGINT.
 */
import { parseArgs } from 'node:util';
import { startFakeKubelet } from './fake-kubelet.js';

function emit(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: 'string' },
      'delay-ms': { type: 'string' },
      'node-name': { type: 'string' },
    },
    strict: true,
  });
  const kubeconfigPath = values.kubeconfig ?? process.env.KUBECONFIG;
  if (!kubeconfigPath) {
    process.stderr.write('usage: fake-kubelet-main.ts --kubeconfig K [--delay-ms N] [--node-name NAME]\n');
    process.exit(2);
  }
  let startDelayMs: number | undefined;
  if (values['delay-ms'] !== undefined) {
    startDelayMs = Number(values['delay-ms']);
    if (!Number.isFinite(startDelayMs) || startDelayMs < 0) {
      process.stderr.write(`invalid --delay-ms: ${values['delay-ms']}\n`);
      process.exit(2);
    }
  }

  const kubelet = await startFakeKubelet({
    kubeconfigPath,
    nodeName: values['node-name'],
    startDelayMs,
    log: (msg) => emit('log', { msg }),
  });
  emit('started', { node: kubelet.nodeName, pid: process.pid });

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    emit('stopping', { signal });
    void kubelet.stop().then(
      () => {
        emit('exited');
        process.exit(0);
      },
      (err: unknown) => {
        emit('error', { msg: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  emit('error', { msg: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
