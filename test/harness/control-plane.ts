/**
 * A real Kubernetes control plane for tests, the demo and people (../shared/KUBE-HARNESS.md):
 * etcd + kube-apiserver + kube-controller-manager built from Debian's source (cached), a fake
 * kubelet and a local chart repository of Milvus-shaped charts. State lives in <repo>/.cluster.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const STATE_DIR = process.env.MUB_CLUSTER_DIR ?? join(REPO_ROOT, '.cluster');
export const TOOLS_BIN = join(REPO_ROOT, '.tools', 'bin');
export const HELM_BIN = join(TOOLS_BIN, 'helm');
export const KUBECTL_BIN = join(TOOLS_BIN, 'kubectl');

export interface ClusterInfo {
  readonly kubeconfig: string;
  readonly apiserverUrl: string;
  readonly etcdUrl: string;
  readonly chartRepoUrl: string;
  readonly adminToken: string;
  /** Tokens of less-privileged users (user name -> token), for RBAC tests. */
  readonly userTokens: Readonly<Record<string, string>>;
  readonly pids: Readonly<Record<string, number>>;
  readonly stateDir: string;
  /** helm environment that keeps tests away from a person's own helm setup. */
  readonly helmEnv: Readonly<Record<string, string>>;
}

const infoFile = () => join(STATE_DIR, 'cluster.json');

function log(msg: string): void {
  process.stderr.write(`cluster: ${msg}\n`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function readClusterInfo(): ClusterInfo | null {
  if (!existsSync(infoFile())) return null;
  try {
    return JSON.parse(readFileSync(infoFile(), 'utf8')) as ClusterInfo;
  } catch {
    return null;
  }
}

/** Runs scripts/build-kube.sh (cached, idempotent) and returns the folder of the binaries. */
async function buildKube(): Promise<string> {
  log('checking the Kubernetes build (cached after the first time; first build takes ~6 minutes)');
  const child = spawn('bash', [join(REPO_ROOT, 'scripts', 'build-kube.sh')], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += String(d)));
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  if (code !== 0) throw new Error(`scripts/build-kube.sh failed (exit ${code}); see its messages above`);
  return out.trim().split('\n').pop()!;
}

function startDaemon(name: string, cmd: string, args: string[], env?: NodeJS.ProcessEnv): number {
  const logFd = openSync(join(STATE_DIR, `${name}.log`), 'a');
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', logFd, logFd], env: env ?? process.env });
  child.unref();
  if (!child.pid) throw new Error(`could not start ${name}`);
  return child.pid;
}

function getJson(url: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = https.get(url, { headers: { Authorization: `Bearer ${token}` }, rejectUnauthorized: false, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += String(d)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.on('timeout', () => req.destroy());
  });
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>, pid?: number, logName?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    if (pid !== undefined && !alive(pid)) break;
    await delay(250);
  }
  const tail = logName && existsSync(join(STATE_DIR, `${logName}.log`))
    ? readFileSync(join(STATE_DIR, `${logName}.log`), 'utf8').split('\n').slice(-15).join('\n')
    : '';
  throw new Error(`${what} did not become ready${tail ? `; last lines of ${logName}.log:\n${tail}` : ''}`);
}

export async function status(): Promise<{ running: boolean; info: ClusterInfo | null; down: string[] }> {
  const info = readClusterInfo();
  if (!info) return { running: false, info: null, down: [] };
  const down = Object.entries(info.pids).filter(([, pid]) => !alive(pid)).map(([n]) => n);
  if (down.length > 0) return { running: false, info, down };
  const ready = await getJson(`${info.apiserverUrl}/readyz`, info.adminToken);
  return { running: ready.status === 200, info, down: ready.status === 200 ? [] : ['kube-apiserver (not ready)'] };
}

/** Starts everything unless it already runs; returns the cluster's details. Idempotent. */
export async function up(options: { kubeletDelayMs?: number } = {}): Promise<ClusterInfo> {
  const current = await status();
  if (current.running && current.info) return current.info;
  if (current.info) await down();
  if (!existsSync(HELM_BIN)) {
    await run(process.execPath, [join(REPO_ROOT, 'scripts', 'install-tools.mjs')]);
  }
  const binDir = await buildKube();
  rmSync(STATE_DIR, { recursive: true, force: true });
  mkdirSync(STATE_DIR, { recursive: true });
  const certDir = join(STATE_DIR, 'certs');
  mkdirSync(certDir);
  const saKey = join(STATE_DIR, 'sa.key');
  const saPub = join(STATE_DIR, 'sa.pub');
  await run('openssl', ['genrsa', '-out', saKey, '2048'], { timeout: 30_000 });
  await run('openssl', ['rsa', '-in', saKey, '-pubout', '-out', saPub], { timeout: 30_000 });
  const adminToken = randomBytes(24).toString('hex');
  const userTokens = { viewer: randomBytes(24).toString('hex'), nobody: randomBytes(24).toString('hex') };
  writeFileSync(
    join(STATE_DIR, 'tokens.csv'),
    [`${adminToken},admin,admin,system:masters`, `${userTokens.viewer},viewer,viewer`, `${userTokens.nobody},nobody,nobody`].join('\n') + '\n',
    { mode: 0o600 },
  );
  const [etcdPort, etcdPeerPort, apiPort, repoPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const pids: Record<string, number> = {};
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  pids.etcd = startDaemon('etcd', 'etcd', [
    '--data-dir', join(STATE_DIR, 'etcd'),
    '--listen-client-urls', etcdUrl, '--advertise-client-urls', etcdUrl,
    '--listen-peer-urls', `http://127.0.0.1:${etcdPeerPort}`,
    '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeerPort}`,
    '--initial-cluster', `default=http://127.0.0.1:${etcdPeerPort}`,
  ]);
  writeInfo({ pids });
  await waitFor('etcd', 30_000, async () => {
    try {
      return (await fetch(`${etcdUrl}/health`)).ok;
    } catch {
      return false;
    }
  }, pids.etcd, 'etcd');
  const apiserverUrl = `https://127.0.0.1:${apiPort}`;
  pids['kube-apiserver'] = startDaemon('kube-apiserver', join(binDir, 'kube-apiserver'), [
    `--etcd-servers=${etcdUrl}`, `--cert-dir=${certDir}`, `--secure-port=${apiPort}`,
    '--bind-address=127.0.0.1', '--insecure-port=0', '--service-cluster-ip-range=10.0.0.0/24',
    '--allow-privileged=true', '--authorization-mode=RBAC', `--token-auth-file=${join(STATE_DIR, 'tokens.csv')}`,
    `--service-account-issuer=${apiserverUrl}`, `--service-account-key-file=${saPub}`,
    `--service-account-signing-key-file=${saKey}`, '--disable-admission-plugins=ServiceAccount',
  ]);
  writeInfo({ pids });
  const kubeconfig = join(STATE_DIR, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigText(apiserverUrl, adminToken, 'milvus-test'), { mode: 0o600 });
  await waitFor('kube-apiserver', 90_000, async () => (await getJson(`${apiserverUrl}/readyz`, adminToken)).status === 200, pids['kube-apiserver'], 'kube-apiserver');
  pids['kube-controller-manager'] = startDaemon('kube-controller-manager', join(binDir, 'kube-controller-manager'), [
    `--kubeconfig=${kubeconfig}`, '--leader-elect=false', '--controllers=*,-serviceaccount-token,-nodelifecycle',
    '--bind-address=127.0.0.1', '--secure-port=0', '--port=0', `--service-account-private-key-file=${saKey}`,
  ]);
  writeInfo({ pids });
  const helmHome = join(STATE_DIR, 'helm');
  const helmEnv = {
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_DATA_HOME: join(helmHome, 'data'),
  };
  const repoDir = join(STATE_DIR, 'charts');
  const { buildChartRepo } = await import('./chart-repo.js');
  await buildChartRepo({ helmBin: HELM_BIN, outDir: repoDir });
  const chartRepoUrl = `http://127.0.0.1:${repoPort}`;
  pids.harness = startDaemon('harness', process.execPath, [
    '--import', 'tsx', join(REPO_ROOT, 'test', 'harness', 'harness-daemon.ts'),
    '--kubeconfig', kubeconfig, '--charts', repoDir, '--port', String(repoPort),
    '--delay-ms', String(options.kubeletDelayMs ?? Number(process.env.FAKE_KUBELET_DELAY_MS ?? 200)),
  ], { ...process.env });
  const info: ClusterInfo = { kubeconfig, apiserverUrl, etcdUrl, chartRepoUrl, adminToken, userTokens, pids, stateDir: STATE_DIR, helmEnv };
  writeInfo(info);
  await waitFor('chart repository', 30_000, async () => {
    try {
      return (await fetch(`${chartRepoUrl}/index.yaml`)).ok;
    } catch {
      return false;
    }
  }, pids.harness, 'harness');
  await waitFor('fake node', 30_000, async () => {
    const r = await getJson(`${apiserverUrl}/api/v1/nodes`, adminToken);
    return r.status === 200 && r.body.includes('"type":"Ready","status":"True"');
  }, pids.harness, 'harness');
  await kubectl(info, ['apply', '-f', '-'], DEFAULT_STORAGE_CLASS);
  return info;
}

// Every real cluster has one; the migration's backup PVC asks for it. Its provisioner runs in
// the fake kubelet (FAKE_STORAGE_CLASS / FAKE_PROVISIONER there, which also creates it).
const DEFAULT_STORAGE_CLASS = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: fake-kubelet.local/hostpath
reclaimPolicy: Delete
volumeBindingMode: Immediate
`;

function writeInfo(partial: Partial<ClusterInfo>): void {
  const before = readClusterInfo() ?? ({} as Partial<ClusterInfo>);
  writeFileSync(infoFile(), JSON.stringify({ ...before, ...partial, stateDir: STATE_DIR }, null, 2), { mode: 0o600 });
}

export function kubeconfigText(server: string, token: string, context: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: ${context}
  cluster:
    server: ${server}
    insecure-skip-tls-verify: true
users:
- name: ${context}-admin
  user:
    token: ${token}
contexts:
- name: ${context}
  context:
    cluster: ${context}
    user: ${context}-admin
current-context: ${context}
`;
}

/** Stops every process `up` started and removes the state. Leaves nothing behind. */
export async function down(): Promise<void> {
  const info = readClusterInfo();
  if (info?.pids) {
    const order = ['harness', 'kube-controller-manager', 'kube-apiserver', 'etcd'];
    for (const name of order) {
      const pid = info.pids[name];
      if (!pid || !alive(pid)) continue;
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
      }
      const deadline = Date.now() + 10_000;
      while (alive(pid) && Date.now() < deadline) await delay(100);
      if (alive(pid)) {
        try { process.kill(-pid, 'SIGKILL'); } catch { /* already gone */ }
      }
    }
  }
  rmSync(STATE_DIR, { recursive: true, force: true });
}

export async function kubectl(info: ClusterInfo, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(KUBECTL_BIN, ['--kubeconfig', info.kubeconfig, ...args], { timeout: 60_000, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

export async function helm(info: ClusterInfo, args: string[], timeoutMs = 180_000): Promise<string> {
  const { stdout } = await run(HELM_BIN, [...args, '--kubeconfig', info.kubeconfig], {
    env: { ...process.env, ...info.helmEnv },
    timeout: timeoutMs,
    maxBuffer: 32 * 1024 * 1024,
  });
  return stdout;
}

/** Where scripts/build-kube.sh caches the binaries (its `out`). */
export function kubeBinDir(): string {
  const cacheRoot = process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/root', '.cache');
  return join(cacheRoot, 'milvus-upgrade-bot', 'kube', 'kubernetes-1.20.2');
}

export interface ExtraApiserver {
  readonly kubeconfig: string;
  /** Stops it (SIGKILL: as abrupt as a crash); the cluster goes on through the main apiserver. */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
}

/**
 * A second kube-apiserver over the same etcd, for fault tests: the code under test talks to
 * this one, which can be stopped and started while the controllers and the fake kubelet keep
 * working through the main one.
 */
export async function startExtraApiserver(info: ClusterInfo, dir: string): Promise<ExtraApiserver> {
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  mkdirSync(join(dir, 'certs'), { recursive: true });
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kubeconfigText(url, info.adminToken, 'milvus-test'), { mode: 0o600 });
  let child: ReturnType<typeof spawn> | null = null;
  const launch = async () => {
    const logFd = openSync(join(dir, 'kube-apiserver.log'), 'a');
    child = spawn(join(kubeBinDir(), 'kube-apiserver'), [
      `--etcd-servers=${info.etcdUrl}`, `--cert-dir=${join(dir, 'certs')}`, `--secure-port=${port}`,
      '--bind-address=127.0.0.1', '--insecure-port=0', '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true', '--authorization-mode=RBAC', `--token-auth-file=${join(info.stateDir, 'tokens.csv')}`,
      `--service-account-issuer=${info.apiserverUrl}`, `--service-account-key-file=${join(info.stateDir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(info.stateDir, 'sa.key')}`, '--disable-admission-plugins=ServiceAccount',
    ], { stdio: ['ignore', logFd, logFd] });
    await waitFor('extra kube-apiserver', 90_000, async () => (await getJson(`${url}/readyz`, info.adminToken)).status === 200);
  };
  await launch();
  return {
    kubeconfig,
    stop: async () => {
      const c = child;
      if (!c || c.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGKILL');
      });
    },
    start: launch,
  };
}
