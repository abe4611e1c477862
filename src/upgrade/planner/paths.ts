import { InputError } from '../errors.js';
import type { ChartEntry } from '../milvus/charts.js';
import { queueOfConfig } from '../milvus/message-queue.js';
import type { UpgradePath } from '../plan.js';
import type { ReleaseState } from '../state.js';
import { atLeast, compareVersions, tryParseVersion, type MilvusVersion } from '../milvus/version.js';

export interface PathDecision {
  readonly path: UpgradePath;
  /** Every path the rules allow for this release and target (the chosen one included). */
  readonly allowed: readonly UpgradePath[];
  readonly reason: string;
}

/**
 * The page's rules (SPEC §8). From 2.1.x to 2.2.0 or later a metadata migration is required;
 * from 2.2.3 on, in cluster mode and without rocksmq, a rolling upgrade is possible; otherwise a
 * helm upgrade. Without an explicit strategy the page's main path, helm, is chosen.
 */
export function choosePath(
  from: MilvusVersion,
  to: MilvusVersion,
  state: Pick<ReleaseState, 'mode' | 'messageQueue' | 'metastore'>,
  requested?: UpgradePath,
  o: { readonly sameVersionSwitch?: boolean } = {},
): PathDecision {
  if (o.sameVersionSwitch && compareVersions(to, from) === 0) {
    if (requested === 'rolling' || requested === 'migrate') throw new InputError(`the ${requested} strategy cannot switch ${from.text} to mixcoord`, ['helm makes the switch: use --strategy helm']);
    return { path: 'helm', allowed: ['helm'], reason: `${from.text} again, by helm: the four coordinators are replaced by mixcoord` };
  }
  if (compareVersions(to, from) <= 0) {
    throw new InputError(
      `Milvus ${to.text} is not newer than the running ${from.text}`,
      ['an upgrade only goes forward; to go back to an earlier version use rollback'],
    );
  }
  const needsMigration = from.major === 2 && from.minor <= 1 && atLeast(to, '2.2.0');
  if (needsMigration) {
    // Refused here, before any change: the tool itself refuses these only after Milvus is stopped.
    if (from.minor < 1) {
      throw new InputError(`Milvus ${from.text} cannot be migrated to ${to.text}: the metadata migration tool only converts 2.1.x`, [
        `upgrade ${from.text} to the newest 2.1.x first (helm), then ask for ${to.text}`,
      ]);
    }
    if (state.metastore === 'mysql') {
      throw new InputError(`the metadata of this release is in MySQL (metastore.type: mysql): the migration tool only reads etcd`, [
        'the 2.1 -> 2.2 migration needs the metadata in etcd; nothing was changed',
      ]);
    }
    if (!(to.major === 2 && to.minor === 2)) {
      // The meta-migration tool only converts 2.1.x metadata to 2.2.x: route.ts plans a target
      // past 2.2 as two hops, so a single plan never gets here.
      throw new InputError(`Milvus ${from.text} cannot go straight to ${to.text}: the metadata migration only goes from 2.1.x to 2.2.x`);
    }
    if (requested && requested !== 'migrate') {
      throw new InputError(`the ${requested} strategy cannot take ${from.text} to ${to.text}`, [
        'from 2.1.x to 2.2.0 or later the metadata must be migrated: use --strategy migrate (or no --strategy)',
      ]);
    }
    return {
      path: 'migrate',
      allowed: ['migrate'],
      reason: `from ${from.text} (2.1.x) to ${to.text} the metadata must be migrated`,
    };
  }
  if (requested === 'migrate') {
    throw new InputError(`metadata migration only applies from 2.1.x to 2.2.0 or later`, [
      `${from.text} -> ${to.text} needs no migration; use --strategy helm${rollingWhyNot(from, state) ? '' : ' or rolling'}`,
    ]);
  }
  const whyNotRolling = rollingWhyNot(from, state);
  const allowed: UpgradePath[] = whyNotRolling ? ['helm'] : ['helm', 'rolling'];
  if (requested === 'rolling' && whyNotRolling) {
    throw new InputError(`a rolling upgrade is not possible for this release`, [
      whyNotRolling,
      'use --strategy helm',
    ]);
  }
  const path = requested ?? 'helm';
  const reason =
    path === 'rolling'
      ? `rolling upgrade requested (possible from 2.2.3 on, cluster mode, ${state.messageQueue ?? 'unknown'} message queue)`
      : whyNotRolling
        ? `helm upgrade (${whyNotRolling})`
        : 'helm upgrade, the documented main path (--strategy rolling is also possible)';
  return { path, allowed, reason };
}

function rollingWhyNot(
  from: MilvusVersion,
  state: Pick<ReleaseState, 'mode' | 'messageQueue'>,
): string | null {
  if (!atLeast(from, '2.2.3')) return `rolling upgrades need Milvus 2.2.3 or later; it runs ${from.text}`;
  if (state.mode !== 'cluster') return 'rolling upgrades need cluster mode; this release runs standalone';
  if (queueOfConfig(state.messageQueue)?.rolling === false) return `rolling upgrades are not possible with the ${state.messageQueue} message queue`;
  return null;
}

/** The newest 2.2.x release a chart of the index carries, if any. */
export function newest22(charts: readonly ChartEntry[]): MilvusVersion | null {
  const versions = charts
    .map((c) => tryParseVersion(c.appVersion))
    .filter((v): v is MilvusVersion => v !== null && v.major === 2 && v.minor === 2 && v.suffix === '')
    .sort(compareVersions);
  return versions.at(-1) ?? null;
}
