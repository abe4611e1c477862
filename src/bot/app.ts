/**
 * The Bolt app: transport only. The same listeners serve HTTP (signed requests, Bolt's
 * verification and 5-minute replay window) and Socket Mode; each request is acked first (the
 * buttons' by one middleware), then its work is handed to BotHandlers.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { App, HTTPReceiver, LogLevel, type AnyMiddlewareArgs, type BlockAction, type ButtonAction, type Logger as BoltLogger, type SlackActionMiddlewareArgs } from '@slack/bolt';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import { ackFirstGate } from './ack-first.js';
import { gateSlackRequests, SLACK_BODY_LIMIT_BYTES } from './request-gate.js';
import type { BotHandlers, Caller } from './handlers.js';
import { ACTIONS } from './views.js';


/** Votes (Approve, Reject) and cancels worked on at once, apart from reads and plans. */
const DECISION_CONCURRENCY = 16;
/** Reads and plans one person may have in flight; more are answered at once. */
const READS_PER_USER = 4;

export interface CustomRoute {
  readonly path: string;
  readonly method: string;
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
}

export interface BotAppOptions {
  readonly mode: 'http' | 'socket';
  readonly botToken: string;
  readonly signingSecret?: string;
  readonly appToken?: string;
  /** Where the Web API client sends calls (a local stub in tests). */
  readonly slackApiUrl?: string;
  readonly port: number;
  readonly handlers: BotHandlers;
  readonly logger: Logger;
  /**
   * How many commands and clicks are worked on at once after their ack. Unbounded, a burst starts
   * hundreds of helm processes and the event loop that sends the acks starves (bench/RESULTS.md).
   */
  readonly workConcurrency?: number;
  /**
   * How long the work after an ack may wait while other requests still wait for their acks
   * (ack-first.ts). 0: it waits one turn of the event loop only.
   */
  readonly workDeferMs?: number;
  /** Web API retries; Slack's default policy retries for about half an hour. */
  readonly retries?: number;
  readonly customRoutes?: readonly CustomRoute[];
}

export interface RunningBot {
  readonly app: InstanceType<typeof App>;
  /** The HTTP port actually bound (HTTP mode). */
  readonly port: number | null;
  stop(): Promise<void>;
}

/** A click on one of `buttons` (block_actions), else null. */
function buttonClick(args: AnyMiddlewareArgs, buttons: ReadonlySet<string>): SlackActionMiddlewareArgs<BlockAction> | null {
  if (args.body.type !== 'block_actions' || !('action' in args)) return null;
  const click = args as SlackActionMiddlewareArgs<BlockAction>;
  return buttons.has(click.action.action_id) ? click : null;
}

/** Slack's SDK logs through pino: JSON, one event per line, like everything else. */
export function slackLogger(logger: Logger): BoltLogger {
  const log = logger.child({ component: 'bolt' });
  return {
    debug: (...m: unknown[]) => log.debug(m.map(String).join(' ')),
    info: (...m: unknown[]) => log.info(m.map(String).join(' ')),
    warn: (...m: unknown[]) => log.warn(m.map(String).join(' ')),
    error: (...m: unknown[]) => log.error(m.map(String).join(' ')),
    setLevel: () => {},
    getLevel: () => LogLevel.INFO,
    setName: () => {},
  };
}

export async function startBotApp(o: BotAppOptions): Promise<RunningBot> {
  const app = new App({
    token: o.botToken,
    logger: slackLogger(o.logger),
    clientOptions: {
      ...(o.slackApiUrl ? { slackApiUrl: o.slackApiUrl } : {}),
      ...(o.retries !== undefined ? { retryConfig: { retries: o.retries, factor: 1.5, minTimeout: 200 } } : {}),
    },
    ...(o.mode === 'socket'
      ? { socketMode: true, appToken: o.appToken }
      : {
          // Bolt's receiver, with a body limit that fits the bot's largest payload (request-gate.ts).
          receiver: new HTTPReceiver({
            signingSecret: o.signingSecret ?? '',
            customRoutes: [...(o.customRoutes ?? [])] as never,
            bodyLimit: SLACK_BODY_LIMIT_BYTES,
            logger: slackLogger(o.logger),
          }),
        }),
  });
  const h = o.handlers;
  // Two pools (issue 25): decisions (votes, cancel) never wait behind reads and plans,
  // whose API calls or planners may hang; and one person cannot fill the read pool alone.
  const reads = pLimit(o.workConcurrency ?? 4);
  const decisions = pLimit(DECISION_CONCURRENCY);
  const readsInFlight = new Map<string, number>();
  const gate = ackFirstGate({ maxDeferMs: o.workDeferMs ?? 1000 });
  const inPool = <T>(pool: ReturnType<typeof pLimit>, fn: () => Promise<T>): Promise<T> => {
    const ticket = gate.ticket();
    return pool(async () => {
      await gate.turn(ticket);
      return fn();
    });
  };
  const decide = <T>(fn: () => Promise<T>): Promise<T> => inPool(decisions, fn);
  /** Runs a read for `user`; refused (and they are told) when they already have READS_PER_USER in flight. */
  const read = async (user: string, tell: (text: string) => Promise<unknown>, fn: () => Promise<unknown>): Promise<void> => {
    const mine = readsInFlight.get(user) ?? 0;
    if (mine >= READS_PER_USER) {
      await tell(`:hourglass_flowing_sand: You have ${mine} commands still being worked on: wait for their answers, then ask again.`).catch(() => {});
      return;
    }
    readsInFlight.set(user, mine + 1);
    try {
      await inPool(reads, fn);
    } finally {
      const left = (readsInFlight.get(user) ?? 1) - 1;
      if (left > 0) readsInFlight.set(user, left);
      else readsInFlight.delete(user);
    }
  };

  app.command('/milvus', async ({ command, ack, client, respond }) => {
    const parsed = h.parse(command.text);
    if ('refusal' in parsed) {
      // Bad input is answered in the ack itself: fast, nothing else happens.
      await ack({ response_type: 'ephemeral', text: parsed.refusal });
      return;
    }
    // Redis away: said in the ack, at once; nothing is started, so nothing runs when it is back.
    const down = parsed.command.name === 'help' ? null : h.unavailable();
    if (down) {
      await ack({ response_type: 'ephemeral', text: `:warning: ${down}` });
      return;
    }
    await ack();
    const run = () => h.command(parsed.command, { user: command.user_id, userName: command.user_name, channel: command.channel_id, client, respond, source: 'command' });
    if (parsed.command.name === 'cancel') await decide(run);
    else await read(command.user_id, (text) => respond({ response_type: 'ephemeral', text }), run);
  });

  const caller = (body: BlockAction, client: Caller['client'], respond?: Caller['respond']): Caller => ({
    user: body.user.id,
    userName: body.user.username ?? body.user.name,
    channel: body.channel?.id ?? body.container?.channel_id ?? '',
    client,
    ...(respond ? { respond } : {}),
    source: 'click',
  });
  const threadOf = (body: BlockAction) => body.message?.thread_ts ?? body.message?.ts;

  // Every button of the bot's is acked at once and, while Redis is away, refused there and then:
  // nothing is started, so nothing runs when it is back.
  const buttons = new Set<string>(Object.values(ACTIONS));
  app.use(async (args) => {
    const click = buttonClick(args, buttons);
    if (!click) return args.next();
    await click.ack();
    const down = h.unavailable();
    if (down) return h.refuseClick(down, caller(click.body, args.client, click.respond), threadOf(click.body));
    await args.next();
  });
  app.action<BlockAction<ButtonAction>>(ACTIONS.approve, async ({ body, action, client, respond }) => {
    await decide(() => h.approve(String(action.value ?? ''), caller(body, client, respond), threadOf(body), body.message?.ts));
  });
  app.action<BlockAction<ButtonAction>>(ACTIONS.reject, async ({ body, action, client, respond }) => {
    await decide(() => h.reject(String(action.value ?? ''), caller(body, client, respond), threadOf(body), body.message?.ts));
  });
  app.action<BlockAction<ButtonAction>>(ACTIONS.fleetApprove, async ({ body, action, client, respond }) => {
    await decide(() => h.fleetApprove(String(action.value ?? ''), caller(body, client, respond), threadOf(body), body.message?.ts));
  });
  app.action<BlockAction<ButtonAction>>(ACTIONS.fleetApproveWave, async ({ body, action, client, respond }) => {
    await decide(() => h.fleetApproveWave(String(action.value ?? ''), caller(body, client, respond), threadOf(body), body.message?.ts));
  });
  app.action<BlockAction<ButtonAction>>(ACTIONS.fleetReject, async ({ body, action, client, respond }) => {
    await decide(() => h.fleetReject(String(action.value ?? ''), caller(body, client, respond), threadOf(body), body.message?.ts));
  });
  app.action<BlockAction<ButtonAction>>(ACTIONS.fleetCancel, async ({ body, action, client, respond }) => {
    await decide(() => h.fleetCancel(String(action.value ?? ''), caller(body, client, respond), threadOf(body), body.message?.ts));
  });
  app.action<BlockAction<ButtonAction>>(ACTIONS.rollback, async ({ body, action, client, respond }) => {
    // Asks for a plan (a planner may be slow): a read, not a decision.
    await read(body.user.id, (text) => respond({ response_type: 'ephemeral', text }), () => h.rollbackButton(String(action.value ?? ''), caller(body, client, respond)));
  });
  app.action<BlockAction<ButtonAction>>(ACTIONS.restore, async ({ body, action, client, respond }) => {
    await read(body.user.id, (text) => respond({ response_type: 'ephemeral', text }), () => h.restoreButton(String(action.value ?? ''), caller(body, client, respond)));
  });
  app.action<BlockAction<ButtonAction>>(ACTIONS.showChanges, async ({ body, action, client, respond }) => {
    await read(body.user.id, (text) => respond({ response_type: 'ephemeral', text }), () => h.showChanges(String(action.value ?? ''), caller(body, client, respond), threadOf(body)));
  });
  // The App Home: published again each time the person opens the tab (Slack also sends this
  // event for the Messages and About tabs, which the bot does not draw).
  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab !== 'home' || typeof event.user !== 'string') return;
    await read(event.user, async () => {}, () => h.home(event.user, client));
  });
  app.error(async (err) => {
    o.logger.error({ err: err.message }, 'unhandled error in a Slack listener');
  });

  const server = o.mode === 'http' ? await app.start(o.port) : await app.start();
  let port: number | null = null;
  if (o.mode === 'http' && server && typeof server === 'object' && 'address' in server) {
    gate.watch(server as Server);
    gateSlackRequests(server as Server, { paths: ['/slack/events'], onRefused: (r) => o.logger.warn({ status: r.status, reason: r.reason }, 'Slack endpoint: request refused before its body was read') });
    const addr = (server as { address(): unknown }).address();
    if (addr && typeof addr === 'object' && 'port' in addr) port = Number((addr as { port: number }).port);
  }
  return {
    app,
    port,
    stop: async () => {
      await app.stop();
    },
  };
}
