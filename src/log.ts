import pino, { type Logger } from 'pino';

/** Paths pino blanks out wherever they appear in a log event. */
export const REDACT_PATHS = [
  'token', '*.token', 'botToken', '*.botToken', 'appToken', '*.appToken', 'signingSecret', '*.signingSecret',
  'password', '*.password', 'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization',
  'config.slack.botToken', 'config.slack.appToken', 'config.slack.signingSecret', 'redisUrl', '*.redisUrl',
  'config.dashboard.token', 'dashboard.token', 'config.approvalSeal.key', 'approvalSeal.key',
];

/** JSON, one event per line, secrets redacted; to stderr so CLI output on stdout stays clean. */
export function createLogger(options: { level?: string; name?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'milvus-upgrade-bot',
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    (options.destination ?? process.stderr) as pino.DestinationStream,
  );
}
