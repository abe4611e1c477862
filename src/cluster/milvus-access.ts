/**
 * Where and how the bot reaches a release's Milvus (issue 26): the address from the config's
 * template, the credentials from a Kubernetes Secret the config names, read each time a gate or
 * a plan needs them (a rotated password is picked up) and handed to the SDK only.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import { UpgradeError } from '../upgrade/errors.js';
import { addressFromTemplate, isMilvusAddress, type MilvusEndpoint } from '../upgrade/data-snapshot.js';
import type { MilvusAccess, MilvusDataReader } from '../upgrade/ports.js';
import { orNull } from './kube-api.js';

export interface MilvusAccessSettings {
  readonly checks: 'required' | 'off';
  /** See addressFromTemplate. */
  readonly addressTemplate: string;
  /** `namespace/release` -> a template of its own, over addressTemplate. */
  readonly byRelease?: Readonly<Record<string, string>>;
  /** The Secret in the release's namespace (`{release}` and `{namespace}` replaced); null: no credentials. */
  readonly credentialsSecret: string | null;
  /** Used when no Secret is named (the CLI: from its environment). */
  readonly credentials?: MilvusEndpoint['credentials'];
  readonly tls: boolean;
}

/** The SDK (and gRPC) load on the first read, not with the process: a bot that never reads Milvus does without. */
export const lazySdkReader: MilvusDataReader = {
  snapshot: async (...a) => (await sdkReader()).snapshot(...a),
  pickCanary: async (...a) => (await sdkReader()).pickCanary(...a),
  probe: async (...a) => (await sdkReader()).probe(...a),
  openSampler: async (...a) => (await sdkReader()).openSampler(...a),
};

let loaded: Promise<MilvusDataReader> | null = null;
function sdkReader(): Promise<MilvusDataReader> {
  return (loaded ??= import('./milvus-data.js').then(({ SdkMilvusDataReader }) => new SdkMilvusDataReader()));
}

export class KubeMilvusAccess implements MilvusAccess {
  readonly checks: 'required' | 'off';

  constructor(
    private readonly settings: MilvusAccessSettings,
    private readonly core: CoreV1Api,
    readonly reader: MilvusDataReader = lazySdkReader,
  ) {
    this.checks = settings.checks;
  }

  address(r: { readonly namespace: string; readonly release: string; readonly fullname: string }): string {
    const template = this.settings.byRelease?.[`${r.namespace}/${r.release}`] ?? this.settings.addressTemplate;
    const address = addressFromTemplate(template, r);
    if (!isMilvusAddress(address)) throw new UpgradeError('bad-input', `MILVUS_ADDRESS gives ${JSON.stringify(address)} for ${r.release}, which is not host:port`);
    return address;
  }

  async endpoint(namespace: string, release: string, address: string): Promise<MilvusEndpoint> {
    return { address, tls: this.settings.tls, credentials: await this.credentials(namespace, release) };
  }

  private async credentials(namespace: string, release: string): Promise<MilvusEndpoint['credentials']> {
    if (!this.settings.credentialsSecret) return this.settings.credentials ?? null;
    const name = this.settings.credentialsSecret.replaceAll('{release}', release).replaceAll('{namespace}', namespace);
    const secret = await orNull(`reading the Milvus credentials Secret ${name}`, () => this.core.readNamespacedSecret({ namespace, name }));
    if (!secret) {
      throw new UpgradeError('bad-input', `the Milvus credentials Secret ${name} is not in namespace ${namespace}`, [
        `create it with the key token, or the keys username and password: kubectl -n ${namespace} create secret generic ${name} --from-literal=username=... --from-literal=password=...`,
      ]);
    }
    const value = (key: string) => {
      const v = secret.data?.[key];
      return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
    };
    const token = value('token');
    if (token) return { token };
    const username = value('username');
    if (username) return { username, password: value('password') ?? '' };
    throw new UpgradeError('bad-input', `the Milvus credentials Secret ${name} (namespace ${namespace}) has neither a token key nor a username key`);
  }
}
