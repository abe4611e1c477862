/** One background process for the test cluster: the fake kubelet and the chart repository server. */
import { parseArgs } from 'node:util';
import { serveChartRepo } from './chart-repo.js';
import { startFakeKubelet } from './fake-kubelet.js';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    charts: { type: 'string' },
    port: { type: 'string' },
    'delay-ms': { type: 'string', default: '200' },
  },
});
if (!values.kubeconfig || !values.charts || !values.port) {
  process.stderr.write('usage: harness-daemon --kubeconfig K --charts DIR --port P [--delay-ms N]\n');
  process.exit(2);
}
const log = (msg: string) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), msg })}\n`);
const repo = await serveChartRepo(values.charts, Number(values.port));
log(`chart repository at ${repo.url}`);
const kubelet = await startFakeKubelet({ kubeconfigPath: values.kubeconfig, startDelayMs: Number(values['delay-ms']), log });
log('fake kubelet started');
const stop = async () => {
  await kubelet.stop();
  await repo.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
