/**
 * The Kubernetes client as the adapters use it: the kubeconfig, and its errors turned into ours
 * (what is transient, what is refused, what is not there).
 */
import * as k8s from '@kubernetes/client-node';
import { UpgradeError } from '../upgrade/errors.js';
import { API_CALL_TIMEOUT_MS } from './kube-client.js';

export interface KubeOptions {
  /** kubeconfig file; default: $KUBECONFIG, ~/.kube/config or in-cluster. */
  readonly kubeconfig?: string;
  /** kubeconfig context (a cluster name in the bot's words); default: the current one. */
  readonly context?: string;
  /**
   * An unknown context's error lists the known ones: for the terminal, whose user owns the
   * kubeconfig; never for Slack, where anyone allowed to type a cluster name would see them all.
   */
  readonly listContexts?: boolean;
}

export function loadKubeConfig(options: KubeOptions): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  try {
    if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new UpgradeError('bad-input', `cannot read the kubeconfig ${options.kubeconfig ?? '(default)'}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (options.context) {
    if (!kc.getContexts().some((c) => c.name === options.context)) {
      throw new UpgradeError(
        'bad-input',
        `no context "${options.context}" in the kubeconfig`,
        options.listContexts ? [`known contexts: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'}`] : ['check the cluster name (a kubeconfig context of the bot)'],
      );
    }
    kc.setCurrentContext(options.context);
  }
  return kc;
}

export const strategic = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);
export const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

export function statusOf(err: unknown): number | null {
  if (err instanceof k8s.ApiException) return err.code;
  return null;
}

/** Turns client errors into ours: 5xx and connection failures are transient. */
export async function api<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const code = statusOf(err);
    if (code === null) {
      if (isTimeout(err)) throw new UpgradeError('transient', `the Kubernetes API did not answer within ${API_CALL_TIMEOUT_MS / 1000} s while ${what}`, ['the cluster\'s API server is not answering: try again later'], { cause: err });
      const msg = err instanceof Error ? err.message : String(err);
      throw new UpgradeError('transient', `Kubernetes API unreachable while ${what}: ${msg}`, [], { cause: err });
    }
    const body = err instanceof k8s.ApiException ? extractMessage(err.body) : '';
    throw new UpgradeError(code >= 500 || code === 429 ? 'transient' : 'step-failed', `Kubernetes API refused ${what} (${code}${body ? `: ${body}` : ''})`, [], { cause: err });
  }
}

/** The deadline's abort (AbortSignal.timeout), however the fetch layer wraps it. */
function isTimeout(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if (e instanceof Error && (e.name === 'TimeoutError' || /aborted|timeout/i.test(e.name))) return true;
    if (e instanceof Error && /The operation was aborted due to timeout|The user aborted a request/i.test(e.message)) return true;
  }
  return false;
}

export async function orNull<T>(what: string, fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (err) {
    if (statusOf(err) === 404) return null;
    return api(what, () => Promise.reject(err));
  }
}

function extractMessage(body: unknown): string {
  if (typeof body === 'string') {
    try {
      return String((JSON.parse(body) as { message?: unknown }).message ?? body).slice(0, 300);
    } catch {
      return body.slice(0, 300);
    }
  }
  if (body && typeof body === 'object' && 'message' in body) return String((body as { message: unknown }).message);
  return '';
}
