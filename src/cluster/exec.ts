import { execFile } from 'node:child_process';
import { maskUrlCredentials, UpgradeError } from '../upgrade/errors.js';

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
}

export class ProgramFailed extends UpgradeError {
  constructor(
    readonly program: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    transient: boolean,
    timedOut: boolean,
  ) {
    // helm quotes a repository URL in its errors, credentials and all.
    const first = maskUrlCredentials(stderr.trim().split('\n').filter(Boolean).slice(-3).join(' / ')) || `exit code ${exitCode}`;
    super(
      timedOut ? 'timeout' : transient ? 'transient' : 'step-failed',
      timedOut ? `${program} ${args[0] ?? ''} timed out` : `${program} ${args[0] ?? ''} failed: ${first}`,
    );
  }
}

/**
 * Runs a program with an argument array (never a shell), a timeout and an optional abort signal.
 * `isTransient` decides from stderr whether trying again later may help.
 */
export function runProgram(
  program: string,
  args: readonly string[],
  options: {
    readonly timeoutMs: number;
    readonly env?: NodeJS.ProcessEnv;
    readonly signal?: AbortSignal;
    readonly isTransient?: (stderr: string) => boolean;
  },
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(
      program,
      [...args],
      {
        timeout: options.timeoutMs,
        killSignal: 'SIGTERM',
        env: options.env,
        signal: options.signal,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (!error) return resolve({ stdout, stderr });
        const err = error as NodeJS.ErrnoException & { code?: unknown; killed?: boolean; signal?: string };
        if (err.name === 'AbortError') {
          return reject(new UpgradeError('cancelled', `${program} ${args[0] ?? ''} was interrupted`));
        }
        if (err.code === 'ENOENT') {
          return reject(new UpgradeError('step-failed', `${program} not found: install it or set its path in the configuration`));
        }
        const timedOut = Boolean(err.killed) && err.signal === 'SIGTERM';
        const exitCode = typeof err.code === 'number' ? err.code : null;
        reject(new ProgramFailed(program, args, exitCode, String(stderr ?? ''), options.isTransient?.(String(stderr ?? '')) ?? false, timedOut));
      },
    );
  });
}

export function parseJson<T = unknown>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new UpgradeError('step-failed', `${what} did not print JSON: ${text.slice(0, 200)}`);
  }
}
