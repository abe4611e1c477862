/** `npm run cluster -- up | down | status`: the test control plane for people, tests and CI. */
import { down, status, up } from './control-plane.js';

const cmd = process.argv[2];
try {
  if (cmd === 'up') {
    const info = await up();
    process.stderr.write(`cluster: up. API ${info.apiserverUrl}, charts ${info.chartRepoUrl}\n`);
    process.stdout.write(`${info.kubeconfig}\n`);
  } else if (cmd === 'down') {
    await down();
    process.stderr.write('cluster: down\n');
  } else if (cmd === 'status') {
    const s = await status();
    if (s.running && s.info) {
      process.stdout.write(`running: API ${s.info.apiserverUrl}, charts ${s.info.chartRepoUrl}, kubeconfig ${s.info.kubeconfig}\n`);
    } else {
      process.stdout.write(s.info ? `not running (down: ${s.down.join(', ')})\n` : 'not running\n');
      process.exitCode = 1;
    }
  } else {
    process.stderr.write('usage: npm run cluster -- up | down | status\n');
    process.exitCode = 2;
  }
} catch (err) {
  process.stderr.write(`cluster: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
