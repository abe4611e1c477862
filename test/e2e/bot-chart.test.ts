/**
 * The bot's own chart (helm/milvus-upgrade-bot): lint and render with default and non-default
 * values, then install it on the control plane and prove its RBAC: every verb the engine and helm
 * need is allowed in the managed namespaces, a sample of everything else is not, and the real CLI
 * upgrades a Milvus release with nothing but the ServiceAccount's token and the chart's kubeconfig.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { KUBECTL_BIN, REPO_ROOT, kubectl } from '../harness/control-plane.js';
import { cluster, deployments, ensureRepo, helmStatus, helmT, installRelease, newNamespace, NOT_FOUND, onlyIf } from './helpers.js';

const CHART = join(REPO_ROOT, 'helm', 'milvus-upgrade-bot');
const TMP = mkdtempSync(join(tmpdir(), 'bot-chart-'));
const SA_TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token';
const SA_CA_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: any };
type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };

let valuesCount = 0;
function valuesFile(values: unknown): string {
  const file = join(TMP, `values-${++valuesCount}.yaml`);
  writeFileSync(file, stringify(values));
  return file;
}

async function render(values: unknown = {}, namespace = 'bots', release = 'mub'): Promise<Obj[]> {
  const out = await helmT(['template', release, CHART, '-n', namespace, '-f', valuesFile(values)]);
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

const ofKind = (objs: Obj[], kind: string) => objs.filter((o) => o.kind === kind);
const one = (objs: Obj[], kind: string, name: string) => {
  const found = objs.filter((o) => o.kind === kind && o.metadata.name === name);
  expect(found, `${kind} ${name}`).toHaveLength(1);
  return found[0]!;
};
const container = (d: Obj) => d.spec.template.spec.containers[0];
/** The objects of one app.kubernetes.io/name. */
const objs = (all: Obj[], name: string) => all.filter((o) => o.metadata.labels?.['app.kubernetes.io/name'] === name);
const envOf = (d: Obj): Record<string, any> => Object.fromEntries(container(d).env.map((e: { name: string; value?: string; valueFrom?: unknown }) => [e.name, e.value ?? e.valueFrom]));

// Non-default values used for rendering and for the install.
const NON_DEFAULT = (namespaces: string[]) => ({
  split: true,
  redis: { enabled: true },
  slack: { mode: 'socket', existingSecret: 'slack-creds' },
  managedNamespaces: namespaces,
  access: { rules: [{ namespaces, requesters: ['U1'], approvers: ['U2'], channels: ['C1'] }] },
});

afterAll(() => rmSync(TMP, { recursive: true, force: true }));

describe('bot chart: lint and render', () => {
  it('lints with default and with non-default values', async () => {
    expect(await helmT(['lint', CHART, '--set', 'managedNamespaces={milvus}'])).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(await helmT(['lint', CHART, '-f', valuesFile(NON_DEFAULT(['a', 'b']))])).toMatch(/0 chart\(s\) failed/);
    expect(await helmT(['lint', CHART, '-f', valuesFile({ ...NON_DEFAULT(['a', 'b']), backupServers: [{ release: 'r', namespace: 'b' }] })])).toMatch(/0 chart\(s\) failed/);
  });

  it('refuses values that break the schema', async () => {
    await expect(helmT(['template', 'x', CHART, '--set', 'settings.jobLockMs=10'])).rejects.toThrow(/jobLockMs/);
    await expect(helmT(['template', 'x', CHART, '--set', 'slack.mode=websocket'])).rejects.toThrow(/slack\.mode/);
    await expect(helmT(['template', 'x', CHART, '--set', 'settings.noSuchSetting=1'])).rejects.toThrow(/noSuchSetting/);
    await expect(helmT(['template', 'x', CHART, '-f', valuesFile({ access: { rules: [{ requester: ['U1'] }] } })])).rejects.toThrow(/requester/);
  });

  it('refuses to manage its own namespace (the worker could read the Slack and seal Secrets there) unless asked', async () => {
    const own = /the bot's own namespace bots is managed only with allowOwnNamespace=true/;
    await expect(render({})).rejects.toThrow(own);
    await expect(render({ managedNamespaces: ['milvus', 'bots'] })).rejects.toThrow(own);
    const asked = await render({ allowOwnNamespace: true });
    expect(ofKind(asked, 'Role').map((r) => r.metadata.namespace)).toEqual(['bots']);
  });

  it('default values: one Deployment playing both roles, probes, secrets by reference, read-only root, RBAC in the managed namespace', async () => {
    // The one value without a default: the namespaces of the Milvus releases.
    const objs = await render({ managedNamespaces: ['milvus'] });
    const deps = ofKind(objs, 'Deployment');
    expect(deps.map((d) => d.metadata.name)).toEqual(['mub-milvus-upgrade-bot']);
    const d = deps[0]!;
    const c = container(d);
    const env = envOf(d);
    expect(env.ROLES).toBe('bot,worker');
    expect(env.PORT).toBe('3000');
    expect(env.SLACK_MODE).toBe('http');
    expect(env.SLACK_BOT_TOKEN).toEqual({ secretKeyRef: { name: 'milvus-upgrade-bot-slack', key: 'bot-token' } });
    expect(env.SLACK_SIGNING_SECRET).toEqual({ secretKeyRef: { name: 'milvus-upgrade-bot-slack', key: 'signing-secret' } });
    expect(env.SLACK_APP_TOKEN).toBeUndefined();
    expect(env.REDIS_URL).toBe('redis://redis:6379');
    // Unset settings are left to the app's defaults.
    expect(env.HELM_TIMEOUT_SECONDS).toBeUndefined();
    expect(c.ports).toEqual([{ name: 'http', containerPort: 3000, protocol: 'TCP' }]);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(d.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });

    // Everything written at run time lands on an emptyDir: /tmp and helm's homes.
    const mounts = Object.fromEntries(c.volumeMounts.map((m: { name: string; mountPath: string }) => [m.name, m.mountPath]));
    const volumes = Object.fromEntries(d.spec.template.spec.volumes.map((v: { name: string }) => [v.name, v]));
    expect(mounts.tmp).toBe('/tmp');
    expect(volumes.tmp.emptyDir).toEqual({});
    expect(volumes['helm-home'].emptyDir).toEqual({});
    for (const k of ['HELM_CACHE_HOME', 'HELM_CONFIG_HOME', 'HELM_DATA_HOME']) expect(env[k].startsWith(`${mounts['helm-home']}/`), k).toBe(true);

    // access.yaml and the kubeconfig are mounted where ACCESS_CONFIG and KUBECONFIG point.
    expect(env.ACCESS_CONFIG).toBe(`${mounts.access}/access.yaml`);
    expect(volumes.access.configMap.name).toBe('mub-milvus-upgrade-bot-access');
    const access = one(objs, 'ConfigMap', 'mub-milvus-upgrade-bot-access');
    expect(access.data['access.yaml'].trim()).toBe('rules: []');
    expect(env.KUBECONFIG).toBe(`${mounts.kubeconfig}/config`);
    const kc = one(objs, 'ConfigMap', 'mub-milvus-upgrade-bot-kubeconfig').data.config as string;
    expect(kc).toContain(`tokenFile: ${SA_TOKEN_PATH}`);
    expect(kc).toContain(`token-file: ${SA_TOKEN_PATH}`);
    expect(kc).toContain('current-context: in-cluster');

    // HTTP mode: a Service to the bot's port; Slack credentials by reference.
    const svc = one(objs, 'Service', 'mub-milvus-upgrade-bot');
    expect(svc.spec.ports[0]).toMatchObject({ targetPort: 'http' });
    expect(svc.spec.selector).toEqual(d.spec.selector.matchLabels);
    // The one Secret rendered: the approval seal's key, random, mounted where APPROVAL_SEAL_KEY_FILE points.
    expect(ofKind(objs, 'Secret').map((o) => o.metadata.name)).toEqual(['mub-milvus-upgrade-bot-approval-seal']);
    const sealKey = Buffer.from(one(objs, 'Secret', 'mub-milvus-upgrade-bot-approval-seal').data['seal-key'], 'base64').toString();
    expect(sealKey).toMatch(/^[A-Za-z0-9]{48}$/);
    expect(env.APPROVAL_SEAL_KEY_FILE).toBe(`${mounts['approval-seal']}/key`);
    expect(volumes['approval-seal'].secret).toEqual({ secretName: 'mub-milvus-upgrade-bot-approval-seal', defaultMode: 0o440, items: [{ key: 'seal-key', path: 'key' }] });
    expect(env.APPROVAL_SEAL_KEY).toBeUndefined();
    // No Redis in the chart: no NetworkPolicy (an external Redis is the operator's to fence).
    expect(ofKind(objs, 'NetworkPolicy')).toEqual([]);
    // A Secret of your own: nothing generated, that one mounted.
    const own = await render({ managedNamespaces: ['milvus'], approvalSeal: { existingSecret: 'my-seal', existingSecretKey: 'k' } });
    expect(ofKind(own, 'Secret')).toEqual([]);
    const ownVolumes = ofKind(own, 'Deployment')[0]!.spec.template.spec.volumes as Array<{ name: string; secret?: unknown }>;
    expect(ownVolumes.find((v) => v.name === 'approval-seal')!.secret).toEqual({ secretName: 'my-seal', defaultMode: 0o440, items: [{ key: 'k', path: 'key' }] });

    const roles = ofKind(objs, 'Role');
    expect(roles.map((r) => r.metadata.namespace)).toEqual(['milvus']);
    expect(ofKind(objs, 'RoleBinding')[0]!.subjects).toEqual([{ kind: 'ServiceAccount', name: 'mub-milvus-upgrade-bot', namespace: 'bots' }]);
    assertClusterRulesMinimal(objs);
  });

  it('non-default values: split, in-chart Redis, Socket Mode, two managed namespaces', async () => {
    const objs = await render(NON_DEFAULT(['ns-a', 'ns-b']));
    const deps = Object.fromEntries(ofKind(objs, 'Deployment').map((d) => [d.metadata.name, d]));
    expect(Object.keys(deps).sort()).toEqual(['mub-milvus-upgrade-bot-bot', 'mub-milvus-upgrade-bot-redis', 'mub-milvus-upgrade-bot-worker']);
    const bot = envOf(deps['mub-milvus-upgrade-bot-bot']!);
    const worker = envOf(deps['mub-milvus-upgrade-bot-worker']!);
    expect(bot.ROLES).toBe('bot');
    expect(worker.ROLES).toBe('worker');
    expect(bot.SLACK_APP_TOKEN).toEqual({ secretKeyRef: { name: 'slack-creds', key: 'app-token' } });
    expect(bot.SLACK_SIGNING_SECRET).toBeUndefined();
    expect(bot.ACCESS_CONFIG).toBeDefined();
    // The worker holds no Slack credentials and needs no access rules; it reads the windows and
    // freezes of the same file (it holds the runs), mounted where SCHEDULE_CONFIG points.
    expect(Object.keys(worker).filter((k) => k.startsWith('SLACK_') && k !== 'SLACK_MODE')).toEqual([]);
    expect(worker.ACCESS_CONFIG).toBeUndefined();
    for (const env of [bot, worker]) expect(env.SCHEDULE_CONFIG).toBe('/etc/milvus-upgrade-bot/access/access.yaml');
    const workerMounts = (deps['mub-milvus-upgrade-bot-worker']!.spec.template.spec.containers[0].volumeMounts as Array<{ name: string; mountPath: string }>);
    expect(workerMounts.find((m) => m.name === 'access')?.mountPath).toBe('/etc/milvus-upgrade-bot/access');
    // The trial Redis asks for a generated password; both roles pass it, and hold the same seal key.
    for (const env of [bot, worker]) {
      expect(env.REDIS_PASSWORD).toEqual({ secretKeyRef: { name: 'mub-milvus-upgrade-bot-redis', key: 'password' } });
      expect(env.REDIS_URL).toBe('redis://:$(REDIS_PASSWORD)@mub-milvus-upgrade-bot-redis:6379');
      expect(env.APPROVAL_SEAL_KEY_FILE).toBe('/etc/milvus-upgrade-bot/seal/key');
    }
    for (const name of ['mub-milvus-upgrade-bot-bot', 'mub-milvus-upgrade-bot-worker']) {
      const seal = (deps[name]!.spec.template.spec.volumes as Array<{ name: string; secret?: { secretName: string } }>).find((v) => v.name === 'approval-seal');
      expect(seal?.secret?.secretName, name).toBe('mub-milvus-upgrade-bot-approval-seal');
    }
    const redisC = container(deps['mub-milvus-upgrade-bot-redis']!);
    expect(redisC.args.slice(0, 2)).toEqual(['--requirepass', '$(REDIS_PASSWORD)']);
    expect(Object.keys(envOf(deps['mub-milvus-upgrade-bot-redis']!)).sort()).toEqual(['REDISCLI_AUTH', 'REDIS_PASSWORD']);
    expect(Buffer.from(one(objs, 'Secret', 'mub-milvus-upgrade-bot-redis').data.password, 'base64').toString()).toMatch(/^[A-Za-z0-9]{48}$/);
    // The NetworkPolicy: Redis's pods, reached only by this release's bot and worker pods.
    const policy = one(objs, 'NetworkPolicy', 'mub-milvus-upgrade-bot-redis');
    const podLabels = (name: string) => deps[name]!.spec.template.metadata.labels as Record<string, string>;
    expect(selects(policy.spec.podSelector, podLabels('mub-milvus-upgrade-bot-redis'))).toBe(true);
    expect(selects(policy.spec.podSelector, podLabels('mub-milvus-upgrade-bot-worker'))).toBe(false);
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    expect(policy.spec.ingress).toHaveLength(1);
    const [rule] = policy.spec.ingress;
    expect(rule.ports).toEqual([{ port: 6379, protocol: 'TCP' }]);
    const from = rule.from[0].podSelector;
    expect(rule.from).toHaveLength(1);
    expect(selects(from, podLabels('mub-milvus-upgrade-bot-bot'))).toBe(true);
    expect(selects(from, podLabels('mub-milvus-upgrade-bot-worker'))).toBe(true);
    expect(selects(from, { ...podLabels('mub-milvus-upgrade-bot-worker'), 'app.kubernetes.io/instance': 'someone-else' })).toBe(false);
    expect(selects(from, { 'app.kubernetes.io/name': 'milvus', 'app.kubernetes.io/instance': 'mub', 'app.kubernetes.io/component': 'proxy' })).toBe(false);
    expect(ofKind(await render({ ...NON_DEFAULT(['ns-a']), networkPolicy: { enabled: false } }), 'NetworkPolicy')).toEqual([]);
    // Probes on the health port in every role (Socket Mode and worker-only serve them on PORT).
    for (const name of ['mub-milvus-upgrade-bot-bot', 'mub-milvus-upgrade-bot-worker']) {
      const c = container(deps[name]!);
      expect(c.livenessProbe.httpGet.path).toBe('/healthz');
      expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    }
    // Separate ServiceAccounts: the bot's is read-only.
    expect(deps['mub-milvus-upgrade-bot-bot']!.spec.template.spec.serviceAccountName).toBe('mub-milvus-upgrade-bot-bot');
    expect(deps['mub-milvus-upgrade-bot-worker']!.spec.template.spec.serviceAccountName).toBe('mub-milvus-upgrade-bot');

    // Socket Mode: no Service for Slack; only Redis's.
    expect(ofKind(objs, 'Service').map((s) => s.metadata.name)).toEqual(['mub-milvus-upgrade-bot-redis']);
    expect(container(deps['mub-milvus-upgrade-bot-redis']!).image).toBe('redis:7.2-alpine');

    // A Role and RoleBinding per managed namespace for each ServiceAccount, none elsewhere.
    for (const ns of ['ns-a', 'ns-b']) {
      const full = objs.find((o) => o.kind === 'Role' && o.metadata.namespace === ns && o.metadata.name === 'mub-milvus-upgrade-bot')!;
      const read = objs.find((o) => o.kind === 'Role' && o.metadata.namespace === ns && o.metadata.name === 'mub-milvus-upgrade-bot-bot')!;
      expect(full, ns).toBeDefined();
      expect(read, ns).toBeDefined();
      expect(allows(full.rules, 'patch', 'apps', 'deployments')).toBe(true);
      expect(allows(full.rules, 'delete', '', 'secrets')).toBe(true);
      // Split mode: a worker reads helm's release records for the bot; the bot reads no Secret.
      expect(allows(read.rules, 'list', '', 'secrets')).toBe(false);
      expect(allows(read.rules, 'get', '', 'secrets')).toBe(false);
      for (const [verb, group, resource] of [['patch', 'apps', 'deployments'], ['create', '', 'pods'], ['create', '', 'secrets'], ['delete', '', 'configmaps']] as const) {
        expect(allows(read.rules, verb, group, resource), `bot ${verb} ${resource}`).toBe(false);
      }
      const bindings = objs.filter((o) => o.kind === 'RoleBinding' && o.metadata.namespace === ns);
      expect(bindings.map((b) => [b.roleRef.name, b.subjects[0].name]).sort()).toEqual([
        ['mub-milvus-upgrade-bot', 'mub-milvus-upgrade-bot'],
        ['mub-milvus-upgrade-bot-bot', 'mub-milvus-upgrade-bot-bot'],
      ]);
    }
    expect(new Set(ofKind(objs, 'Role').map((r) => r.metadata.namespace))).toEqual(new Set(['ns-a', 'ns-b']));
    expect(one(objs, 'ClusterRoleBinding', 'bots-mub-milvus-upgrade-bot').subjects).toEqual([{ kind: 'ServiceAccount', name: 'mub-milvus-upgrade-bot', namespace: 'bots' }]);
    assertClusterRulesMinimal(objs);
  });

  it('backupServers: per item, in the release\'s namespace, a ConfigMap (no secret), a Deployment running milvus-backup server and a Service, all <release>-milvus-backup; BACKUP_URL names them', async () => {
    // None by default, and no BACKUP_URL: no backups.
    const plain = await render({ managedNamespaces: ['milvus'] });
    expect(objs(plain, 'milvus-backup')).toEqual([]);
    expect(envOf(ofKind(plain, 'Deployment')[0]!).BACKUP_URL).toBeUndefined();

    const values = {
      managedNamespaces: ['milvus', 'milvus-b'],
      split: true,
      backupServers: [
        { release: 'my-release', namespace: 'milvus', milvus: { existingSecret: 'my-release-milvus-auth' }, minio: { existingSecret: 'my-release-minio' } },
        // The Milvus chart names its objects <release> when the release's name holds theirs.
        { release: 'milvus', namespace: 'milvus-b', image: { tag: 'v0.5.15' }, etcd: { rootPath: 'prod' }, minio: { address: 's3.example.com', port: 443, useSSL: true, bucketName: 'b', rootPath: 'data', backupBucketName: 'bk', backupRootPath: 'backups' } },
      ],
    };
    const all = await render(values);
    const mine = objs(all, 'milvus-backup');
    expect(mine.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap milvus-b/milvus-milvus-backup', 'ConfigMap milvus/my-release-milvus-backup',
      'Deployment milvus-b/milvus-milvus-backup', 'Deployment milvus/my-release-milvus-backup',
      'Service milvus-b/milvus-milvus-backup', 'Service milvus/my-release-milvus-backup',
    ]);
    // The bot finds a release's objects by app.kubernetes.io/instance (or release): these carry neither.
    for (const o of mine) {
      expect(o.metadata.labels?.['app.kubernetes.io/instance'], `${o.kind} ${o.metadata.name}`).toBeUndefined();
      expect(o.metadata.labels?.release).toBeUndefined();
    }

    // backup.yaml in milvus-backup's v0.5 keys; the defaults are where the Milvus chart's defaults keep the data.
    const configOf = (ns: string, name: string) => parse(one(mine.filter((o) => o.metadata.namespace === ns), 'ConfigMap', name).data['backup.yaml']);
    const config = configOf('milvus', 'my-release-milvus-backup');
    expect(config.milvus).toEqual({ address: 'my-release-milvus.milvus.svc', port: 19530, etcd: { endpoints: 'my-release-etcd.milvus.svc:2379', rootPath: 'by-dev' } });
    expect(config.minio).toEqual({
      storageType: 'minio', address: 'my-release-minio.milvus.svc', port: 9000, useSSL: false, bucketName: 'milvus-bucket', rootPath: 'file',
      backupStorageType: 'minio', backupBucketName: 'milvus-bucket', backupRootPath: 'backup',
    });
    expect(config.backup).toEqual({ gcPause: { enable: true, address: 'http://my-release-milvus.milvus.svc:9091' } });
    // Logs to the console only: nothing written under the read-only root.
    expect(config.log.file).toEqual({ filename: '' });
    const other = configOf('milvus-b', 'milvus-milvus-backup');
    expect(other.milvus).toMatchObject({ address: 'milvus.milvus-b.svc', etcd: { endpoints: 'milvus-etcd.milvus-b.svc:2379', rootPath: 'prod' } });
    expect(other.minio).toMatchObject({ address: 's3.example.com', port: 443, useSSL: true, bucketName: 'b', rootPath: 'data', backupBucketName: 'bk', backupRootPath: 'backups' });
    // No credential in any ConfigMap, by key or by value.
    for (const cm of ofKind(mine, 'ConfigMap')) {
      const text = cm.data['backup.yaml'] as string;
      expect(text).not.toMatch(/user|password|accessKey|secretAccessKey|token|minioadmin/i);
    }

    const inNs = (ns: string) => mine.filter((o) => o.metadata.namespace === ns);
    const d = one(inNs('milvus'), 'Deployment', 'my-release-milvus-backup');
    const otherD = one(inNs('milvus-b'), 'Deployment', 'milvus-milvus-backup');
    const c = container(d);
    // milvus-backup's published image, pinned (values: backupServerDefaults.image, or the item's).
    expect(c.image).toBe('milvusdb/milvus-backup:v0.5.16');
    expect(container(otherD).image).toBe('milvusdb/milvus-backup:v0.5.15');
    expect([...c.command, ...c.args]).toEqual(['/app/milvus-backup', 'server', '--config', '/etc/milvus-backup/backup.yaml', '--port', '8080']);
    expect(c.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    expect(c.readinessProbe.httpGet).toEqual({ path: '/api/v1/hello', port: 'http' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/api/v1/hello', port: 'http' });
    expect(c.volumeMounts.find((m: { name: string }) => m.name === 'config').mountPath).toBe('/etc/milvus-backup');
    expect(d.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'config').configMap).toEqual({ name: 'my-release-milvus-backup' });
    // Credentials by reference, as the variables milvus-backup reads over its file.
    expect(envOf(d)).toEqual({
      MILVUS_USER: { secretKeyRef: { name: 'my-release-milvus-auth', key: 'username' } },
      MILVUS_PASSWORD: { secretKeyRef: { name: 'my-release-milvus-auth', key: 'password' } },
      MINIO_ACCESS_KEY: { secretKeyRef: { name: 'my-release-minio', key: 'accesskey' } },
      MINIO_SECRET_KEY: { secretKeyRef: { name: 'my-release-minio', key: 'secretkey' } },
    });
    expect(container(otherD).env).toBeUndefined();
    // Service variables (a Service named milvus: MILVUS_PORT=tcp://...) would override its file.
    expect(d.spec.template.spec.enableServiceLinks).toBe(false);
    expect(d.spec.template.spec.automountServiceAccountToken).toBe(false);
    expect(d.spec.strategy).toEqual({ type: 'Recreate' });
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(d.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true });

    const svc = one(inNs('milvus'), 'Service', 'my-release-milvus-backup');
    expect(svc.spec.ports).toEqual([{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }]);
    expect(selects({ matchLabels: svc.spec.selector }, d.spec.template.metadata.labels)).toBe(true);
    expect(selects({ matchLabels: svc.spec.selector }, otherD.spec.template.metadata.labels)).toBe(false);

    // settings.backupUrl empty: BACKUP_URL names these Services, for both roles; set: that one.
    const template = 'http://{release}-milvus-backup.{namespace}.svc:8080';
    for (const dep of ofKind(all, 'Deployment').filter((o) => o.metadata.namespace === 'bots')) expect(envOf(dep).BACKUP_URL, dep.metadata.name).toBe(template);
    expect(template.replaceAll('{release}', 'my-release').replaceAll('{namespace}', 'milvus')).toBe(`http://${svc.metadata.name}.${svc.metadata.namespace}.svc:8080`);
    const own = await render({ ...values, settings: { backupUrl: 'http://backup.example:8080' } });
    for (const dep of ofKind(own, 'Deployment').filter((o) => o.metadata.namespace === 'bots')) {
      expect(container(dep).env.filter((e: { name: string }) => e.name === 'BACKUP_URL'), dep.metadata.name).toEqual([{ name: 'BACKUP_URL', value: 'http://backup.example:8080' }]);
    }
  });

  it('backupServers: the defaults are where the Milvus chart keeps a release\'s data (its rendered config)', async () => {
    await ensureRepo();
    for (const version of ['4.1.24', '5.0.22']) {
      const milvus = parseAllDocuments(await helmT(['template', 'my-release', 'zilliztech/milvus', '--version', version, '-n', 'milvus']))
        .map((d) => d.toJS() as Obj | null)
        .find((o) => o?.kind === 'ConfigMap' && o.metadata.name === 'my-release-milvus')!;
      const rendered = parse(Object.values(milvus.data as Record<string, string>)[0]!);
      const backup = parse(one(await render({ managedNamespaces: ['milvus'], backupServers: [{ release: 'my-release', namespace: 'milvus' }] }), 'ConfigMap', 'my-release-milvus-backup').data['backup.yaml']);
      expect(`${backup.minio.address}`.split('.')[0], version).toBe(rendered.minio.address);
      expect([backup.minio.port, backup.minio.bucketName, backup.minio.rootPath], version).toEqual([rendered.minio.port, rendered.minio.bucketName, rendered.minio.rootPath]);
      expect(backup.milvus.etcd.endpoints.split('.')[0], version).toBe(String(rendered.etcd.endpoints[0]).split(':')[0]);
      // No etcd.rootPath in the rendered config: Milvus's own by-dev.
      expect(backup.milvus.etcd.rootPath, version).toBe(rendered.etcd.rootPath ?? 'by-dev');
    }
  });

  it('backupServers: the schema and the chart refuse an item without its release, outside the managed namespaces, twice, or backing up into Milvus\'s root path; and a bad backup URL', async () => {
    const base = { managedNamespaces: ['milvus'] };
    await expect(render({ ...base, backupServers: [{ namespace: 'milvus' }] })).rejects.toThrow(/backupServers\.0: release is required/);
    await expect(render({ ...base, backupServers: [{ release: 'r' }] })).rejects.toThrow(/backupServers\.0: namespace is required/);
    await expect(render({ ...base, backupServers: [{ release: 'My_Release', namespace: 'milvus' }] })).rejects.toThrow(/backupServers\.0\.release/);
    // <release>-milvus-backup must fit a Service name (63).
    await expect(render({ ...base, backupServers: [{ release: 'r'.repeat(50), namespace: 'milvus' }] })).rejects.toThrow(/backupServers\.0\.release/);
    await expect(render({ ...base, backupServers: [{ release: 'r', namespace: 'milvus', minio: { secret: 'x' } }] })).rejects.toThrow(/secret/);
    await expect(render({ ...base, backupServers: [{ release: 'r', namespace: 'milvus', image: { tag: 'latest' } }] })).rejects.toThrow(/backupServers\.0\.image\.tag/);
    await expect(render({ ...base, backupServers: [{ release: 'r', namespace: 'elsewhere' }] })).rejects.toThrow(/backupServers\[0\]: namespace elsewhere is not one of managedNamespaces/);
    await expect(render({ ...base, backupServers: [{ release: 'r', namespace: 'milvus' }, { release: 'r', namespace: 'milvus' }] })).rejects.toThrow(/backupServers\[1\]: milvus\/r is listed twice/);
    await expect(render({ ...base, backupServers: [{ release: 'r', namespace: 'milvus', minio: { backupRootPath: 'file' } }] })).rejects.toThrow(/backupRootPath must differ from minio\.rootPath/);
    for (const url of ['ftp://backup:8080', 'backup.milvus.svc:8080', 'http://user:pw@backup:8080', 'http://backup:8080/?x=1', 'http://{release} backup:8080']) {
      await expect(render({ ...base, settings: { backupUrl: url } }), url).rejects.toThrow(/settings\.backupUrl/);
    }
    await expect(render({ ...base, settings: { backupUrlByCluster: 'prod' } })).rejects.toThrow(/settings\.backupUrlByCluster/);
    await expect(render({ ...base, settings: { backupUrlByCluster: 'prod=backup:8080' } })).rejects.toThrow(/settings\.backupUrlByCluster/);
    await expect(render({ ...base, settings: { backupUrlByRelease: 'road-restored=http://b:8080' } })).rejects.toThrow(/settings\.backupUrlByRelease/);
    await expect(render({ ...base, settings: { milvusAddressByRelease: 'prod/Road=h:19530' } })).rejects.toThrow(/settings\.milvusAddressByRelease/);
    await expect(render({ ...base, settings: { backupPolicy: 'never' } })).rejects.toThrow(/settings\.backupPolicy/);
    await expect(render({ ...base, settings: { backupTimeoutSeconds: 5 } })).rejects.toThrow(/settings\.backupTimeoutSeconds/);
    // What the app takes, the schema takes.
    const ok = await render({ ...base, settings: { backupUrl: 'https://{fullname}-backup.{namespace}.svc:8443/mb', backupUrlByCluster: 'prod=http://b.example:8080,dev=https://c.example' } });
    expect(envOf(ofKind(ok, 'Deployment')[0]!).BACKUP_URL).toBe('https://{fullname}-backup.{namespace}.svc:8443/mb');
  });

  it('exposes every setting of src/config.ts', async () => {
    const source = readFileSync(join(REPO_ROOT, 'src', 'config.ts'), 'utf8');
    const block = /const schema = z\.object\(\{([\s\S]*?)\n\}\);/.exec(source)?.[1] ?? '';
    const names = [...block.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(20);
    const all = {
      split: false,
      managedNamespaces: ['milvus'],
      slack: { apiUrl: 'http://slack.example/api/' },
      dashboard: { enabled: true, existingSecret: 'dash' },
      settings: {
        logLevel: 'debug', keyPrefix: 'k:', kubeContext: 'prod', milvusChartRepoName: 'z', milvusChartRepoUrl: 'http://charts.example',
        helmTimeoutSeconds: 600, rolloutTimeoutSeconds: 60, coordinatorMinReadySeconds: 5, healthSettleSeconds: 7, pollIntervalMs: 500,
        migrationImage: 'm:1', metaRootPath: 'r', migrationStorageClass: 'sc', etcdEndpoint: 'etcd:2379', sessionWaitSeconds: 10,
        approvalsNeeded: 2, rollbackApprovals: 1, allowSelfApproval: false, requestTtlMinutes: 30, requestRetentionDays: 45, workerConcurrency: 3, jobAttempts: 4,
        jobBackoffMs: 1000, jobLockMs: 600000, jobStalledIntervalMs: 20000, botWorkConcurrency: 8, botWorkDeferMs: 500, planTimeoutSeconds: 60, planConcurrency: 2,
        reconcileIntervalSeconds: 30, reconcileGraceSeconds: 90, hopExpectedMinutes: 45, scheduleRecheckMs: 30000, progressRereadMs: 5000, redisCommandTimeoutMs: 1500,
        dataTimeoutSeconds: 120, milvusDataChecks: 'required', milvusAddress: '{fullname}.{namespace}.svc:19530', milvusAddressByCluster: 'prod=gw.example:19530', milvusAddressByRelease: 'prod/road-restored=10.1.2.3:19530',
        milvusCredentialsSecret: '{release}-milvus-auth', milvusTls: false,
        backupUrl: 'http://milvus-backup.{namespace}.svc:8080', backupUrlByCluster: 'prod=https://backup.example:8443/mb', backupUrlByRelease: 'prod/road-restored=http://restore.tools.svc:8080', backupPolicy: 'always', backupTimeoutSeconds: 7200,
      },
      shutdownGraceSeconds: 900,
    };
    const deployment = ofKind(await render(all), 'Deployment')[0]!;
    const env = envOf(deployment);
    // Kubernetes waits for the worker's own grace, plus time to close its connections.
    expect(env.SHUTDOWN_GRACE_SECONDS).toBe('900');
    expect((deployment as unknown as { spec: { template: { spec: { terminationGracePeriodSeconds: number } } } }).spec.template.spec.terminationGracePeriodSeconds).toBe(930);
    expect(env.JOB_LOCK_MS).toBe('600000');
    expect(env.ALLOW_SELF_APPROVAL).toBe('false');
    expect(env.HEALTH_SETTLE_SECONDS).toBe('7');
    expect([env.MILVUS_ADDRESS, env.MILVUS_CREDENTIALS_SECRET, env.MILVUS_TLS, env.DATA_TIMEOUT_SECONDS]).toEqual(['{fullname}.{namespace}.svc:19530', '{release}-milvus-auth', 'false', '120']);
    expect([env.BACKUP_URL, env.BACKUP_URL_BY_CLUSTER, env.BACKUP_POLICY, env.BACKUP_TIMEOUT_SECONDS]).toEqual(['http://milvus-backup.{namespace}.svc:8080', 'prod=https://backup.example:8443/mb', 'always', '7200']);
    expect([env.MILVUS_ADDRESS_BY_RELEASE, env.BACKUP_URL_BY_RELEASE]).toEqual(['prod/road-restored=10.1.2.3:19530', 'prod/road-restored=http://restore.tools.svc:8080']);
    // HELM_BIN comes from the image (Dockerfile ENV); SLACK_APP_TOKEN in Socket Mode (checked above).
    const fromImage = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8').includes('HELM_BIN=/usr/local/bin/helm') ? ['HELM_BIN'] : [];
    // APPROVAL_SEAL_KEY: the chart passes the key as a file (APPROVAL_SEAL_KEY_FILE), never as a value.
    const missing = names.filter((n) => !(n in env) && !fromImage.includes(n) && n !== 'SLACK_APP_TOKEN' && n !== 'APPROVAL_SEAL_KEY');
    expect(missing, 'settings of src/config.ts the chart does not set').toEqual([]);
  });
});

type Selector = { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values: string[] }> };

/** Whether a Kubernetes label selector (matchLabels, and `In` expressions) selects these labels. */
function selects(selector: Selector, labels: Record<string, string>): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => {
    if (e.operator !== 'In') throw new Error(`operator ${e.operator} not modelled`);
    return e.values.includes(labels[e.key] ?? '');
  });
  return byLabels && byExpressions;
}

function allows(rules: Rule[], verb: string, group: string, resource: string): boolean {
  return rules.some((r) => r.apiGroups.some((g) => g === group || g === '*') && r.resources.some((x) => x === resource || x === '*') && r.verbs.some((v) => v === verb || v === '*'));
}

/** The ClusterRole reads StorageClasses and nothing else; no rule anywhere uses a wildcard. */
function assertClusterRulesMinimal(objs: Obj[]): void {
  const clusterRoles = ofKind(objs, 'ClusterRole');
  expect(clusterRoles).toHaveLength(1);
  expect(clusterRoles[0]!.rules).toEqual([{ apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['get', 'list'] }]);
  for (const role of [...clusterRoles, ...ofKind(objs, 'Role')]) {
    for (const r of role.rules as Rule[]) {
      expect([...r.apiGroups, ...r.resources, ...r.verbs], role.metadata.name).not.toContain('*');
      expect(r.resources).not.toContain('nodes');
      expect(r.resources).not.toContain('namespaces');
      expect(r.resources).not.toContain('pods/exec');
    }
  }
}

// ---------------------------------------------------------------------------------------------

interface CanI {
  readonly verb: string;
  readonly resource: string;
  readonly namespace?: string;
  readonly subresource?: string;
}

/** `kubectl auth can-i` as a ServiceAccount: exit 0 and "yes", or exit 1 and "no". */
function canI(sa: string, q: CanI): Promise<boolean> {
  const args = ['--kubeconfig', cluster().kubeconfig, 'auth', 'can-i', q.verb, q.resource, '--as', sa];
  if (q.subresource) args.push('--subresource', q.subresource);
  args.push(...(q.namespace ? ['-n', q.namespace] : ['--all-namespaces']));
  return new Promise((resolve, reject) => {
    execFile(KUBECTL_BIN, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const answer = stdout.trim();
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      if (code === 0 && answer === 'yes') resolve(true);
      else if (code === 1 && answer === 'no') resolve(false);
      else reject(new Error(`kubectl ${args.slice(2).join(' ')}: exit ${code}, ${answer} ${stderr}`));
    });
  });
}

/** Asks every question (8 at a time); returns the ones whose answer differs from `expected`. */
async function wrongAnswers(sa: string, questions: CanI[], expected: boolean): Promise<string[]> {
  const wrong: string[] = [];
  const queue = [...questions];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let q = queue.shift(); q; q = queue.shift()) {
        if ((await canI(sa, q)) !== expected) wrong.push(`${q.verb} ${q.resource}${q.subresource ? `/${q.subresource}` : ''} in ${q.namespace ?? 'all namespaces'}`);
      }
    }),
  );
  return wrong.sort();
}

const MANAGE = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
const READ = ['get', 'list', 'watch'];
/** What the engine (src/cluster/kube.ts) and helm (the Milvus chart and its subcharts) need. */
const NEEDED: Array<[string, string[]]> = [
  ['secrets', MANAGE],
  ['configmaps', MANAGE],
  ['services', MANAGE],
  ['serviceaccounts', MANAGE],
  ['persistentvolumeclaims', MANAGE],
  ['pods', ['get', 'list', 'watch', 'create', 'delete']],
  ['deployments.apps', MANAGE],
  ['statefulsets.apps', MANAGE],
  ['replicasets.apps', READ],
  ['jobs.batch', MANAGE],
  ['poddisruptionbudgets.policy', MANAGE],
];

function neededIn(namespace: string): CanI[] {
  return [
    ...NEEDED.flatMap(([resource, verbs]) => verbs.map((verb) => ({ verb, resource, namespace }))),
    { verb: 'get', resource: 'pods', subresource: 'log', namespace },
  ];
}

describe('bot chart installed on the control plane', () => {
  const suffix = randomBytes(3).toString('hex');
  const release = `mub-${suffix}`;
  const fullname = `${release}-milvus-upgrade-bot`;
  const namespaces: Array<{ name: string; cleanup: () => Promise<void> }> = [];
  let botNs = '';
  let managed: string[] = [];
  let other = '';
  let workerSa = '';
  let botSa = '';
  let installed = false;
  const dir = mkdtempSync(join(tmpdir(), 'bot-chart-kube-'));
  // A milvus-backup server beside the release the CLI test upgrades (none of its containers runs here).
  const installValues = () => ({
    ...NON_DEFAULT(managed),
    kubeconfig: { server: cluster().apiserverUrl },
    image: { repository: 'milvus-upgrade-bot', tag: 'e2e' },
    backupServers: [{ release: 'my-release', namespace: managed[1]!, minio: { existingSecret: 'my-release-minio-keys' } }],
  });

  beforeAll(async () => {
    for (const prefix of ['e2e-mubot', 'e2e-mubm1', 'e2e-mubm2', 'e2e-mubother']) namespaces.push(await newNamespace(prefix));
    [botNs, managed, other] = [namespaces[0]!.name, [namespaces[1]!.name, namespaces[2]!.name], namespaces[3]!.name];
    workerSa = `system:serviceaccount:${botNs}:${fullname}`;
    botSa = `system:serviceaccount:${botNs}:${fullname}-bot`;
    await kubectl(cluster(), ['create', 'secret', 'generic', 'slack-creds', '-n', botNs, '--from-literal=bot-token=xoxb-test', '--from-literal=app-token=xapp-test']);
    await kubectl(cluster(), ['create', 'secret', 'generic', 'my-release-minio-keys', '-n', managed[1]!, '--from-literal=accesskey=minioadmin', '--from-literal=secretkey=minioadmin']);
    const values = installValues();
    await helmT(['install', release, CHART, '-n', botNs, '-f', valuesFile(values), '--wait', '--timeout', '120s']);
    installed = true;
  });

  afterAll(async () => {
    // The ClusterRole and ClusterRoleBinding are cluster-scoped: uninstall, not only namespace deletion.
    if (installed) await helmT(['uninstall', release, '-n', botNs, '--wait', '--timeout', '60s']).catch(onlyIf(NOT_FOUND));
    await Promise.all(namespaces.map((n) => n.cleanup()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs: the bot, the worker and the trial Redis roll out', async () => {
    const out = await kubectl(cluster(), ['get', 'deployments', '-n', botNs, '-o', 'json']);
    const deps = (JSON.parse(out) as { items: Obj[] }).items;
    expect(deps.map((d) => d.metadata.name).sort()).toEqual([`${fullname}-bot`, `${fullname}-redis`, `${fullname}-worker`]);
    for (const d of deps) expect(d.status.readyReplicas, d.metadata.name).toBe(d.spec.replicas);
  });

  it('runs: the milvus-backup server in the release\'s namespace, behind its Service; BACKUP_URL names it', async () => {
    const m = managed[1]!;
    const d = JSON.parse(await kubectl(cluster(), ['get', 'deployment', 'my-release-milvus-backup', '-n', m, '-o', 'json'])) as Obj;
    expect(d.status.readyReplicas).toBe(1);
    expect(d.spec.template.spec.containers[0].image).toBe('milvusdb/milvus-backup:v0.5.16');
    // The Service selects the server's pod: the endpoints controller lists it.
    const pods = (JSON.parse(await kubectl(cluster(), ['get', 'pods', '-n', m, '-l', 'app.kubernetes.io/name=milvus-backup', '-o', 'json'])) as { items: Obj[] }).items;
    expect(pods).toHaveLength(1);
    const slices = JSON.parse(await kubectl(cluster(), ['get', 'endpointslices', '-n', m, '-l', 'kubernetes.io/service-name=my-release-milvus-backup', '-o', 'json'])) as { items: Array<{ endpoints?: Array<{ targetRef?: { name: string } }>; ports?: Array<{ port: number }> }> };
    expect(slices.items.flatMap((e) => (e.endpoints ?? []).map((x) => x.targetRef?.name))).toEqual([pods[0]!.metadata.name]);
    expect(slices.items.flatMap((e) => (e.ports ?? []).map((p) => p.port))).toEqual([8080]);
    const config = await kubectl(cluster(), ['get', 'configmap', 'my-release-milvus-backup', '-n', m, '-o', 'jsonpath={.data.backup\\.yaml}']);
    expect(parse(config).minio.address).toBe(`my-release-minio.${m}.svc`);
    for (const role of ['bot', 'worker']) {
      const env = await kubectl(cluster(), ['get', 'deployment', `${fullname}-${role}`, '-n', botNs, '-o', 'jsonpath={.spec.template.spec.containers[0].env[?(@.name=="BACKUP_URL")].value}']);
      expect(env, role).toBe('http://{release}-milvus-backup.{namespace}.svc:8080');
    }
  });

  it('generated secrets (the seal key, the Redis password) are kept by a helm upgrade', async () => {
    const secretValue = async (name: string, key: string) => (await kubectl(cluster(), ['get', 'secret', name, '-n', botNs, '-o', `jsonpath={.data.${key}}`])).trim();
    const seal = await secretValue(`${fullname}-approval-seal`, 'seal-key');
    const password = await secretValue(`${fullname}-redis`, 'password');
    expect(Buffer.from(seal, 'base64').toString()).toMatch(/^[A-Za-z0-9]{48}$/);
    expect(Buffer.from(password, 'base64').toString()).toMatch(/^[A-Za-z0-9]{48}$/);
    const values = installValues();
    await helmT(['upgrade', release, CHART, '-n', botNs, '-f', valuesFile(values), '--wait', '--timeout', '120s']);
    expect(await secretValue(`${fullname}-approval-seal`, 'seal-key')).toBe(seal);
    expect(await secretValue(`${fullname}-redis`, 'password')).toBe(password);
  });

  it('the worker may do everything the engine and helm need, in every managed namespace', async () => {
    const questions = [...managed.flatMap(neededIn), { verb: 'get', resource: 'storageclasses.storage.k8s.io' }, { verb: 'list', resource: 'storageclasses.storage.k8s.io' }];
    expect(await wrongAnswers(workerSa, questions, true)).toEqual([]);
  });

  it('the worker may do nothing else', async () => {
    const m = managed[0]!;
    const denied: CanI[] = [
      // Outside the managed namespaces (its own namespace included).
      ...[other, botNs, 'kube-system'].flatMap((ns) => [
        { verb: 'get', resource: 'secrets', namespace: ns },
        { verb: 'list', resource: 'secrets', namespace: ns },
        { verb: 'delete', resource: 'deployments.apps', namespace: ns },
        { verb: 'patch', resource: 'deployments.apps', namespace: ns },
        { verb: 'create', resource: 'pods', namespace: ns },
      ]),
      { verb: 'list', resource: 'secrets' }, // cluster-wide
      // Cluster-scoped.
      { verb: 'list', resource: 'nodes' },
      { verb: 'get', resource: 'nodes' },
      { verb: 'delete', resource: 'namespaces' },
      { verb: 'create', resource: 'namespaces' },
      { verb: 'create', resource: 'clusterroles.rbac.authorization.k8s.io' },
      { verb: 'create', resource: 'clusterrolebindings.rbac.authorization.k8s.io' },
      { verb: 'delete', resource: 'storageclasses.storage.k8s.io' },
      { verb: 'create', resource: 'persistentvolumes' },
      // Inside a managed namespace, beyond the need.
      { verb: 'create', resource: 'roles.rbac.authorization.k8s.io', namespace: m },
      { verb: 'create', resource: 'rolebindings.rbac.authorization.k8s.io', namespace: m },
      { verb: 'create', resource: 'pods', subresource: 'exec', namespace: m },
      { verb: 'create', resource: 'pods', subresource: 'portforward', namespace: m },
      { verb: 'patch', resource: 'pods', namespace: m },
      { verb: 'update', resource: 'replicasets.apps', namespace: m },
      { verb: 'create', resource: 'daemonsets.apps', namespace: m },
      { verb: 'delete', resource: 'namespaces', namespace: m },
    ];
    expect(await wrongAnswers(workerSa, denied, false)).toEqual([]);
  });

  it('the bot (split mode) only reads, only in the managed namespaces, and no Secret', async () => {
    const reads = managed.flatMap((namespace) => [
      { verb: 'list', resource: 'deployments.apps', namespace },
      // A plan compares the whole release: its StatefulSets and PVCs too.
      { verb: 'list', resource: 'statefulsets.apps', namespace },
      { verb: 'list', resource: 'persistentvolumeclaims', namespace },
      { verb: 'get', resource: 'configmaps', namespace },
      { verb: 'list', resource: 'services', namespace },
      { verb: 'list', resource: 'pods', namespace },
    ]);
    expect(await wrongAnswers(botSa, reads, true)).toEqual([]);
    const m = managed[0]!;
    const writes: CanI[] = [
      ...['create', 'update', 'delete'].map((verb) => ({ verb, resource: 'secrets', namespace: m })),
      // helm's release records (and the Slack and seal keys beside them) are Secrets.
      ...managed.flatMap((namespace) => ['get', 'list', 'watch'].map((verb) => ({ verb, resource: 'secrets', namespace }))),
      ...['get', 'list'].map((verb) => ({ verb, resource: 'secrets', namespace: botNs })),
      { verb: 'patch', resource: 'deployments.apps', namespace: m },
      { verb: 'delete', resource: 'statefulsets.apps', namespace: m },
      { verb: 'delete', resource: 'persistentvolumeclaims', namespace: m },
      { verb: 'patch', resource: 'configmaps', namespace: m },
      { verb: 'create', resource: 'pods', namespace: m },
      { verb: 'create', resource: 'persistentvolumeclaims', namespace: m },
      { verb: 'list', resource: 'secrets', namespace: other },
      { verb: 'list', resource: 'storageclasses.storage.k8s.io' },
      { verb: 'list', resource: 'nodes' },
    ];
    expect(await wrongAnswers(botSa, writes, false)).toEqual([]);
  });

  /** The chart's own kubeconfig, with this machine's token and CA files in place of the pod's. */
  async function kubeconfigFor(serviceAccount: string): Promise<string> {
    const token = (await kubectl(cluster(), ['create', 'token', serviceAccount, '-n', botNs, '--duration', '1h'])).trim();
    const tokenFile = join(dir, `${serviceAccount}.token`);
    writeFileSync(tokenFile, token, { mode: 0o600 });
    const rendered = await kubectl(cluster(), ['get', 'configmap', `${fullname}-kubeconfig`, '-n', botNs, '-o', 'jsonpath={.data.config}']);
    expect(rendered).toContain(SA_TOKEN_PATH);
    const file = join(dir, `${serviceAccount}.kubeconfig`);
    writeFileSync(file, rendered.replaceAll(SA_TOKEN_PATH, tokenFile).replaceAll(SA_CA_PATH, join(cluster().stateDir, 'certs', 'apiserver.crt')), { mode: 0o600 });
    return file;
  }

  /** The real CLI, as a separate process, with only this kubeconfig. */
  function cliAs(kubeconfig: string, args: string[]): Promise<{ code: number; out: string }> {
    const info = cluster();
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [join(REPO_ROOT, 'bin', 'milvus-upgrade.js'), '--kubeconfig', kubeconfig, '--repo-url', info.chartRepoUrl, ...args],
        // No Milvus serves the release here: the worker's token is what is tested, not the data gate.
        { env: { ...process.env, ...info.helmEnv, LOG_LEVEL: 'warn', MILVUS_DATA_CHECKS: 'off' }, timeout: 170_000, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
          resolve({ code, out: `${stdout}${stderr}` });
        },
      );
    });
  }

  it('is enough for real upgrades: the CLI with only the worker\'s token upgrades by helm and by rolling update', async () => {
    const m = managed[1]!;
    await ensureRepo();
    await installRelease(m, 'my-release', '4.1.24');
    const kc = await kubeconfigFor(fullname);
    expect(readFileSync(kc, 'utf8')).toContain('current-context: in-cluster');

    const status = await cliAs(kc, ['status', 'my-release', '-n', m]);
    expect(status.code, status.out).toBe(0);
    expect(status.out).toMatch(/cluster in-cluster/);

    const byHelm = await cliAs(kc, ['upgrade', 'my-release', '2.4.5', '-n', m, '--yes', '--no-record']);
    expect(byHelm.code, byHelm.out).toBe(0);
    expect(await helmStatus(m, 'my-release')).toMatchObject({ revision: 2, status: 'deployed', chart: 'milvus-4.1.36' });

    const rolling = await cliAs(kc, ['upgrade', 'my-release', '2.4.7', '-n', m, '--strategy', 'rolling', '--yes', '--no-record', '--coordinator-min-ready', '1', '--poll-ms', '200']);
    expect(rolling.code, rolling.out).toBe(0);
    for (const d of await deployments(m, 'my-release')) expect(d.image, d.name).toBe('milvusdb/milvus:v2.4.7');

    // The same token outside the managed namespaces: refused by the API server.
    const outside = await cliAs(kc, ['status', 'my-release', '-n', other]);
    expect(outside.code).not.toBe(0);
    expect(outside.out).toMatch(/forbidden/i);

    // The bot's token reads no Secret, so not helm's records either: plans (and status) are a
    // worker's to read for it; and it cannot change anything.
    const botKc = await kubeconfigFor(`${fullname}-bot`);
    const plan = await cliAs(botKc, ['plan', 'my-release', '2.4.17', '-n', m, '--json']);
    expect(plan.code, plan.out).not.toBe(0);
    expect(plan.out).toMatch(/helm's record of my-release \(its Secrets\) \(403: secrets is forbidden/);
    const before = await helmStatus(m, 'my-release');
    const refused = await cliAs(botKc, ['upgrade', 'my-release', '2.4.17', '-n', m, '--yes', '--no-record']);
    expect(refused.code).not.toBe(0);
    expect(refused.out).toMatch(/forbidden/i);
    expect(await helmStatus(m, 'my-release')).toEqual(before);
    for (const d of await deployments(m, 'my-release')) expect(d.image, d.name).toBe('milvusdb/milvus:v2.4.7');
    // The release's milvus-backup server beside it is no part of the release: the upgrades left it alone.
    const backup = JSON.parse(await kubectl(cluster(), ['get', 'deployment', 'my-release-milvus-backup', '-n', m, '-o', 'json'])) as Obj;
    expect([(backup.metadata as { generation?: number }).generation, backup.spec.template.spec.containers[0].image, backup.spec.paused ?? false]).toEqual([1, 'milvusdb/milvus-backup:v0.5.16', false]);
    // An install and two upgrades of a release that now has its Pulsar/etcd/minio StatefulSets,
    // PVCs, readiness delays and grace times: ~75 s alone, past 180 s beside other files.
  }, 360_000);
});
