/**
 * `/milvus ...` text -> a typed command, or a short refusal saying what is wrong and the right
 * form. Words are split on white space only: nothing here is ever given to a shell.
 */
import { InputError, UpgradeError, showInput } from '../upgrade/errors.js';
import { validateNamespace, validateReleaseName } from '../upgrade/milvus/names.js';
import { parseChartVersion, parseStrategy } from '../upgrade/planner/service.js';
import type { Strategy } from '../upgrade/plan.js';
import { parseVersion } from '../upgrade/milvus/version.js';
import { parseSelector, type FleetSelector } from '../upgrade/fleet/selector.js';
import { DEFAULT_WAVES, parseWaves } from '../upgrade/fleet/waves.js';

export interface Target {
  /** kubeconfig context; undefined: the bot's default cluster. */
  readonly cluster?: string;
  readonly namespace: string;
  readonly release: string;
}

interface VersionArgs {
  readonly version: string;
  readonly strategy?: Strategy;
  /** A chart version instead of the bot's choice. */
  readonly chart?: string;
  /** Asks for the data guard's override; only an approver may give it. */
  readonly allowDataChanges?: true;
  /** An approver's override for a Milvus the bot cannot read (issue 26). */
  readonly withoutDataChecks?: true;
  /** An approver's override for a plan that requires a backup and has no milvus-backup service (issue 27). */
  readonly withoutBackup?: true;
}

export type Command =
  | { readonly name: 'help' }
  | { readonly name: 'versions'; readonly cluster?: string }
  | ({ readonly name: 'status' } & Target)
  | ({ readonly name: 'cancel' } & Target)
  | ({ readonly name: 'rollback' } & Target)
  | ({ readonly name: 'history' } & Target)
  /** `windows [release]`: the maintenance windows and freezes that apply (issue 28). */
  | { readonly name: 'windows'; readonly cluster?: string; readonly namespace: string; readonly release?: string }
  | ({ readonly name: 'plan' } & Target & VersionArgs)
  | ({ readonly name: 'upgrade' } & Target & VersionArgs)
  /** `fleet plan` (a preview) and `fleet upgrade` (a fleet card to approve): every release a selector names, in waves (issue 28). */
  | { readonly name: 'fleet'; readonly action: 'plan' | 'upgrade'; readonly cluster?: string; readonly version: string; readonly selector: FleetSelector; readonly waves: string; readonly maxInFlight: number }
  /** `fleet status [fleet-id]`: one fleet, or the fleets not ended. */
  | { readonly name: 'fleet'; readonly action: 'status'; readonly id?: string };

export const USAGE: Readonly<Record<string, string>> = {
  help: '/milvus help',
  versions: '/milvus versions [-c cluster]',
  status: '/milvus status <release> [-n namespace] [-c cluster]',
  plan: '/milvus plan <release> <version> [--strategy helm|helm-parallel|rolling|migrate] [--chart version] [-n namespace] [-c cluster]',
  upgrade: '/milvus upgrade <release> <version> [--strategy helm|helm-parallel|rolling|migrate] [--chart version] [--allow-data-changes] [--without-data-checks] [--without-backup] [-n namespace] [-c cluster]',
  cancel: '/milvus cancel <release> [-n namespace] [-c cluster]',
  rollback: '/milvus rollback <release> [-n namespace] [-c cluster]',
  history: '/milvus history <release> [-n namespace] [-c cluster]',
  windows: '/milvus windows [release] [-n namespace] [-c cluster]',
  fleet: '/milvus fleet plan|upgrade <version> --select <namespace glob>/<release glob> [-l key=value,...] [--waves 1,25%,100%] [--max-in-flight 5] [-c cluster] · /milvus fleet status [fleet-id]',
};

const MAX_TEXT = 500;
const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@:/-]{0,252}$/;

export class UsageError extends InputError {
  constructor(problem: string, readonly usage: string) {
    super(problem, [`usage: ${usage}`]);
  }
}

export function helpText(): string {
  return ['Milvus upgrades from Slack:', ...Object.values(USAGE).map((u) => `• \`${u}\``)].join('\n');
}

export function parseCommand(text: unknown): Command {
  if (typeof text !== 'string') throw new UsageError('the command text is missing', USAGE.help!);
  if (text.length > MAX_TEXT) throw new UsageError(`the command is too long (${text.length} characters)`, USAGE.help!);
  const words = text.trim().split(/\s+/).filter(Boolean);
  const name = (words.shift() ?? 'help').toLowerCase();
  // Own keys only: "constructor" or "__proto__" are not commands.
  const usage = Object.hasOwn(USAGE, name) ? USAGE[name] : undefined;
  if (!usage) throw new UsageError(`unknown command "${show(name)}"`, Object.values(USAGE).join('\n'));
  const options: Record<string, string> = {};
  const positional: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const flag = Object.hasOwn(FLAGS, w) ? FLAGS[w] : undefined;
    const switchName = Object.hasOwn(SWITCHES, w) ? SWITCHES[w] : undefined;
    if (switchName) {
      if (options[switchName] !== undefined) throw new UsageError(`${w} is given twice`, usage);
      options[switchName] = 'true';
    } else if (flag) {
      const value = words[++i];
      if (value === undefined || value.startsWith('-')) throw new UsageError(`${w} needs a value`, usage);
      if (options[flag] !== undefined) throw new UsageError(`${w} is given twice`, usage);
      options[flag] = value;
    } else if (w.startsWith('-') && w.length > 1 && !/^-?\d/.test(w)) {
      throw new UsageError(`unknown option "${show(w)}"`, usage);
    } else {
      positional.push(w);
    }
  }
  const allowed = ALLOWED[name]!;
  for (const k of Object.keys(options)) if (!allowed.includes(k)) throw new UsageError(`${k} does not apply to ${name}`, usage);
  try {
    const cluster = options.cluster === undefined ? undefined : validateCluster(options.cluster);
    const expect = (n: number) => {
      if (positional.length !== n) {
        throw new UsageError(positional.length < n ? `missing ${n === 2 && positional.length === 1 ? 'the version' : 'the release name'}` : `unexpected "${show(positional[n]!)}"`, usage);
      }
    };
    if (name === 'help') return { name: 'help' };
    if (name === 'versions') {
      expect(0);
      return { name: 'versions', ...(cluster ? { cluster } : {}) };
    }
    const base = () => ({
      release: validateReleaseName(positional[0]!),
      namespace: validateNamespace(options.namespace ?? 'default'),
      ...(cluster ? { cluster } : {}),
    });
    if (name === 'windows') {
      if (positional.length > 1) throw new UsageError(`unexpected "${show(positional[1]!)}"`, usage);
      return { name: 'windows', namespace: validateNamespace(options.namespace ?? 'default'), ...(positional[0] ? { release: validateReleaseName(positional[0]) } : {}), ...(cluster ? { cluster } : {}) };
    }
    if (name === 'fleet') {
      const action = positional[0]?.toLowerCase();
      if (action === 'status') {
        if (positional.length > 2) throw new UsageError(`unexpected "${show(positional[2]!)}"`, usage);
        if (Object.keys(options).length > 0) throw new UsageError('fleet status takes no options', usage);
        const id = positional[1];
        if (id !== undefined && !/^fleet-\d{1,15}$/.test(id)) throw new UsageError(`"${show(id)}" is not a fleet id (fleet-<number>, on the fleet card)`, usage);
        return { name: 'fleet', action: 'status', ...(id ? { id } : {}) };
      }
      if (action !== 'plan' && action !== 'upgrade') throw new UsageError(positional[0] ? `unknown fleet action "${show(positional[0])}" (plan, upgrade or status)` : 'missing the fleet action (plan, upgrade or status)', usage);
      if (positional.length !== 2) throw new UsageError(positional.length < 2 ? 'missing the version' : `unexpected "${show(positional[2]!)}"`, usage);
      if (options.select === undefined) throw new UsageError('missing --select', usage);
      const waves = options.waves ?? DEFAULT_WAVES;
      parseWaves(waves);
      const maxInFlight = Number(options.maxInFlight ?? '5');
      if (!/^\d{1,3}$/.test(options.maxInFlight ?? '5') || maxInFlight < 1 || maxInFlight > 100) throw new UsageError(`--max-in-flight "${show(options.maxInFlight ?? '')}" is not a number from 1 to 100`, usage);
      return { name: 'fleet', action, version: parseVersion(positional[1]!).text, selector: parseSelector(options.select, options.labels ? [options.labels] : []), waves, maxInFlight, ...(cluster ? { cluster } : {}) };
    }
    if (name === 'plan' || name === 'upgrade') {
      expect(2);
      const t = base();
      const version = parseVersion(positional[1]!).text;
      const strategy = parseStrategy(options.strategy);
      const chart = parseChartVersion(options.chart);
      return {
        name: name as 'plan' | 'upgrade',
        ...t,
        version,
        ...(strategy ? { strategy } : {}),
        ...(chart ? { chart } : {}),
        ...(options.allowDataChanges ? { allowDataChanges: true } : {}),
        ...(options.withoutDataChecks ? { withoutDataChecks: true } : {}),
        ...(options.withoutBackup ? { withoutBackup: true } : {}),
      } as Command;
    }
    expect(1);
    return { name: name as 'status' | 'cancel' | 'rollback' | 'history', ...base() } as Command;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if (err instanceof UpgradeError) throw new UsageError(err.message, usage);
    throw err;
  }
}

const FLAGS: Readonly<Record<string, string>> = {
  '-n': 'namespace', '--namespace': 'namespace',
  '-c': 'cluster', '--cluster': 'cluster',
  '--strategy': 'strategy', '-s': 'strategy',
  '--chart': 'chart',
  '--select': 'select',
  '--waves': 'waves',
  '--max-in-flight': 'maxInFlight',
  '-l': 'labels',
  '--labels': 'labels',
};

/** Options without a value. */
const SWITCHES: Readonly<Record<string, string>> = {
  '--allow-data-changes': 'allowDataChanges',
  '--without-data-checks': 'withoutDataChecks',
  '--without-backup': 'withoutBackup',
};

const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  help: [],
  versions: ['cluster'],
  status: ['namespace', 'cluster'],
  cancel: ['namespace', 'cluster'],
  rollback: ['namespace', 'cluster'],
  history: ['namespace', 'cluster'],
  windows: ['namespace', 'cluster'],
  plan: ['namespace', 'cluster', 'strategy', 'chart'],
  upgrade: ['namespace', 'cluster', 'strategy', 'chart', 'allowDataChanges', 'withoutDataChecks', 'withoutBackup'],
  fleet: ['cluster', 'select', 'waves', 'maxInFlight', 'labels'],
};

function validateCluster(name: string): string {
  if (!CLUSTER_NAME.test(name)) throw new InputError(`"${show(name)}" is not a cluster (kubeconfig context) name`);
  return name;
}

/** Quoted back in Slack: also without mrkdwn characters, so nothing can ping or format. */
function show(s: string): string {
  return showInput(s).replace(/[`*_~<>&]/g, '?');
}
