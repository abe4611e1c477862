/**
 * The data side of a plan (issue 26): what Milvus says of its collections when the plan is made,
 * the canary rows chosen then, and the data gate that closes every hop and every rollback. An
 * unreadable Milvus never makes a plan fail here: the plan says why its data is not checked, and
 * the request is refused unless an approver gives --without-data-checks (request-change.ts).
 */
import { PreflightError, UpgradeError, explainError } from '../errors.js';
import type { CanaryRows, DataSnapshot, PlanData } from '../data-snapshot.js';
import type { Plan, RollbackPlan } from '../plan.js';
import type { MilvusAccess } from '../ports.js';
import type { ReleaseState } from '../state.js';
import type { Step } from '../steps.js';
import { inBatches } from '../in-batches.js';

/** Keys per canary: enough to tell "some rows lost" from "all there", few enough to read each second. */
export const CANARY_ROWS = 3;
/** Canaries chosen at once: a plan over 1,000 collections waits for a few reads at a time. */
const CANARY_CONCURRENCY = 4;

export interface DataReadOptions {
  /** An address given for this plan (the CLI's --milvus-address) instead of the config's. */
  readonly address?: string | null;
  /** The approver who allowed running without data checks, if one did. */
  readonly withoutChecksBy?: string | null;
  /** false: the snapshot only (status shows it; only a plan's gate reads the canaries again). */
  readonly withCanaries?: boolean;
  readonly signal?: AbortSignal;
}

/** Milvus's view of the release, read for a plan. Never throws: a failure becomes notChecked. */
export async function readPlanData(access: MilvusAccess | undefined, state: Pick<ReleaseState, 'namespace' | 'release' | 'fullname'>, o: DataReadOptions = {}): Promise<PlanData> {
  const withoutChecksBy = o.withoutChecksBy ?? null;
  if (!access || access.checks === 'off') {
    return { address: null, snapshot: null, canaries: [], required: false, withoutChecksBy, notChecked: 'the bot is configured not to read Milvus (MILVUS_DATA_CHECKS=off)' };
  }
  let address = o.address ?? null;
  try {
    address ??= access.address(state);
    const endpoint = await access.endpoint(state.namespace, state.release, address);
    const snapshot = await access.reader.snapshot(endpoint, o.signal);
    const canaries = o.withCanaries === false ? [] : await pickCanaries(access, endpoint, snapshot, o.signal);
    return { address, snapshot, canaries, required: true, withoutChecksBy, notChecked: null };
  } catch (err) {
    // One line on a card: the error's own words, not its advice (the refusal gives the way on).
    return { address, snapshot: null, canaries: [], required: true, withoutChecksBy, notChecked: err instanceof UpgradeError ? err.message : explainError(err) };
  }
}

async function pickCanaries(access: MilvusAccess, endpoint: Awaited<ReturnType<MilvusAccess['endpoint']>>, snapshot: DataSnapshot, signal?: AbortSignal): Promise<CanaryRows[]> {
  const loaded = snapshot.collections.filter((c) => c.loadState === 'loaded').map((c) => c.name);
  const picked = await inBatches(loaded, CANARY_CONCURRENCY, async (collection) => {
    try {
      return await access.reader.pickCanary(endpoint, collection, CANARY_ROWS, signal);
    } catch (err) {
      // A collection no canary can read (no Int64 or VarChar key) is still checked for its
      // load state and rows; only a Milvus that does not answer stops the read.
      if (err instanceof UpgradeError && err.code === 'invalid-state') return null;
      throw err;
    }
  });
  return picked.filter((c): c is CanaryRows => c !== null);
}

/** The gate's step, or none when the data was not read. */
export function dataGateStep(data: PlanData, release: string, timeoutSeconds: number): Step | null {
  if (!data.snapshot || !data.address) return null;
  const expected = data.snapshot.collections.map((c) => ({ name: c.name, loaded: c.loadState === 'loaded', rowCount: c.rowCount }));
  const loaded = expected.filter((c) => c.loaded).length;
  return {
    kind: 'check-data',
    address: data.address,
    expected,
    canaries: data.canaries,
    timeoutSeconds,
    description:
      `check ${release}'s data in Milvus: healthy, the ${loaded} loaded collection(s) loaded again (up to ${timeoutSeconds}s), ` +
      `no row count lower than before, ${data.canaries.length} canary quer${data.canaries.length === 1 ? 'y' : 'ies'} and search(es) answered`,
  };
}

/**
 * A hop (or a one-hop plan) closed by the data gate, and its rollback too: appended last, so no
 * step index of the hop moves.
 */
export function withDataGate(plan: Plan, gate: Step | null): Plan {
  if (!gate) return plan;
  const rollback: RollbackPlan | null = plan.rollback ? { ...plan.rollback, steps: [...plan.rollback.steps, gate] } : null;
  return { ...plan, steps: [...plan.steps, gate], rollback };
}

/**
 * An upgrade whose data cannot be checked runs only when an approver said so: the config requires
 * the checks and Milvus could not be read. The plan itself is kept (`plan` shows why).
 */
export function refuseUncheckedData(plan: { readonly release: string; readonly data?: PlanData }): void {
  const data = plan.data;
  if (!data || !data.notChecked || !data.required || data.withoutChecksBy) return;
  throw new PreflightError(`${plan.release}'s data cannot be checked: ${data.notChecked}`, [
    'fix the address (MILVUS_ADDRESS) or the credentials Secret (MILVUS_CREDENTIALS_SECRET) and ask again',
    'or, knowing the upgrade then proves only that pods run, not that the data is served: ask again with --without-data-checks (an approver only; recorded in the audit trail)',
  ]);
}
