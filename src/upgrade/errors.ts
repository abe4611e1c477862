/**
 * Errors a person can act on. `code` is stable (logs, tests, exit codes); `message` is what the
 * bot or CLI shows; `details` are extra lines (one problem each) shown under the message.
 */
export type ErrorCode =
  | 'bad-input'
  | 'preflight'
  | 'step-failed'
  | 'timeout'
  | 'cancelled'
  | 'drift'
  | 'transient'
  | 'busy'
  | 'denied'
  | 'invalid-state'
  | 'not-found'
  | 'superseded'
  | 'interrupted'
  | 'unreadable';

export class UpgradeError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  /** The message followed by its details, one per line, as shown to a person. */
  explain(): string {
    return [this.message, ...this.details.map((d) => `  - ${d}`)].join('\n');
  }
}

/** The request itself is wrong (bad name, unknown version, downgrade...). Nothing was touched. */
export class InputError extends UpgradeError {
  constructor(message: string, details: readonly string[] = []) {
    super('bad-input', message, details);
  }
}

/** The cluster or tools are not in a state where the upgrade may start. Nothing was touched. */
export class PreflightError extends UpgradeError {
  constructor(message: string, details: readonly string[] = []) {
    super('preflight', message, details);
  }
}

/** A step of a running plan failed; the cluster may be part-way. */
export class StepFailed extends UpgradeError {
  constructor(
    readonly stepIndex: number,
    message: string,
    details: readonly string[] = [],
    options?: { cause?: unknown; code?: 'step-failed' | 'timeout' | 'transient' },
  ) {
    super(options?.code ?? 'step-failed', message, details, options);
  }
}

/**
 * Something helm or Kubernetes wrote could not be read (a manifest, values, a config file). That
 * is a defect of this bot, or a chart it does not know yet, never a refusal by the upgrade rules,
 * so the message says so. `what` names the object and the release.
 */
export class UnreadableError extends UpgradeError {
  constructor(what: string, why: string) {
    super('unreadable', `could not read ${what}: ${why}`, [
      'this is a defect of milvus-upgrade-bot, not a refusal by the upgrade rules; nothing was changed by this read',
      'please report it with the release\'s chart name and version (helm list -o json)',
    ]);
  }
}

export class Cancelled extends UpgradeError {
  constructor(message = 'cancelled on request') {
    super('cancelled', message);
  }
}

/**
 * Text from outside, fit to be quoted back in a message: printable ASCII only (anything else
 * becomes "?", so no control character, markup or half a surrogate pair gets through), cut short.
 */
export function showInput(s: string, max = 40): string {
  const printable = s.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > max ? `${printable.slice(0, max)}…` : printable;
}

/**
 * Text with the credentials of any URL in it (`https://user:token@host`) masked: a chart
 * repository's URL may carry them, and plans, cards, errors and logs are read by many.
 */
export function maskUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1***@');
}

/** Errors that are not ours (bugs, unexpected library errors) are shown by their message only. */
export function explainError(err: unknown): string {
  if (err instanceof UpgradeError) return err.explain();
  if (err instanceof Error) return err.message;
  return String(err);
}
