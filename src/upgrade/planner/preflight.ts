import semver from 'semver';
import { maskUrlCredentials, PreflightError } from '../errors.js';
import { rolloutProgress, type ReleaseState, type ToolingState } from '../state.js';

export const MIN_HELM = '3.14.0';
export const MIN_KUBERNETES = '1.20.0';
/** The archived chart repository: it stops at chart 4.0.31. */
export const ARCHIVED_REPO_URL = 'https://milvus-io.github.io/milvus-helm/';

/** Tool versions and repository: problems that would make any plan for this cluster unsafe. */
export function toolingProblems(t: ToolingState, repoName: string, repoUrl: string): string[] {
  const problems: string[] = [];
  const helm = semver.coerce(t.helmVersion);
  if (!helm || semver.lt(helm, MIN_HELM)) {
    problems.push(
      `helm ${t.helmVersion} is too old: ${MIN_HELM} or later is needed for --reset-then-reuse-values`,
    );
  }
  const kube = semver.coerce(t.kubernetesVersion);
  if (!kube || semver.lt(kube, MIN_KUBERNETES)) {
    problems.push(`Kubernetes ${t.kubernetesVersion} is too old: Milvus needs ${MIN_KUBERNETES} or later`);
  }
  const configured = t.repos[repoName];
  // Messages name the URLs without their credentials.
  const shown = maskUrlCredentials(repoUrl);
  if (configured && sameUrl(configured, ARCHIVED_REPO_URL)) {
    problems.push(
      `helm repository "${repoName}" points at the archived ${ARCHIVED_REPO_URL} (charts only up to 4.0.31); ` +
        `fix it with: helm repo remove ${repoName} && helm repo add ${repoName} ${shown} && helm repo update`,
    );
  } else if (configured && !sameUrl(configured, repoUrl)) {
    problems.push(
      `helm repository "${repoName}" points at ${maskUrlCredentials(configured)}, not ${shown}; ` +
        `fix it with: helm repo remove ${repoName} && helm repo add ${repoName} ${shown}`,
    );
  }
  return problems;
}

/** The release itself: deployed and fully rolled out. */
export function releaseProblems(state: ReleaseState): string[] {
  const problems: string[] = [];
  if (state.helm.status !== 'deployed') {
    problems.push(
      `helm release ${state.release} is "${state.helm.status}" (revision ${state.helm.revision}), not "deployed": ` +
        `finish or roll back the operation in progress first (helm history ${state.release} -n ${state.namespace})`,
    );
  }
  if (state.components.length === 0) {
    problems.push(`no Milvus Deployments found for release ${state.release} in ${state.namespace}`);
  }
  for (const c of state.components) {
    if (c.paused) {
      // A paused Deployment takes no new template: any upgrade would wait on it for ever.
      problems.push(
        `Deployment ${c.deployment} is paused${c.pausedBy ? ' (left by an ordered helm step of the bot that did not finish)' : ''}: ` +
          `resume it first (kubectl -n ${state.namespace} rollout resume deployment/${c.deployment})`,
      );
      continue;
    }
    const p = rolloutProgress(c);
    if (!p.done) problems.push(`Deployment ${c.deployment} is not rolled out (${p.text})`);
  }
  return problems;
}

export function assertNoProblems(problems: string[], what: string): void {
  if (problems.length > 0) throw new PreflightError(`${what}: nothing was changed`, problems);
}

function sameUrl(a: string, b: string): boolean {
  const norm = (u: string) => u.trim().replace(/\/+$/, '').toLowerCase();
  return norm(a) === norm(b);
}
