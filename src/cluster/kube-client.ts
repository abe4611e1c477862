/**
 * Kubernetes API clients that reuse their TLS connections.
 *
 * @kubernetes/client-node 1.x makes a new https.Agent for every request (KubeConfig's
 * applySecurityAuthentication), so every API call pays a TCP connect, a TLS handshake and a new
 * SecureContext: a status is a handful of calls, and under load that CPU lands on the event loop
 * that sends Slack's acks. Here the kubeconfig still authenticates each request (tokens from exec
 * plugins refresh as before), and the agent it made is swapped for a keep-alive one shared by
 * every request with the same TLS settings. Proxy agents are left as they are.
 */
import { createHash } from 'node:crypto';
import https from 'node:https';
import tls from 'node:tls';
import { createConfiguration, ServerConfiguration, type Configuration, type KubeConfig, type RequestContext, type SecurityAuthentication } from '@kubernetes/client-node';

/** Distinct TLS settings kept at once: a kubeconfig has a few; rotation of a client cert adds one. */
const MAX_AGENTS = 16;
const MAX_SOCKETS = 32;
/**
 * Every API call ends by then (issue 25): a hung API server is answered "did not answer" within
 * seconds instead of holding a command, a read slot or a step for ever. Watches do not go
 * through these clients.
 */
export const API_CALL_TIMEOUT_MS = 15_000;

type TlsOptions = https.AgentOptions;
const TLS_KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const satisfies readonly (keyof TlsOptions)[];

function tlsKey(options: TlsOptions): string {
  const h = createHash('sha256');
  for (const k of TLS_KEYS) {
    const v = options[k];
    h.update(`${k}=`);
    if (v !== undefined) h.update(Array.isArray(v) ? v.map(String).join('\n') : typeof v === 'object' && !Buffer.isBuffer(v) ? JSON.stringify(v) : String(v));
    h.update('\0');
  }
  return h.digest('hex');
}

/** The authentication of `kc`, with the per-request https.Agent replaced by a shared keep-alive one. */
export function keepAliveAuth(kc: KubeConfig): SecurityAuthentication {
  const agents = new Map<string, https.Agent>();
  return {
    getName: () => 'kubeconfig (keep-alive)',
    async applySecurityAuthentication(context: RequestContext): Promise<void> {
      await kc.applySecurityAuthentication(context);
      if (!context.getSignal()) context.setSignal(AbortSignal.timeout(API_CALL_TIMEOUT_MS));
      const fresh = context.getAgent();
      // Only a plain https.Agent: proxy agents (http, https, socks) keep their own connections.
      if (!(fresh instanceof https.Agent) || fresh.constructor !== https.Agent) return;
      const key = tlsKey(fresh.options);
      let shared = agents.get(key);
      if (!shared) {
        if (agents.size >= MAX_AGENTS) {
          for (const old of agents.values()) old.destroy();
          agents.clear();
        }
        // One SecureContext for every connection it opens (tls.connect builds one per connection
        // otherwise: parsing the CA and the client key each time).
        const { ca, cert, key: privateKey, pfx, passphrase } = fresh.options;
        const secureContext = tls.createSecureContext({ ca, cert, key: privateKey, pfx, passphrase });
        shared = new https.Agent({ ...fresh.options, secureContext, keepAlive: true, maxSockets: MAX_SOCKETS });
        agents.set(key, shared);
      }
      context.setAgent(shared);
    },
  };
}

/** One set of shared agents per kubeconfig: every API group's client uses the same connections. */
const authOf = new WeakMap<KubeConfig, SecurityAuthentication>();

/** Like KubeConfig.makeApiClient, with connections reused (see the file comment). */
export function makeApiClient<T>(kc: KubeConfig, Api: new (config: Configuration) => T): T {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('No active cluster in the kubeconfig');
  let auth = authOf.get(kc);
  if (!auth) {
    auth = keepAliveAuth(kc);
    authOf.set(kc, auth);
  }
  return new Api(createConfiguration({ baseServer: new ServerConfiguration(cluster.server, {}), authMethods: { default: auth } }));
}
