import { describe, expect, it } from 'vitest';
import { backupAccessOf, ConfigError, loadConfig, milvusAccessOf } from '../../src/config.js';

const KEY = { APPROVAL_SEAL_KEY: 'k'.repeat(32) };
const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('configuration from the environment', () => {
  it('names every missing setting of the bot role, one line each', () => {
    expect(problems({})).toEqual([
      'SLACK_BOT_TOKEN: required for the bot role',
      'SLACK_SIGNING_SECRET: required in HTTP mode',
      'ACCESS_CONFIG: required for the bot role (path of the access YAML; deny by default)',
    ]);
    expect(problems({ SLACK_MODE: 'socket', SLACK_BOT_TOKEN: 'x', ACCESS_CONFIG: '/a' })).toEqual(['SLACK_APP_TOKEN: required in Socket Mode']);
  });

  it('names invalid values', () => {
    const p = problems({ ROLES: 'worker,chef', PORT: 'eighty', REDIS_URL: 'not a url', APPROVALS_NEEDED: '-1' });
    expect(p.join('\n')).toMatch(/ROLES: unknown role "chef"/);
    expect(p.join('\n')).toMatch(/PORT:/);
    expect(p.join('\n')).toMatch(/REDIS_URL:/);
    expect(p.join('\n')).toMatch(/APPROVALS_NEEDED:/);
  });

  it('a worker needs no Slack settings; defaults are the documented ones', () => {
    const c = loadConfig({ ROLES: 'worker', ...KEY });
    expect([...c.roles]).toEqual(['worker']);
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.plan.repoName).toBe('zilliztech');
    expect(c.plan.repoUrl).toBe('https://zilliztech.github.io/milvus-helm');
    expect(c.approvals).toEqual({ needed: 1, allowSelf: false, ttlMs: 3_600_000, rollbackNeeded: 1 });
    expect(c.slack.port).toBe(3000);
  });

  it('reads the settings the issue lists', () => {
    const c = loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', SLACK_API_URL: 'http://127.0.0.1:9/api/', PORT: '8080', REDIS_URL: 'redis://r:6379/2',
      KUBECONFIG: '/k', ACCESS_CONFIG: '/a.yaml', MILVUS_CHART_REPO_NAME: 'mine', MILVUS_CHART_REPO_URL: 'http://charts.local', ALLOW_SELF_APPROVAL: 'true', REQUEST_TTL_MINUTES: '5',
    });
    expect(c.slack).toMatchObject({ botToken: 'xoxb-1', signingSecret: 's', apiUrl: 'http://127.0.0.1:9/api/', port: 8080, accessConfigPath: '/a.yaml' });
    expect(c.kubeconfig).toBe('/k');
    expect(c.plan).toMatchObject({ repoName: 'mine', repoUrl: 'http://charts.local' });
    expect(c.approvals).toEqual({ needed: 1, allowSelf: true, ttlMs: 300_000, rollbackNeeded: 1 });
  });

  it('ROLLBACK_APPROVALS: one by default, none only when set to 0, and checked', () => {
    expect(loadConfig({ ROLES: 'worker', ...KEY }).approvals.rollbackNeeded).toBe(1);
    // No approvals for upgrades does not mean none for rollbacks.
    expect(loadConfig({ ROLES: 'worker', ...KEY, APPROVALS_NEEDED: '0' }).approvals.rollbackNeeded).toBe(1);
    expect(loadConfig({ ROLES: 'worker', ...KEY, ROLLBACK_APPROVALS: '0' }).approvals.rollbackNeeded).toBe(0);
    expect(loadConfig({ ROLES: 'worker', ...KEY, ROLLBACK_APPROVALS: '2' }).approvals.rollbackNeeded).toBe(2);
    expect(problems({ ROLES: 'worker', ...KEY, ROLLBACK_APPROVALS: 'none' }).join('\n')).toMatch(/ROLLBACK_APPROVALS:/);
  });

  it('the approval seal key: required when bot and worker run apart, from a file or the value, 32 characters or more', () => {
    const missing = /APPROVAL_SEAL_KEY_FILE: required when the bot and the worker run in separate processes/;
    expect(problems({ ROLES: 'worker' }).join('\n')).toMatch(missing);
    expect(problems({ ROLES: 'bot,planner', SLACK_BOT_TOKEN: 'x', SLACK_SIGNING_SECRET: 's', ACCESS_CONFIG: '/a' }).join('\n')).toMatch(missing);
    // One process plays both: it may seal with a key of its own.
    expect(loadConfig({ ROLES: 'bot,worker', SLACK_BOT_TOKEN: 'x', SLACK_SIGNING_SECRET: 's', ACCESS_CONFIG: '/a' }).approvalSeal).toEqual({});
    expect(loadConfig({ ROLES: 'planner' }).approvalSeal).toEqual({});
    expect(loadConfig({ ROLES: 'worker', APPROVAL_SEAL_KEY_FILE: '/run/secrets/seal/key' }).approvalSeal).toEqual({ keyFile: '/run/secrets/seal/key' });
    expect(problems({ ROLES: 'worker', APPROVAL_SEAL_KEY: 'short' }).join('\n')).toMatch(/APPROVAL_SEAL_KEY: the approval seal key needs 32 characters or more/);
  });
});

describe('where Milvus is (issue 26)', () => {
  const worker = { ROLES: 'worker', ...KEY };

  it('reads the proxy Service in the cluster by default, the checks required, 10 minutes for the data gate', () => {
    const c = loadConfig(worker);
    expect(c.milvus).toEqual({ checks: 'required', address: '{fullname}.{namespace}.svc:19530', addressByCluster: {}, addressByRelease: {}, credentialsSecret: null, tls: false });
    expect(c.plan.dataTimeoutSeconds).toBe(600);
    expect(milvusAccessOf(c.milvus, undefined).addressTemplate).toBe('{fullname}.{namespace}.svc:19530');
  });

  it('takes a template per cluster, a fixed gateway, a credentials Secret and TLS', () => {
    const c = loadConfig({ ...worker, MILVUS_ADDRESS: 'gateway.example.com:443', MILVUS_ADDRESS_BY_CLUSTER: 'prod=milvus-{release}.{namespace}.prod.internal:19530', MILVUS_CREDENTIALS_SECRET: '{release}-milvus-auth', MILVUS_TLS: 'true', DATA_TIMEOUT_SECONDS: '30' });
    expect(milvusAccessOf(c.milvus, 'prod')).toEqual({ checks: 'required', addressTemplate: 'milvus-{release}.{namespace}.prod.internal:19530', byRelease: {}, credentialsSecret: '{release}-milvus-auth', tls: true });
    expect(milvusAccessOf(c.milvus, 'staging').addressTemplate).toBe('gateway.example.com:443');
    expect(c.plan.dataTimeoutSeconds).toBe(30);
  });

  it('refuses an address that is not host:port and a checks mode it does not know', () => {
    expect(problems({ ...worker, MILVUS_ADDRESS: 'http://{release}:19530' })).toEqual(['MILVUS_ADDRESS: host:port once {release}, {namespace} and {fullname} are replaced']);
    expect(problems({ ...worker, MILVUS_ADDRESS_BY_CLUSTER: 'prod' })).toEqual(['MILVUS_ADDRESS_BY_CLUSTER: "prod" is not context=host:port']);
    expect(problems({ ...worker, MILVUS_DATA_CHECKS: 'sometimes' })[0]).toMatch(/^MILVUS_DATA_CHECKS: /);
  });

  it('backups (issue 27): none by default, one-way, an hour; a URL template per cluster; bad URLs and policies refused', () => {
    const none = loadConfig(worker);
    expect(none.backups).toEqual({ url: null, urlByCluster: {}, urlByRelease: {}, policy: 'one-way' });
    expect(none.plan.backupTimeoutSeconds).toBe(3600);
    expect(backupAccessOf(none.backups, undefined)).toEqual({ urlTemplate: null, byRelease: {}, policy: 'one-way' });
    const c = loadConfig({ ...worker, BACKUP_URL: 'http://milvus-backup-{release}.tools.svc:8080', BACKUP_URL_BY_CLUSTER: 'prod=https://backup.prod.internal', BACKUP_POLICY: 'always', BACKUP_TIMEOUT_SECONDS: '600' });
    expect(backupAccessOf(c.backups, 'prod')).toEqual({ urlTemplate: 'https://backup.prod.internal', byRelease: {}, policy: 'always' });
    expect(backupAccessOf(c.backups, 'staging').urlTemplate).toBe('http://milvus-backup-{release}.tools.svc:8080');
    expect(c.plan.backupTimeoutSeconds).toBe(600);
    expect(problems({ ...worker, BACKUP_URL: 'ftp://backup:21' })).toEqual(['BACKUP_URL: an http(s) URL once {release}, {namespace} and {fullname} are replaced']);
    // Credentials in the URL would be in every plan and card: refused.
    expect(problems({ ...worker, BACKUP_URL: 'http://admin:pw@backup:8080' })).toHaveLength(1);
    expect(problems({ ...worker, BACKUP_URL_BY_CLUSTER: 'prod=backup:8080' })).toEqual(['BACKUP_URL_BY_CLUSTER: "prod=backup:8080" is not context=http(s)://host:port']);
    expect(problems({ ...worker, BACKUP_POLICY: 'sometimes' })[0]).toMatch(/^BACKUP_POLICY: /);
  });

  it('a restore\'s new release (issue 27): its own Milvus address and milvus-backup server per namespace/release, checked', () => {
    const c = loadConfig({ ...worker, BACKUP_URL: 'http://{release}-milvus-backup.{namespace}.svc:8080', BACKUP_URL_BY_RELEASE: 'prod/road-restored=http://restore.tools.svc:8080', MILVUS_ADDRESS_BY_RELEASE: 'prod/road-restored=10.0.0.9:19530' });
    expect(backupAccessOf(c.backups, undefined).byRelease).toEqual({ 'prod/road-restored': 'http://restore.tools.svc:8080' });
    expect(milvusAccessOf(c.milvus, undefined).byRelease).toEqual({ 'prod/road-restored': '10.0.0.9:19530' });
    expect(problems({ ...worker, BACKUP_URL_BY_RELEASE: 'road-restored=http://restore:8080' })).toEqual(['BACKUP_URL_BY_RELEASE: "road-restored=http://restore:8080" is not namespace/release=http(s)://host:port']);
    expect(problems({ ...worker, MILVUS_ADDRESS_BY_RELEASE: 'prod/Road=host:19530' })).toEqual(['MILVUS_ADDRESS_BY_RELEASE: "prod/Road=host:19530" is not namespace/release=host:port']);
  });
});
