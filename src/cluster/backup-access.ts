/**
 * Where the bot reaches a release's milvus-backup server (issue 27): a URL template from the
 * config (one server serves one Milvus: `{release}`, `{namespace}`, `{fullname}` are replaced),
 * the policy, and the REST client (milvus-backup.ts).
 */
import { addressFromTemplate } from '../upgrade/data-snapshot.js';
import type { BackupAccess, BackupService } from '../upgrade/ports.js';
import type { ReleaseState } from '../upgrade/state.js';

export interface BackupAccessSettings {
  /** See addressFromTemplate; null: no milvus-backup server is configured. */
  readonly urlTemplate: string | null;
  /** `namespace/release` -> a template of its own, over urlTemplate. */
  readonly byRelease?: Readonly<Record<string, string>>;
  readonly policy: 'one-way' | 'always';
}

export class ConfiguredBackupAccess implements BackupAccess {
  readonly policy: 'one-way' | 'always';

  constructor(
    private readonly settings: BackupAccessSettings,
    readonly service: BackupService,
    readonly now: () => number = Date.now,
  ) {
    this.policy = settings.policy;
  }

  url(release: Pick<ReleaseState, 'namespace' | 'release' | 'fullname'>): string | null {
    const template = this.settings.byRelease?.[`${release.namespace}/${release.release}`] ?? this.settings.urlTemplate;
    return template ? addressFromTemplate(template, release) : null;
  }
}
