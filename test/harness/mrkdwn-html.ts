/**
 * Slack mrkdwn to HTML, as the Slack client shows it: bold, italics, strike, code, code blocks,
 * quotes, links, user / channel / group mentions, `<!date^…>` tokens and emoji shortcodes.
 * slack-message-parser reads the markup (Slack's own grammar, not Markdown); this module only
 * turns its tree into escaped HTML, so nothing in a message can inject markup into the page.
 */
import { get as emojiFor } from 'node-emoji';
import { NodeType, parse, type Node } from 'slack-message-parser';

export interface MrkdwnContext {
  /** Display name of a user id (`U…`/`W…`); the id itself when unknown. */
  userName?: (id: string) => string | undefined;
  /** Name of a user group (`S…`) when its mention has no label. */
  groupName?: (id: string) => string | undefined;
  /** Name of a channel (`C…`) when its link has no label. */
  channelName?: (id: string) => string | undefined;
  /** Dates are shown in this time zone (the demo users' zone); default UTC. */
  timeZone?: string;
  /** "Now" for `{ago}`; default Date.now(). */
  now?: number;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

/** Slack escapes only these three in message text; undo that before escaping for HTML. */
function slackUnescape(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Slack's names that node-emoji's (older) data set lacks. */
const SLACK_ONLY_EMOJI: Readonly<Record<string, string>> = {
  large_green_circle: '🟢',
  large_yellow_circle: '🟡',
  large_orange_circle: '🟠',
  octagonal_sign: '🛑',
  white_circle: '⚪',
};

/** The emoji for a shortcode name, or null when neither data set knows it. */
export function emoji(name: string): string | null {
  return (Object.hasOwn(SLACK_ONLY_EMOJI, name) ? SLACK_ONLY_EMOJI[name] : undefined) ?? emojiFor(name) ?? null;
}

/** `:name:` shortcodes in plain text (plain_text objects with `emoji: true`), as emoji, escaped. */
export function plainTextHtml(text: string, withEmoji = true): string {
  if (!withEmoji) return escapeHtml(text);
  return text
    .split(/(:[a-z0-9_+-]+:)/)
    .map((part) => {
      const m = /^:([a-z0-9_+-]+):$/.exec(part);
      const e = m ? emoji(m[1]!) : null;
      return e ? `<span class="emoji" title="${escapeHtml(part)}">${e}</span>` : escapeHtml(part);
    })
    .join('');
}

export function mrkdwnHtml(text: string, ctx: MrkdwnContext = {}): string {
  return nodesHtml(parse(text).children, ctx);
}

/**
 * Plain text, with inline code the parser left behind: it wants a closing backtick followed by a
 * space or one of `.,])}!?-=`, while the Slack client also shows `name`: as code.
 */
function textHtml(text: string): string {
  return text
    .split(/(`[^`\n]+`)/)
    .map((part, i) => (i % 2 === 1 ? `<code>${escapeHtml(slackUnescape(part.slice(1, -1)))}</code>` : escapeHtml(slackUnescape(part))))
    .join('');
}

function nodesHtml(nodes: readonly Node[] | undefined, ctx: MrkdwnContext): string {
  return (nodes ?? []).map((n) => nodeHtml(n, ctx)).join('');
}

function nodeHtml(n: Node, ctx: MrkdwnContext): string {
  switch (n.type) {
    case NodeType.Root:
      return nodesHtml(n.children, ctx);
    case NodeType.Text:
      return textHtml(n.text);
    case NodeType.Bold:
      return `<b>${nodesHtml(n.children, ctx)}</b>`;
    case NodeType.Italic:
      return `<i>${nodesHtml(n.children, ctx)}</i>`;
    case NodeType.Strike:
      return `<s>${nodesHtml(n.children, ctx)}</s>`;
    case NodeType.Quote:
      return `<blockquote>${nodesHtml(n.children, ctx)}</blockquote>`;
    case NodeType.Code:
      return `<code>${escapeHtml(slackUnescape(n.text))}</code>`;
    case NodeType.PreText:
      return `<pre>${escapeHtml(slackUnescape(n.text))}</pre>`;
    case NodeType.Emoji: {
      const e = emoji(n.name);
      return e ? `<span class="emoji" title=":${escapeHtml(n.name)}:">${e}</span>` : escapeHtml(n.source);
    }
    case NodeType.UserLink: {
      const label = n.label?.length ? nodesHtml(n.label, ctx) : escapeHtml(ctx.userName?.(n.userID) ?? n.userID);
      return `<span class="mention user" data-user="${escapeHtml(n.userID)}">@${label}</span>`;
    }
    case NodeType.ChannelLink: {
      const label = n.label?.length ? nodesHtml(n.label, ctx) : escapeHtml(ctx.channelName?.(n.channelID) ?? n.channelID);
      return `<span class="mention channel">#${label}</span>`;
    }
    case NodeType.URL: {
      const url = slackUnescape(n.url);
      const safe = /^(https?:|mailto:)/i.test(url);
      const label = n.label?.length ? nodesHtml(n.label, ctx) : escapeHtml(url);
      return safe ? `<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${label}</a>` : label;
    }
    case NodeType.Command:
      return commandHtml(n.name, n.arguments, n.label, ctx);
  }
}

function commandHtml(name: string, args: readonly string[], label: Node[] | undefined, ctx: MrkdwnContext): string {
  if (name === 'date') {
    const when = new Date(Number(args[0] || NaN) * 1000);
    const valid = !Number.isNaN(when.getTime());
    const format = slackUnescape(args[1] ?? '{date}');
    const shown = valid ? escapeHtml(formatSlackDate(when.getTime() / 1000, format, ctx)) : label?.length ? nodesHtml(label, ctx) : '';
    return `<time class="date" datetime="${valid ? when.toISOString() : ''}">${shown}</time>`;
  }
  if (name === 'subteam') {
    const id = args[0] ?? '';
    const shown = label?.length ? nodesHtml(label, ctx) : `@${escapeHtml(ctx.groupName?.(id) ?? id)}`;
    return `<span class="mention group" data-group="${escapeHtml(id)}">${shown}</span>`;
  }
  if (name === 'here' || name === 'channel' || name === 'everyone') return `<span class="mention broadcast">@${name}</span>`;
  return label?.length ? nodesHtml(label, ctx) : escapeHtml(`<!${slackUnescape(name)}>`);
}

/**
 * Slack's date tokens (api.slack.com "Formatting text": date formatting), in the viewer's zone.
 * `{date_pretty}` and friends say Today / Yesterday / Tomorrow when they apply.
 */
export function formatSlackDate(epochSeconds: number, format: string, ctx: MrkdwnContext = {}): string {
  const timeZone = ctx.timeZone ?? 'UTC';
  const d = new Date(epochSeconds * 1000);
  const part = (o: Intl.DateTimeFormatOptions) => new Intl.DateTimeFormat('en-US', { timeZone, ...o }).format(d);
  const dayKey = (t: Date) => new Intl.DateTimeFormat('en-CA', { timeZone }).format(t);
  const now = ctx.now ?? Date.now();
  const relative = (fallback: string): string => {
    const day = dayKey(d);
    if (day === dayKey(new Date(now))) return 'Today';
    if (day === dayKey(new Date(now - 86_400_000))) return 'Yesterday';
    if (day === dayKey(new Date(now + 86_400_000))) return 'Tomorrow';
    return fallback;
  };
  const long = part({ weekday: 'long', month: 'long', day: 'numeric', year: 'numeric' });
  const mid = part({ month: 'long', day: 'numeric', year: 'numeric' });
  const short = part({ month: 'short', day: 'numeric', year: 'numeric' });
  const tokens: Record<string, () => string> = {
    date_num: () => dayKey(d),
    date: () => mid,
    date_short: () => short,
    date_long: () => long,
    date_pretty: () => relative(mid),
    date_short_pretty: () => relative(short),
    date_long_pretty: () => relative(long),
    time: () => part({ hour: 'numeric', minute: '2-digit' }),
    time_secs: () => part({ hour: 'numeric', minute: '2-digit', second: '2-digit' }),
    ago: () => ago(now - epochSeconds * 1000),
  };
  return format.replace(/\{([a-z_]+)\}/g, (whole, token: string) => tokens[token]?.() ?? whole);
}

function ago(ms: number): string {
  const future = ms < 0;
  const s = Math.round(Math.abs(ms) / 1000);
  const [n, unit] = s < 60 ? [s, 'second'] : s < 3600 ? [Math.round(s / 60), 'minute'] : s < 86_400 ? [Math.round(s / 3600), 'hour'] : [Math.round(s / 86_400), 'day'];
  const words = `${n} ${unit}${n === 1 ? '' : 's'}`;
  return future ? `in ${words}` : `${words} ago`;
}
