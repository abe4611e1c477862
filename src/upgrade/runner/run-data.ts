/**
 * The data gate (issue 26): after a hop, Milvus itself must hold what it held before. Pods can be
 * Ready with collections stuck loading or queries failing (milvus-io/milvus#38412, #42492); only
 * Milvus can say. Everything here is a read: run again after a crash, it reads again.
 */
import { UpgradeError, explainError } from '../errors.js';
import { dataProblems, type CanaryRows, type MilvusEndpoint } from '../data-snapshot.js';
import type { MilvusAccess } from '../ports.js';
import type { Step } from '../steps.js';
import { done, fail, waitFor, type StepContext, type StepOutcome } from './run-support.js';

export async function checkData(step: Extract<Step, { kind: 'check-data' }>, ctx: StepContext): Promise<StepOutcome> {
  const access = ctx.ports.milvus;
  if (!access) fail(`this worker cannot read Milvus, and the plan checks ${ctx.release}'s data after each hop`, ['run the plan on a worker of this version, or plan again']);
  const endpoint = await access.endpoint(ctx.namespace, ctx.release, step.address);
  const summary = await waitFor(
    ctx,
    step.timeoutSeconds,
    async () => {
      let now;
      try {
        now = await access.reader.snapshot(endpoint, ctx.signal);
      } catch (err) {
        return { value: null, text: `Milvus at ${step.address} not answering yet: ${explainError(err)}` };
      }
      const problems = dataProblems(step.expected, now);
      if (problems.length > 0) return { value: null, text: problems.join('; ') };
      const failed = await canaryProblems(access, endpoint, step.canaries, ctx.signal);
      if (failed.length > 0) return { value: null, text: failed.join('; ') };
      const loaded = step.expected.filter((c) => c.loaded).length;
      return { value: `Milvus ${now.serverVersion} healthy, ${loaded} loaded collection(s) loaded again, no row count lower, ${step.canaries.length} canar${step.canaries.length === 1 ? 'y' : 'ies'} answered`, text: '' };
    },
    (last) =>
      new UpgradeError('timeout', `the data gate failed after ${step.timeoutSeconds}s: ${last}`, [
        'the pods may be Ready while Milvus is not serving its data: see the collection named, and the querynode and proxy logs',
        'the hop\'s rollback is offered when there is one',
      ]),
    { watched: false, what: 'Milvus' },
  );
  return done(summary);
}

async function canaryProblems(access: MilvusAccess, endpoint: MilvusEndpoint, canaries: readonly CanaryRows[], signal?: AbortSignal): Promise<string[]> {
  const out: string[] = [];
  for (const c of canaries) {
    try {
      const r = await access.reader.probe(endpoint, c, signal);
      if (r.found < c.ids.length) out.push(`collection ${c.collection}: canary query found ${r.found} of its ${c.ids.length} rows`);
      else if (r.searchHits === 0) out.push(`collection ${c.collection}: canary search returned no result`);
    } catch (err) {
      out.push(`collection ${c.collection}: canary failed: ${explainError(err)}`);
    }
  }
  return out;
}
