#!/usr/bin/env node
/**
 * The engine from a terminal: versions, status, plan, upgrade, rollback.
 * Exit codes: 0 done, 1 failed, 2 refused (bad input or preflight; nothing changed).
 */
import { Command, CommanderError, Option } from 'commander';
import { dataText, planJson, planText, statusText, versionsText } from './plan-text.js';
import { milvusEndpoint, readMilvus } from './cli-milvus.js';
import { InputError, UpgradeError, explainError, showInput } from './upgrade/errors.js';
import { DEFAULT_PLAN_SETTINGS, runningVersion, type PlanSettings } from './upgrade/plan.js';
import { addressFromTemplate, DEFAULT_MILVUS_ADDRESS } from './upgrade/data-snapshot.js';
import { isBackupUrl } from './upgrade/backup.js';
import { backupServerItem } from './upgrade/milvus/backup-server.js';
import { listVersions, makeRestorePlan, makeRollbackPlan, makeUpgradePlan, observeRelease, parseChartVersion, parseStrategy } from './upgrade/planner/service.js';
import { restoredName } from './upgrade/planner/backup-plan.js';
import { parseSelector } from './upgrade/fleet/selector.js';
import { DEFAULT_WAVES, parseWaves } from './upgrade/fleet/waves.js';
import { fleetMembers, fleetPlanJson, fleetPlanText, planFleet } from './upgrade/fleet/fleet-plan.js';
import { validateNamespace, validateReleaseName } from './upgrade/milvus/names.js';
import { parseVersion } from './upgrade/milvus/version.js';
import type { GlobalOpts, PlanOpts } from './cli-options.js';

const EXIT = { done: 0, failed: 1, refused: 2 } as const;

function seconds(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 86_400) throw new UpgradeError('bad-input', `--${name} takes whole seconds (0 to 86400), not "${text}"`);
  return n;
}

function settingsFrom(o: Partial<PlanOpts> & GlobalOpts): PlanSettings {
  const d = DEFAULT_PLAN_SETTINGS;
  return {
    repoName: o.repoName,
    repoUrl: o.repoUrl,
    helmTimeoutSeconds: o.helmTimeout ? seconds(o.helmTimeout, 'helm-timeout') : d.helmTimeoutSeconds,
    rolloutTimeoutSeconds: o.rolloutTimeout ? seconds(o.rolloutTimeout, 'rollout-timeout') : d.rolloutTimeoutSeconds,
    coordinatorMinReadySeconds: o.coordinatorMinReady ? seconds(o.coordinatorMinReady, 'coordinator-min-ready') : d.coordinatorMinReadySeconds,
    healthSettleSeconds: o.settle ? seconds(o.settle, 'settle') : d.healthSettleSeconds,
    dataTimeoutSeconds: o.dataTimeout ? seconds(o.dataTimeout, 'data-timeout') : d.dataTimeoutSeconds,
    backupTimeoutSeconds: o.backupTimeout ? seconds(o.backupTimeout, 'backup-timeout') : d.backupTimeoutSeconds,
    migration: {
      image: o.migrationImage ?? d.migration.image,
      rootPath: o.metaRootPath ?? d.migration.rootPath,
      storageClass: o.storageClass ?? null,
      etcdEndpoint: o.etcdEndpoint ?? null,
      sessionFallbackSeconds: o.sessionWait ? seconds(o.sessionWait, 'session-wait') : d.migration.sessionFallbackSeconds,
      deleteResourcesWhenDone: Boolean(o.deleteMigrationResources),
      podTimeoutSeconds: d.migration.podTimeoutSeconds,
    },
  };
}

/** Refuses bad input before anything (even the kubeconfig) is read. */
function validate(o: Partial<PlanOpts>, release: string, version?: string): void {
  validateReleaseName(release);
  validateNamespace(o.namespace ?? 'default');
  if (version !== undefined) parseVersion(version);
  parseStrategy(o.strategy);
  parseChartVersion(o.chart);
  if (o.backupUrl && !isBackupUrl(addressFromTemplate(o.backupUrl, { release, namespace: o.namespace ?? 'default', fullname: release }))) {
    throw new InputError(`--backup-url "${showInput(o.backupUrl, 60)}" is not a milvus-backup URL`, ['write it like http://milvus-backup.milvus.svc:8080 (http or https, no credentials, no query)']);
  }
}

function upgradeInput(o: PlanOpts, release: string, version: string, actorId: string) {
  return {
    release,
    namespace: o.namespace,
    version,
    strategy: o.strategy,
    chart: o.chart,
    allowDataChanges: o.allowDataChanges ? { by: actorId } : null,
    withoutDataChecks: o.withoutDataChecks ? { by: actorId } : null,
    withoutBackup: o.withoutBackup ? { by: actorId } : null,
  };
}

/** The cluster side, loaded when a command runs (cli-connect.ts). */
const cluster = () => import('./cli-connect.js');
/** Running a plan: Redis and the queue's record, loaded only by upgrade and rollback (cli-run.ts). */
const actions = () => import('./cli-run.js');

async function connect(o: Partial<PlanOpts> & GlobalOpts) {
  return (await cluster()).connect(o, settingsFrom(o));
}

function print(o: { json?: boolean }, json: unknown, text: string): void {
  process.stdout.write(`${o.json ? JSON.stringify(json, null, 2) : text}\n`);
}

function requireYes(o: PlanOpts, what: string): void {
  if (!o.yes) throw new UpgradeError('bad-input', `${what} changes the cluster: add --yes to go ahead (see the plan first with "plan")`);
}

export function buildProgram(): Command {
  const program = new Command('milvus-upgrade')
    .description('Upgrade Milvus releases on Kubernetes by the official procedure')
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context, i.e. which cluster (default: current)')
    .addOption(new Option('--repo-name <name>', 'helm chart repository name').default(process.env.MILVUS_CHART_REPO_NAME ?? DEFAULT_PLAN_SETTINGS.repoName))
    .addOption(new Option('--repo-url <url>', 'helm chart repository URL').default(process.env.MILVUS_CHART_REPO_URL ?? DEFAULT_PLAN_SETTINGS.repoUrl))
    .addOption(new Option('--helm-bin <path>', 'helm binary').env('HELM_BIN'))
    .exitOverride()
    .showHelpAfterError();

  const withPlanOptions = (cmd: Command) =>
    cmd
      .option('-n, --namespace <ns>', 'namespace of the release', 'default')
      .option('--strategy <path>', 'helm (components in Milvus\'s order) | helm-parallel (all at once, as plain helm) | rolling | migrate')
      .option('--chart <version>', 'helm path: this chart version instead of the bot\'s choice')
      .option('--allow-data-changes', 'allow a plan that deletes or replaces a StatefulSet or PVC or switches the message queue (recorded); never the default')
      .addOption(new Option('--milvus-address <host:port>', 'where Milvus answers, for the data snapshot and the data gate ({release}, {namespace}, {fullname} replaced)').env('MILVUS_ADDRESS').default(DEFAULT_MILVUS_ADDRESS))
      .addOption(new Option('--milvus-credentials-secret <name>', 'Secret in the release\'s namespace with token, or username and password (else MILVUS_TOKEN, or MILVUS_USER and MILVUS_PASSWORD)').env('MILVUS_CREDENTIALS_SECRET'))
      .addOption(new Option('--data-checks <mode>', 'required: a Milvus that cannot be read needs --without-data-checks; off: never read').choices(['required', 'off']).env('MILVUS_DATA_CHECKS').default('required'))
      .option('--without-data-checks', 'run although Milvus cannot be read: no data snapshot, no data gate (recorded); never the default')
      .addOption(new Option('--backup-url <url>', 'the release\'s milvus-backup server, for the backup before a step that cannot be undone ({release}, {namespace}, {fullname} replaced)').env('BACKUP_URL'))
      .addOption(new Option('--backup-policy <policy>', 'one-way: a backup before steps that cannot be undone (required into 3.0); always: before every upgrade, required').choices(['one-way', 'always']).env('BACKUP_POLICY').default('one-way'))
      .option('--without-backup', 'run a plan that requires a backup without one (recorded); never the default')
      .addOption(new Option('--backup-timeout <s>', 'how long the backup before a hop may take').env('BACKUP_TIMEOUT_SECONDS').default(String(DEFAULT_PLAN_SETTINGS.backupTimeoutSeconds)))
      .addOption(new Option('--data-timeout <s>', 'data gate: how long loaded collections may take to be loaded again after each hop').env('DATA_TIMEOUT_SECONDS').default(String(DEFAULT_PLAN_SETTINGS.dataTimeoutSeconds)))
      .option('--etcd-endpoint <host:port>', 'migration: etcd endpoint (default: the release etcd Service)')
      .option('--storage-class <name>', 'migration: storage class of the backup PVC (default: the default class)')
      .option('--migration-image <image>', 'migration: meta-migration image', DEFAULT_PLAN_SETTINGS.migration.image)
      .option('--meta-root-path <path>', "migration: etcd root path (default: the one the release's config names, by-dev when none)")
      .option('--delete-migration-resources', 'migration: delete pods, PVC and ConfigMaps when done (no rollback afterwards)')
      .option('--session-wait <s>', 'migration: wait when etcd cannot be reached to watch the sessions', String(DEFAULT_PLAN_SETTINGS.migration.sessionFallbackSeconds))
      .option('--helm-timeout <s>', 'helm --timeout', String(DEFAULT_PLAN_SETTINGS.helmTimeoutSeconds))
      .option('--rollout-timeout <s>', 'how long one Deployment may take to roll out', String(DEFAULT_PLAN_SETTINGS.rolloutTimeoutSeconds))
      .option('--coordinator-min-ready <s>', 'rolling: minReadySeconds for coordinators', String(DEFAULT_PLAN_SETTINGS.coordinatorMinReadySeconds))
      .addOption(new Option('--settle <s>', 'health gate: how long every pod must stay ready, without restarts, after each hop').env('HEALTH_SETTLE_SECONDS').default(String(DEFAULT_PLAN_SETTINGS.healthSettleSeconds)))
      .option('--poll-ms <ms>', 'how often waits re-read the cluster', '500')
      .addOption(new Option('--redis-url <url>', 'Redis holding the audit trail and the queue').env('REDIS_URL').default('redis://127.0.0.1:6379'))
      .addOption(new Option('--key-prefix <prefix>', 'prefix of the Redis keys').env('KEY_PREFIX').default('mub:'))
      .option('--no-record', 'run without recording in the audit trail (when Redis is down)')
      .option('--queue', 'hand the run to the worker queue and follow it, instead of running here')
      .addOption(new Option('--seal-key-file <path>', "with --queue: the deployment's approval seal key (the bot chart's Secret), which the workers check").env('APPROVAL_SEAL_KEY_FILE'))
      .addOption(new Option('--seal-key <key>').env('APPROVAL_SEAL_KEY').hideHelp())
      .option('--json', 'print JSON');

  program
    .command('versions')
    .description('Milvus versions the chart repository offers, with the newest chart for each')
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const o = cmd.optsWithGlobals<GlobalOpts>();
      const versions = await listVersions(await connect(o));
      print(o, versions, versionsText(versions));
    });

  program
    .command('status <release>')
    .description('what the release runs now')
    .option('-n, --namespace <ns>', 'namespace of the release', 'default')
    .option('--json', 'print JSON')
    .option('--milvus-address <host:port>', 'also read Milvus itself: health, collections, load states, row counts (credentials from MILVUS_TOKEN, or MILVUS_USER and MILVUS_PASSWORD)')
    .action(async (release: string, _o, cmd: Command) => {
      const o = cmd.optsWithGlobals<PlanOpts & { milvusAddress?: string }>();
      validate(o, release);
      const endpoint = o.milvusAddress === undefined ? null : milvusEndpoint(o.milvusAddress);
      const state = await observeRelease(await connect(o), o.namespace, release);
      const running = runningVersion(state).text;
      const milvus = endpoint ? await readMilvus(endpoint) : null;
      print(o, { ...state, running, ...(milvus ? { milvus } : {}) }, [statusText(state, running), ...(milvus ? [dataText(milvus)] : [])].join('\n'));
    });

  program
    .command('backup-server <release>')
    .description("the bot chart's backupServers item for the release: where its data is, read from its Milvus config (a helm values file: -f)")
    .option('-n, --namespace <ns>', 'namespace of the release', 'default')
    .action(async (release: string, _o, cmd: Command) => {
      const o = cmd.optsWithGlobals<PlanOpts>();
      validate(o, release);
      const conn = await connect(o);
      const state = await observeRelease(conn, o.namespace, release);
      // helm's record of what it applied: its ConfigMaps come with their files read.
      const item = backupServerItem(state, await conn.helm.manifest(o.namespace, release));
      if ('problem' in item) throw new UpgradeError('preflight', item.problem, ['write the item by hand: see backupServers in the bot chart\'s values.yaml']);
      // JSON is YAML: helm takes it as a values file as it is.
      process.stdout.write(`${JSON.stringify({ backupServers: [item] }, null, 2)}\n`);
    });

  withPlanOptions(program.command('plan <release> <version>').description('show what an upgrade would do; changes nothing')).action(
    async (release: string, version: string, _o, cmd: Command) => {
      const o = cmd.optsWithGlobals<PlanOpts>();
      validate(o, release, version);
      const plan = await makeUpgradePlan(await connect(o), upgradeInput(o, release, version, (await cluster()).cliActor().id));
      print(o, planJson(plan), planText(plan));
    },
  );

  withPlanOptions(program.command('upgrade <release> <version>').description('plan and run an upgrade'))
    .option('--yes', 'run it (without: refuse)')
    .action(async (release: string, version: string, _o, cmd: Command) => {
      const o = cmd.optsWithGlobals<PlanOpts>();
      validate(o, release, version);
      requireYes(o, 'upgrade');
      const run = await actions();
      const conn = await connect(o);
      const plan = await makeUpgradePlan(conn, upgradeInput(o, release, version, (await cluster()).cliActor().id));
      await run.execute(conn, plan, o);
    });

  withPlanOptions(program.command('rollback <release>').description('undo the last upgrade of the release; without --yes, show how'))
    .option('--yes', 'run it (without: print the rollback plan, change nothing)')
    .action(async (release: string, _o, cmd: Command) => {
      const o = cmd.optsWithGlobals<PlanOpts>();
      validate(o, release);
      const conn = await connect(o);
      const plan = await makeRollbackPlan(conn, o.namespace, release);
      if (!o.yes) {
        // As `plan` shows an upgrade: the rollback that --yes would run, and nothing changed.
        print(o, planJson(plan), planText(plan));
        process.stderr.write('nothing was changed: add --yes to run this rollback\n');
        return;
      }
      const run = await actions();
      await run.execute(conn, plan, o);
    });

  withPlanOptions(program.command('restore <release>').description('restore a backup of the release into a NEW release at the Milvus version it was taken from; without --yes, show the plan'))
    .requiredOption('--backup <name>', 'the milvus-backup backup (e.g. the one an upgrade took before a step that cannot be undone)')
    .option('--into <release>', 'the new release (default: <release>-restored)')
    .option('--restore-url <url>', 'the milvus-backup server that writes into the new release (default: --backup-url for it)')
    .option('--into-milvus-address <host:port>', 'where the new release\'s Milvus answers, for the data gate (default: --milvus-address for it)')
    .option('--yes', 'run it (without: print the restore plan, change nothing)')
    .action(async (release: string, _o, cmd: Command) => {
      const o = cmd.optsWithGlobals<PlanOpts>();
      validate(o, release);
      if (o.into) validateReleaseName(o.into);
      if (o.restoreUrl !== undefined && !isBackupUrl(o.restoreUrl)) throw new InputError(`--restore-url "${showInput(o.restoreUrl, 60)}" is not a milvus-backup URL`);
      const into = o.into ?? restoredName(release);
      const conn = await connect({ ...o, into });
      const plan = await makeRestorePlan(conn, { namespace: o.namespace, release, backup: o.backup!, into });
      if (!o.yes) {
        print(o, planJson(plan), planText(plan));
        process.stderr.write('nothing was changed: add --yes to run this restore\n');
        return;
      }
      const run = await actions();
      await run.execute(conn, plan, o);
    });

  type FleetOpts = PlanOpts & { select: string; waves: string; maxInFlight: string; label: string[] };
  const withFleetOptions = (cmd: Command) =>
    withPlanOptions(cmd)
      .requiredOption('--select <selector>', 'namespace glob / release glob, e.g. team-*/milvus-*')
      .option('-l, --label <key=value>', 'only releases with this label (helm install --labels); repeat or join with commas', (v: string, all: string[]) => [...all, v], [] as string[])
      .option('--waves <marks>', 'how far the fleet has got after each wave: counts or shares, growing, the last 100%', DEFAULT_WAVES)
      .option('--max-in-flight <n>', 'releases of one wave upgraded at once, at most', '5');
  /** Every release the selector names, planned on its own and cut into waves. */
  const planTheFleet = async (version: string, o: FleetOpts) => {
    parseVersion(version);
    const selector = parseSelector(o.select, o.label);
    const marks = parseWaves(o.waves);
    const maxInFlight = Number(o.maxInFlight);
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1 || maxInFlight > 100) throw new InputError(`--max-in-flight "${showInput(o.maxInFlight, 10)}" is not a number from 1 to 100`);
    const conn = await connect(o);
    const members = fleetMembers(conn.clusterName, await conn.releases(), selector);
    const actor = (await cluster()).cliActor().id;
    const plan = await planFleet({ version, selector: selector.text, marks, maxInFlight }, members, (m) => makeUpgradePlan(conn, upgradeInput({ ...o, namespace: m.namespace }, m.release, version, actor)));
    return { conn, plan };
  };

  const fleet = program.command('fleet').description('many releases at once, in waves, the canary first');
  withFleetOptions(fleet.command('plan <version>').description('plan every Milvus release the selector names, in waves, the canary first; changes nothing')).action(async (version: string, _o, cmd: Command) => {
    const o = cmd.optsWithGlobals<FleetOpts>();
    const { conn, plan } = await planTheFleet(version, o);
    conn.close();
    print(o, fleetPlanJson(plan), fleetPlanText(plan));
  });
  fleet
    .command('status [fleet-id]')
    .description('a fleet as it stands (waves, each release\'s state, the halt, the left out), or the fleets not ended')
    .addOption(new Option('--redis-url <url>', 'Redis holding the audit trail and the queue').env('REDIS_URL').default('redis://127.0.0.1:6379'))
    .addOption(new Option('--key-prefix <prefix>', 'prefix of the Redis keys').env('KEY_PREFIX').default('mub:'))
    .option('--json', 'print JSON')
    .action(async (id: string | undefined, _o, cmd: Command) => {
      const o = cmd.optsWithGlobals<PlanOpts>();
      if (id !== undefined && !/^fleet-\d{1,15}$/.test(id)) throw new InputError(`"${showInput(id, 30)}" is not a fleet id (fleet-<number>)`);
      await (await actions()).fleetStatus(o, id);
    });
  withFleetOptions(fleet.command('upgrade <version>').description('plan and run the fleet: wave after wave, a wave only once every release of the one before succeeded; a failure halts it'))
    .option('--yes', 'run it (without: refuse)')
    .action(async (version: string, _o, cmd: Command) => {
      const o = cmd.optsWithGlobals<FleetOpts>();
      parseVersion(version);
      parseSelector(o.select, o.label);
      parseWaves(o.waves);
      requireYes(o, 'fleet upgrade');
      const { conn, plan } = await planTheFleet(version, o);
      const run = await actions();
      await run.executeFleet(conn, plan, o.waves, o);
    });

  return program;
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof UpgradeError) return err.code === 'bad-input' || err.code === 'preflight' ? EXIT.refused : EXIT.failed;
  return EXIT.failed;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.done;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return EXIT.done;
      return EXIT.refused;
    }
    const code = exitCodeOf(err);
    process.stderr.write(`${code === EXIT.refused ? 'refused' : 'error'}: ${explainError(err)}\n`);
    return code;
  }
}

const invokedDirectly = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (invokedDirectly) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
