/**
 * The stub's page renders what the app posts as the Slack client would: mrkdwn to escaped HTML
 * (mrkdwn-html.ts) and Block Kit, threads, ephemerals and people's actions (slack-page.ts).
 * Exact HTML fragments, plus a table of hostile inputs (and a property) that must never produce
 * markup of their own: no `<script`, no event-handler attribute, no quote breaking out of one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emoji, formatSlackDate, mrkdwnHtml, plainTextHtml, type MrkdwnContext } from '../harness/mrkdwn-html.js';
import { blockHtml, channelHtml, escapeHtml, homeHtml, type ChannelInput, type PageContext } from '../harness/slack-page.js';
import type { ClientEvent } from '../harness/slack-client.js';
import type { StubEphemeral, StubMessage } from '../harness/slack-stub.js';

const NAMES: Record<string, string> = { U1: 'alice', U2: 'bob' };
const mctx: MrkdwnContext = {
  userName: (id) => NAMES[id],
  channelName: (id) => (id === 'C1' ? 'ops' : undefined),
  groupName: (id) => (id === 'S1' ? 'oncall' : undefined),
  timeZone: 'UTC',
};
const ctx: PageContext = { mrkdwn: mctx, interactive: false, botName: 'Milvus Upgrade' };
const live: PageContext = { ...ctx, interactive: true };

const DISABLED = ' disabled title="The demo plays itself: run DEMO_INTERACTIVE=1 npm run demo to click"';
const alice = '<span class="mention user" data-user="U1">@alice</span>';
const link = (href: string, label: string) => `<a href="${href}" target="_blank" rel="noopener noreferrer">${label}</a>`;

/** HTML attribute value back to text (the entities escapeHtml writes). */
const unescapeAttr = (s: string): string =>
  s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

const TAGS = new Set(['a', 'b', 'blockquote', 'button', 'code', 'div', 'hr', 'i', 'img', 'p', 'pre', 's', 'span', 'time']);
const ATTRS = /^(class|href|target|rel|title|datetime|type|src|alt|disabled|aria-hidden|data-[a-z-]+)$/;
const ENTITY_OK = /&(?!(?:amp|lt|gt|quot|#39);)/;

/**
 * Only the renderer's own markup: known tags, known attributes (none `on…`), every value double
 * quoted with no raw quote, `<`, `>` or bare `&` inside, hrefs http(s)/mailto only, and text
 * between tags fully escaped.
 */
function expectSafeHtml(html: string): void {
  expect(html).not.toMatch(/<\s*script/i);
  for (const [, inner] of html.matchAll(/<([^<>]*)>/g)) {
    const tag = /^\/?([a-z0-9]+)((?:\s+[a-z-]+(?:="[^"<>]*")?)*)$/.exec(inner!);
    expect(tag, `malformed tag <${inner}> in ${html}`).not.toBeNull();
    expect(TAGS.has(tag![1]!), `tag ${tag![1]} in ${html}`).toBe(true);
    for (const [, name, value] of tag![2]!.matchAll(/\s+([a-z-]+)(?:="([^"]*)")?/g)) {
      expect(name, `attribute ${name} in ${html}`).toMatch(ATTRS);
      if (value === undefined) continue;
      expect(value, `bare & in ${name}="${value}"`).not.toMatch(ENTITY_OK);
      if (name === 'href') expect(unescapeAttr(value)).toMatch(/^(https?:|mailto:)/i);
      if (name === 'src') expect(unescapeAttr(value)).not.toMatch(/^\s*(javascript|data):/i);
    }
  }
  const text = html.replace(/<[^<>]*>/g, '');
  expect(text, `unescaped text in ${html}`).not.toMatch(/[<>"']/);
  expect(text, `bare & in ${html}`).not.toMatch(ENTITY_OK);
}

const HOSTILE = [
  '<script>alert(1)</script>',
  '&lt;script&gt;alert(1)&lt;/script&gt;',
  '<img src=x onerror=alert(1)>',
  '&lt;img src=x onerror=alert(1)&gt;',
  '"><script>alert(1)</script>',
  "'onmouseover='alert(1)",
  '`</code><script>x</script>`: tail',
  '```</pre><script>x</script>```',
  '*</b><script>x</script>*',
  '&gt; </blockquote><img src=x onerror=alert(1)>',
  '<javascript:alert(1)|click me>',
  '<JavaScript:alert(1)>',
  '<data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;|d>',
  '<https://x"onerror="alert(1)|x>',
  '<https://x/?q=&quot;&gt;&lt;script&gt;|q>',
  '<https://x|<img src=x onerror=alert(1)>>',
  '<https://x|&lt;img src=x onerror=alert(1)&gt;>',
  '<@U1"onmouseover="alert(1)>',
  '<@U9|"><script>x</script>>',
  '<@U9|&lt;script&gt;>',
  '<#C9"x="y|ch>',
  '<#C9|&quot;&gt;&lt;script&gt;>',
  '<!subteam^S9"onerror="x|@g>',
  '<!subteam^S9>',
  '<!date^1700000000^{date} &lt;script&gt;|x>',
  '<!date^nope^{date}|&lt;script&gt;>',
  '<!date^99999999999999999^{date}|far>',
  '<!date^1e300^{time}|far>',
  '<!foo"bar>',
  '<!foo|&lt;script&gt;>',
  ':"onerror=x:',
  ':constructor: :__proto__: :toString:',
  '&amp;lt;script&amp;gt;',
  '&#60;script&#62;',
];

/** Resolvers that answer with markup, to check names are escaped too. */
const hostileCtx: MrkdwnContext = {
  userName: () => '"><script>alert(1)</script>',
  channelName: () => "'><img src=x onerror=alert(1)>",
  groupName: () => '"onerror="x',
  timeZone: 'UTC',
};

describe('mrkdwnHtml: formatting', () => {
  it('bold, italic, strike, inline code, nesting', () => {
    expect(mrkdwnHtml('*bold* _it_ ~st~ `code`')).toBe('<b>bold</b> <i>it</i> <s>st</s> <code>code</code>');
    expect(mrkdwnHtml('*bold _it_*')).toBe('<b>bold <i>it</i></b>');
    expect(mrkdwnHtml('*From*\n2.4.1')).toBe('<b>From</b>\n2.4.1');
    expect(mrkdwnHtml('`x`, `y`.')).toBe('<code>x</code>, <code>y</code>.');
  });

  it('inline code followed by ":" is code, as the Slack client shows it', () => {
    expect(mrkdwnHtml('`a-b`: deleted')).toBe('<code>a-b</code>: deleted');
    expect(mrkdwnHtml('• `milvus-proxy`: image `milvus:v2.4.23`')).toBe('• <code>milvus-proxy</code>: image <code>milvus:v2.4.23</code>');
  });

  it('code blocks keep their lines and are escaped', () => {
    expect(mrkdwnHtml('```a &lt;b&gt; & "c"\n  d```')).toBe('<pre>a &lt;b&gt; &amp; &quot;c&quot;\n  d</pre>');
  });

  it('quotes (Slack sends ">" as &gt;) and a raw ">" stays text', () => {
    expect(mrkdwnHtml('&gt; quoted *b*')).toMatch(/^<blockquote> ?quoted <b>b<\/b><\/blockquote>$/);
    expect(mrkdwnHtml('x\n&gt; q')).toMatch(/^x\n<blockquote> ?q<\/blockquote>$/);
    expect(mrkdwnHtml('&gt;&gt;&gt; rest\nmore')).toMatch(/^<blockquote> ?rest\nmore<\/blockquote>$/);
    expect(mrkdwnHtml('a > b')).toBe('a &gt; b');
  });
});

describe('mrkdwnHtml: links and mentions', () => {
  it('links open in a new tab, with or without a label', () => {
    expect(mrkdwnHtml('<https://x|label>')).toBe(link('https://x', 'label'));
    expect(mrkdwnHtml('<https://x.example/a>')).toBe(link('https://x.example/a', 'https://x.example/a'));
    expect(mrkdwnHtml('<mailto:a@b.c|mail>')).toBe(link('mailto:a@b.c', 'mail'));
  });

  it('a javascript: (or data:) URL is not a link, only its label', () => {
    expect(mrkdwnHtml('<javascript:alert(1)|click>')).toBe('click');
    expect(mrkdwnHtml('<JavaScript:alert(1)>')).toBe('JavaScript:alert(1)');
    expect(mrkdwnHtml('see <data:text/html,x|this>')).toBe('see this');
  });

  it("Slack's &amp; in a URL is one & in the href and in the shown URL", () => {
    expect(mrkdwnHtml('<https://x/?a=1&amp;b=2>')).toBe(link('https://x/?a=1&amp;b=2', 'https://x/?a=1&amp;b=2'));
    expect(mrkdwnHtml('<https://x/?a=1&amp;b=2|q>')).toBe(link('https://x/?a=1&amp;b=2', 'q'));
  });

  it('user mentions: the id without a resolver, the name with one, the label when given', () => {
    expect(mrkdwnHtml('<@U1>')).toBe('<span class="mention user" data-user="U1">@U1</span>');
    expect(mrkdwnHtml('<@U1>', mctx)).toBe(alice);
    expect(mrkdwnHtml('<@U7>', mctx)).toBe('<span class="mention user" data-user="U7">@U7</span>');
    expect(mrkdwnHtml('<@U1|bobby>', mctx)).toBe('<span class="mention user" data-user="U1">@bobby</span>');
  });

  it('channel mentions: label, resolved name, or id', () => {
    expect(mrkdwnHtml('<#C1|general>', mctx)).toBe('<span class="mention channel">#general</span>');
    expect(mrkdwnHtml('<#C1>', mctx)).toBe('<span class="mention channel">#ops</span>');
    expect(mrkdwnHtml('<#C2>', mctx)).toBe('<span class="mention channel">#C2</span>');
  });

  it('broadcasts and user groups', () => {
    expect(mrkdwnHtml('<!here>')).toBe('<span class="mention broadcast">@here</span>');
    expect(mrkdwnHtml('<!channel> <!everyone>')).toBe('<span class="mention broadcast">@channel</span> <span class="mention broadcast">@everyone</span>');
    expect(mrkdwnHtml('<!subteam^S1|@ops>')).toBe('<span class="mention group" data-group="S1">@ops</span>');
    expect(mrkdwnHtml('<!subteam^S1>', mctx)).toBe('<span class="mention group" data-group="S1">@oncall</span>');
    expect(mrkdwnHtml('<!subteam^S2>', mctx)).toBe('<span class="mention group" data-group="S2">@S2</span>');
  });

  it('an unknown <!command> shows its label, or itself as text', () => {
    expect(mrkdwnHtml('<!foo|bar>')).toBe('bar');
    expect(mrkdwnHtml('<!foo>')).toBe('&lt;!foo&gt;');
  });
});

describe('mrkdwnHtml and formatSlackDate: dates', () => {
  // 1700000000 = 2023-11-14T22:13:20Z, 17:13 in New York.
  const token = '<!date^1700000000^{date_short} {time}|fallback>';

  it('renders a <time> in the context zone, UTC by default', () => {
    expect(mrkdwnHtml(token)).toBe('<time class="date" datetime="2023-11-14T22:13:20.000Z">Nov 14, 2023 10:13 PM</time>');
    expect(mrkdwnHtml(token, { timeZone: 'America/New_York' })).toBe('<time class="date" datetime="2023-11-14T22:13:20.000Z">Nov 14, 2023 5:13 PM</time>');
  });

  it('shows the fallback, rendered and escaped once, when the epoch is not a date', () => {
    expect(mrkdwnHtml('<!date^soon^{date}|in a bit &amp; *more*>')).toBe('<time class="date" datetime="">in a bit &amp; <b>more</b></time>');
    expect(mrkdwnHtml('<!date^^{date}|unset>')).toBe('<time class="date" datetime="">unset</time>');
    // Out of Date's range: the fallback, not a RangeError that would break the whole pane.
    expect(mrkdwnHtml('<!date^99999999999999999^{date}|far away>')).toBe('<time class="date" datetime="">far away</time>');
  });

  it("the format's literal text is unescaped from Slack and escaped for HTML once", () => {
    expect(mrkdwnHtml('<!date^1700000000^{date} &amp; {time}|x>')).toBe('<time class="date" datetime="2023-11-14T22:13:20.000Z">November 14, 2023 &amp; 10:13 PM</time>');
  });

  it('every token, in a given zone', () => {
    const now = Date.UTC(2023, 11, 25);
    const f = (format: string, timeZone = 'UTC') => formatSlackDate(1_700_000_000, format, { now, timeZone });
    expect(f('{date_num}')).toBe('2023-11-14');
    expect(f('{date}')).toBe('November 14, 2023');
    expect(f('{date_short}')).toBe('Nov 14, 2023');
    expect(f('{date_long}')).toBe('Tuesday, November 14, 2023');
    expect(f('{time}')).toBe('10:13 PM');
    expect(f('{time_secs}')).toBe('10:13:20 PM');
    expect(f('{time}', 'Asia/Tokyo')).toBe('7:13 AM');
    expect(f('{date}', 'Asia/Tokyo')).toBe('November 15, 2023');
    expect(f('{date_pretty}')).toBe('November 14, 2023');
    expect(f('{date_short_pretty}')).toBe('Nov 14, 2023');
    expect(f('{date_long_pretty}')).toBe('Tuesday, November 14, 2023');
    expect(f('at {time} ({nope})')).toBe('at 10:13 PM ({nope})');
  });

  it('Today / Yesterday / Tomorrow by the day in the viewer zone', () => {
    const at = (now: number, timeZone = 'UTC') => formatSlackDate(1_700_000_000, '{date_pretty} {time}', { now, timeZone });
    expect(at(Date.UTC(2023, 10, 14, 8))).toBe('Today 10:13 PM');
    expect(at(Date.UTC(2023, 10, 15, 2))).toBe('Yesterday 10:13 PM');
    // 02:00 UTC on the 15th is still the 14th in New York.
    expect(at(Date.UTC(2023, 10, 15, 2), 'America/New_York')).toBe('Today 5:13 PM');
    expect(at(Date.UTC(2023, 10, 13, 12))).toBe('Tomorrow 10:13 PM');
    expect(formatSlackDate(1_700_000_000, '{date_short_pretty}', { now: Date.UTC(2023, 10, 15, 12) })).toBe('Yesterday');
    expect(formatSlackDate(1_700_000_000, '{date_long_pretty}', { now: Date.UTC(2023, 10, 14) })).toBe('Today');
  });

  it('{ago} counts from ctx.now, past and future', () => {
    const ago = (deltaMs: number) => formatSlackDate(1_700_000_000, '{ago}', { now: 1_700_000_000_000 + deltaMs });
    expect(ago(47 * 60_000)).toBe('47 minutes ago');
    expect(ago(1_000)).toBe('1 second ago');
    expect(ago(3 * 3_600_000)).toBe('3 hours ago');
    expect(ago(86_400_000)).toBe('1 day ago');
    expect(ago(-2 * 86_400_000)).toBe('in 2 days');
  });
});

describe('mrkdwnHtml: emoji', () => {
  it('standard shortcodes via node-emoji, Slack-only ones from its own table, unknown ones as text', () => {
    expect(mrkdwnHtml(':warning:')).toBe('<span class="emoji" title=":warning:">⚠️</span>');
    expect(mrkdwnHtml(':large_green_circle: up')).toBe('<span class="emoji" title=":large_green_circle:">🟢</span> up');
    expect(mrkdwnHtml(':octagonal_sign:')).toBe('<span class="emoji" title=":octagonal_sign:">🛑</span>');
    expect(mrkdwnHtml('a :not_an_emoji_xyz: b')).toBe('a :not_an_emoji_xyz: b');
    expect(emoji('white_check_mark')).toBe('✅');
    expect(emoji('large_yellow_circle')).toBe('🟡');
    expect(emoji('not_an_emoji_xyz')).toBeNull();
  });

  it('names of Object.prototype members are not emoji', () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) expect(emoji(name), name).toBeNull();
    expect(mrkdwnHtml(':constructor: :toString:')).toBe(':constructor: :toString:');
    expect(plainTextHtml(':__proto__:')).toBe(':__proto__:');
  });

  it('plain_text: emoji unless emoji: false, always escaped', () => {
    expect(plainTextHtml(':warning: <b> & "x"')).toBe('<span class="emoji" title=":warning:">⚠️</span> &lt;b&gt; &amp; &quot;x&quot;');
    expect(plainTextHtml(':warning: &amp;', false)).toBe(':warning: &amp;amp;');
  });
});

describe('mrkdwnHtml: escaping', () => {
  it('escapeHtml escapes & < > " \'', () => {
    expect(escapeHtml(`a & b < c > d " e ' f`)).toBe('a &amp; b &lt; c &gt; d &quot; e &#39; f');
  });

  it("text: Slack's &amp; &lt; &gt; show as & < >, still escaped; raw specials escaped", () => {
    expect(mrkdwnHtml('&lt;i&gt; & "q" \'s\'')).toBe('&lt;i&gt; &amp; &quot;q&quot; &#39;s&#39;');
    expect(mrkdwnHtml('a &amp; b')).toBe('a &amp; b');
    // Unescaped once only: Slack's "&amp;lt;" is the text "&lt;".
    expect(mrkdwnHtml('&amp;lt;')).toBe('&amp;lt;');
  });

  it('inline code and code blocks', () => {
    expect(mrkdwnHtml('`&lt;T&gt; & "q"`')).toBe('<code>&lt;T&gt; &amp; &quot;q&quot;</code>');
    expect(mrkdwnHtml('`&amp;lt;`: x')).toBe('<code>&amp;lt;</code>: x');
    expect(mrkdwnHtml('```&amp;&amp; "x"```')).toBe('<pre>&amp;&amp; &quot;x&quot;</pre>');
  });

  it('link labels and URLs', () => {
    expect(mrkdwnHtml('<https://x|a &amp; "b">')).toBe(link('https://x', 'a &amp; &quot;b&quot;'));
    expect(mrkdwnHtml('<https://x"y|z>')).toBe(link('https://x&quot;y', 'z'));
  });

  it('mention labels, resolved names and ids', () => {
    expect(mrkdwnHtml('<@U1|a &amp; "b">')).toBe('<span class="mention user" data-user="U1">@a &amp; &quot;b&quot;</span>');
    expect(mrkdwnHtml('<@U1>', { userName: () => 'al"<i>ce&' })).toBe('<span class="mention user" data-user="U1">@al&quot;&lt;i&gt;ce&amp;</span>');
    expect(mrkdwnHtml('<@U1"x>')).toBe('<span class="mention user" data-user="U1&quot;x">@U1&quot;x</span>');
    expect(mrkdwnHtml('<#C1|a &amp; b>')).toBe('<span class="mention channel">#a &amp; b</span>');
    expect(mrkdwnHtml('<#C1>', { channelName: () => 'ops&dev' })).toBe('<span class="mention channel">#ops&amp;dev</span>');
    expect(mrkdwnHtml('<!subteam^S1|@a &amp; "b">')).toBe('<span class="mention group" data-group="S1">@a &amp; &quot;b&quot;</span>');
    expect(mrkdwnHtml('<!subteam^S1>', { groupName: () => '<ops>' })).toBe('<span class="mention group" data-group="S1">@&lt;ops&gt;</span>');
  });

  it.each(HOSTILE)('hostile input %j renders no markup of its own', (input) => {
    expectSafeHtml(mrkdwnHtml(input));
    expectSafeHtml(mrkdwnHtml(input, hostileCtx));
    expectSafeHtml(mrkdwnHtml(`*${input}* _${input}_ \`${input}\`: &gt; ${input}`, hostileCtx));
    expectSafeHtml(plainTextHtml(input));
  });

  it('the checker itself catches injected markup', () => {
    expect(() => expectSafeHtml('<script>x</script>')).toThrow();
    expect(() => expectSafeHtml('<img src=x onerror=alert(1)>')).toThrow();
    expect(() => expectSafeHtml('<span class="a" onmouseover="x">')).toThrow();
    expect(() => expectSafeHtml('<span data-user="U1"x">')).toThrow();
    expect(() => expectSafeHtml('<a href="javascript:x">')).toThrow();
    expect(() => expectSafeHtml('a " b')).toThrow();
    expect(() => expectSafeHtml('a & b')).toThrow();
    expectSafeHtml('<b>ok &amp; fine</b>');
  });

  it('property: any mix of Slack markup and hostile fragments renders no markup of its own', () => {
    const piece = fc.oneof(
      fc.constantFrom(...HOSTILE, '<', '>', '|', '"', "'", '&', '&amp;', '&lt;', '&gt;', '*', '_', '~', '`', '```', '\n', ':', ' ', '<@U1', '<#C1', '<!date^', '^', 'javascript:', 'https://', 'onerror=', 'script'),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
        const text = parts.join('');
        expectSafeHtml(mrkdwnHtml(text, hostileCtx));
        expectSafeHtml(plainTextHtml(text));
      }),
      { numRuns: 400 },
    );
  });
});

describe('blockHtml', () => {
  const button = (over: Record<string, unknown> = {}) => ({ type: 'button', action_id: 'approve', value: 'r1', text: { type: 'plain_text', text: 'Approve' }, ...over });

  it('header: plain text with emoji, escaped; emoji: false keeps the shortcode', () => {
    expect(blockHtml({ type: 'header', block_id: 'h1', text: { type: 'plain_text', text: 'Upgrade :rocket: a & b' } }, ctx)).toBe(
      '<div class="block block-header" data-block-id="h1">Upgrade <span class="emoji" title=":rocket:">🚀</span> a &amp; b</div>',
    );
    expect(blockHtml({ type: 'header', text: { type: 'plain_text', text: ':rocket:', emoji: false } }, ctx)).toBe(
      '<div class="block block-header" data-block-id="">:rocket:</div>',
    );
  });

  it('section: mrkdwn text, fields, and a button accessory carrying the block id', () => {
    const html = blockHtml(
      {
        type: 'section',
        block_id: 's1',
        text: { type: 'mrkdwn', text: '*Release* `r1` by <@U1>' },
        fields: [
          { type: 'mrkdwn', text: '*From*\n2.4.1' },
          { type: 'plain_text', text: 'To: 2.4.23' },
        ],
        accessory: button({ action_id: 'details', text: { type: 'plain_text', text: 'Details' } }),
      },
      ctx,
    );
    expect(html).toBe(
      '<div class="block block-section" data-block-id="s1"><div class="section-body">' +
        `<div class="section-text"><b>Release</b> <code>r1</code> by ${alice}</div>` +
        '<div class="fields"><div class="field"><b>From</b>\n2.4.1</div><div class="field">To: 2.4.23</div></div></div>' +
        `<div class="accessory"><button type="button" class="btn" data-action-id="details" data-block-id="s1" data-value="r1"${DISABLED}>Details</button></div></div>`,
    );
  });

  it('section with only fields, and a section whose accessory is an image', () => {
    expect(blockHtml({ type: 'section', fields: [{ type: 'mrkdwn', text: '_a_' }] }, ctx)).toBe(
      '<div class="block block-section" data-block-id=""><div class="section-body"><div class="fields"><div class="field"><i>a</i></div></div></div></div>',
    );
    expect(blockHtml({ type: 'section', text: { type: 'plain_text', text: 't' }, accessory: { type: 'image', image_url: 'https://x/i.png', alt_text: 'i "q"' } }, ctx)).toBe(
      '<div class="block block-section" data-block-id=""><div class="section-body"><div class="section-text">t</div></div>' +
        '<div class="accessory"><img class="ctx-image" src="https://x/i.png" alt="i &quot;q&quot;"></div></div>',
    );
  });

  it('mrkdwn with verbatim: true is still formatted (verbatim only stops auto-linking)', () => {
    expect(blockHtml({ type: 'section', text: { type: 'mrkdwn', text: '*b* &amp; <@U1>', verbatim: true } }, ctx)).toBe(
      `<div class="block block-section" data-block-id=""><div class="section-body"><div class="section-text"><b>b</b> &amp; ${alice}</div></div></div>`,
    );
  });

  it('context: mrkdwn, image and plain_text elements', () => {
    const html = blockHtml(
      {
        type: 'context',
        block_id: 'c1',
        elements: [
          { type: 'mrkdwn', text: ':white_check_mark: done by <@U1>' },
          { type: 'image', image_url: 'https://x/i.png', alt_text: 'icon' },
          { type: 'plain_text', text: 'v2 & more' },
        ],
      },
      ctx,
    );
    expect(html).toBe(
      '<div class="block block-context" data-block-id="c1">' +
        `<span class="ctx-text"><span class="emoji" title=":white_check_mark:">✅</span> done by ${alice}</span>` +
        '<img class="ctx-image" src="https://x/i.png" alt="icon"><span class="ctx-text">v2 &amp; more</span></div>',
    );
  });

  it('divider and image blocks', () => {
    expect(blockHtml({ type: 'divider', block_id: 'd' }, ctx)).toBe('<hr class="block block-divider" data-block-id="d">');
    expect(blockHtml({ type: 'image', block_id: 'i', image_url: 'https://x/a.png?a=1&b=2', alt_text: 'a "b"' }, ctx)).toBe(
      '<div class="block block-image" data-block-id="i"><img src="https://x/a.png?a=1&amp;b=2" alt="a &quot;b&quot;"></div>',
    );
  });

  it('actions: buttons with styles and data attributes, disabled when not interactive', () => {
    const block = {
      type: 'actions',
      block_id: 'a1',
      elements: [
        button({ style: 'primary' }),
        button({ action_id: 'cancel', value: 'x&"y', style: 'danger', text: { type: 'plain_text', text: 'Cancel' } }),
        button({ action_id: 'other', value: undefined, style: 'fancy', text: { type: 'plain_text', text: 'Other' } }),
      ],
    };
    expect(blockHtml(block, ctx)).toBe(
      '<div class="block block-actions" data-block-id="a1">' +
        `<button type="button" class="btn primary" data-action-id="approve" data-block-id="a1" data-value="r1"${DISABLED}>Approve</button>` +
        `<button type="button" class="btn danger" data-action-id="cancel" data-block-id="a1" data-value="x&amp;&quot;y"${DISABLED}>Cancel</button>` +
        `<button type="button" class="btn" data-action-id="other" data-block-id="a1" data-value=""${DISABLED}>Other</button></div>`,
    );
    const clickable = blockHtml(block, live);
    expect(clickable).toContain('<button type="button" class="btn primary" data-action-id="approve" data-block-id="a1" data-value="r1">Approve</button>');
    expect(clickable).not.toContain('disabled');
  });

  it('a button with confirm carries its dialog as JSON, parts rendered to HTML', () => {
    const html = blockHtml(
      {
        type: 'actions',
        block_id: 'a1',
        elements: [
          button({
            style: 'danger',
            confirm: {
              title: { type: 'plain_text', text: 'Sure & certain?' },
              text: { type: 'mrkdwn', text: 'Roll back *r1* for <@U1> "now"' },
              confirm: { type: 'plain_text', text: 'Yes :warning:' },
              deny: { type: 'plain_text', text: 'No' },
              style: 'danger',
            },
          }),
        ],
      },
      live,
    );
    const attr = /<button [^>]*data-confirm="([^"]*)"[^>]*>Approve<\/button>/.exec(html);
    expect(attr, html).not.toBeNull();
    expect(JSON.parse(unescapeAttr(attr![1]!))).toEqual({
      title: 'Sure &amp; certain?',
      text: `Roll back <b>r1</b> for ${alice} &quot;now&quot;`,
      confirm: 'Yes <span class="emoji" title=":warning:">⚠️</span>',
      deny: 'No',
      style: 'danger',
    });
    expectSafeHtml(html);
    // Without confirm, no data-confirm.
    expect(blockHtml({ type: 'actions', elements: [button()] }, live)).not.toContain('data-confirm');
  });

  it('a url button is a link, clickable even when the demo is not interactive', () => {
    expect(blockHtml({ type: 'actions', elements: [button({ url: 'https://docs.example/x?a=1&b=2', style: 'primary', text: { type: 'plain_text', text: 'Docs' } })] }, ctx)).toBe(
      '<div class="block block-actions" data-block-id=""><a class="btn primary" href="https://docs.example/x?a=1&amp;b=2" target="_blank" rel="noopener noreferrer">Docs</a></div>',
    );
  });

  it('a url button with a javascript: URL is not a link', () => {
    const html = blockHtml({ type: 'actions', block_id: 'a1', elements: [button({ url: 'javascript:alert(1)' })] }, live);
    expect(html).not.toContain('href=');
    expect(html).toBe('<div class="block block-actions" data-block-id="a1"><button type="button" class="btn" data-action-id="approve" data-block-id="a1" data-value="r1">Approve</button></div>');
  });

  it('unknown blocks and elements render a placeholder, not nothing', () => {
    expect(blockHtml({ type: 'rich_text', block_id: 'r' }, ctx)).toBe('<div class="block block-rich_text" data-block-id="r">[rich_text block]</div>');
    expect(blockHtml({ block_id: 'n' }, ctx)).toBe('<div class="block block-unknown" data-block-id="n">[unknown block]</div>');
    expect(blockHtml({ type: 'actions', elements: [{ type: 'static_select', placeholder: { type: 'plain_text', text: 'Pick & go' } }, { type: 'datepicker' }] }, ctx)).toBe(
      '<div class="block block-actions" data-block-id=""><span class="element unsupported">Pick &amp; go</span><span class="element unsupported">[datepicker]</span></div>',
    );
    expect(blockHtml('not a block', ctx)).toBe('');
  });

  it('hostile ids, values, URLs and texts in blocks render no markup of their own', () => {
    const evil = '"><script>alert(1)</script><img src=x onerror=alert(1)>';
    const blocks: unknown[] = [
      { type: evil, block_id: evil },
      { type: 'header', block_id: evil, text: { type: 'plain_text', text: evil } },
      { type: 'section', block_id: evil, text: { type: 'mrkdwn', text: evil }, fields: [{ type: 'plain_text', text: evil }], accessory: { type: 'image', image_url: evil, alt_text: evil } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: evil, verbatim: true }, { type: 'image', image_url: '" onerror="alert(1)', alt_text: evil }, { type: evil }] },
      { type: 'image', image_url: '" onerror="alert(1)', alt_text: evil },
      {
        type: 'actions',
        block_id: evil,
        elements: [
          { type: 'button', action_id: evil, value: evil, style: evil, text: { type: 'plain_text', text: evil }, confirm: { title: { type: 'plain_text', text: evil }, text: { type: 'mrkdwn', text: evil }, style: evil } },
          { type: 'button', action_id: 'u', url: 'javascript:alert(1)', text: { type: 'plain_text', text: evil } },
          { type: 'button', action_id: 'u', url: 'https://x/"onmouseover="alert(1)', text: { type: 'plain_text', text: evil } },
          { type: 'static_select', placeholder: { type: 'plain_text', text: evil } },
        ],
      },
      ...HOSTILE.map((text) => ({ type: 'section', text: { type: 'mrkdwn', text } })),
    ];
    for (const b of blocks) {
      expectSafeHtml(blockHtml(b, ctx));
      expectSafeHtml(blockHtml(b, live));
    }
  });
});

describe('channelHtml', () => {
  const msg = (ts: string, over: Partial<StubMessage> = {}): StubMessage => ({ channel: 'C1', ts, text: `m ${ts}`, user: 'UBOT', bot_id: 'B1', updates: 0, reactions: [], ...over });
  const eph = (user: string, ts: string, over: Partial<StubEphemeral> = {}): StubEphemeral => ({ channel: 'C1', user, message_ts: ts, text: `for ${user}`, ...over });
  const input = (over: Partial<ChannelInput>): ChannelInput => ({ channel: 'C1', messages: [], ephemerals: [], events: [], viewer: undefined, ...over });
  /** data-ts of each `.message` in document order, with its class. */
  const order = (html: string) => [...html.matchAll(/<div class="(message[^"]*)" data-ts="([^"]*)"/g)].map((m) => `${m[1]} ${m[2]}`);
  const T = (s: number) => `${1_700_000_000 + s}.000100`;

  it('an empty channel says so', () => {
    expect(channelHtml(input({}), ctx)).toBe('<p class="empty">No messages yet.</p>');
    expect(channelHtml(input({ messages: [msg(T(1), { channel: 'C2' })] }), ctx)).not.toContain('No messages yet.');
  });

  it('a message exactly: bot name, APP badge, clock time, text as mrkdwn', () => {
    expect(channelHtml(input({ messages: [msg(T(0), { text: '*hi* <@U1>' })] }), ctx)).toBe(
      `<div class="message" data-ts="${T(0)}" data-channel="C1" data-thread-ts="" data-updates="0">` +
        '<div class="avatar bot" aria-hidden="true">M</div><div class="content"><div class="meta"><span class="name">Milvus Upgrade</span><span class="badge">APP</span><span class="time">10:13 PM</span></div>' +
        `<div class="text"><b>hi</b> ${alice}</div></div></div>`,
    );
  });

  it('top-level messages in ts order, whatever order they come in', () => {
    const html = channelHtml(input({ messages: [msg(T(300)), msg(T(100)), msg(T(200))] }), ctx);
    expect(order(html)).toEqual([`message ${T(100)}`, `message ${T(200)}`, `message ${T(300)}`]);
  });

  it('with blocks, the text is only the fallback and is not shown', () => {
    const html = channelHtml(input({ messages: [msg(T(0), { text: 'fallback only', blocks: [{ type: 'divider' }] })] }), ctx);
    expect(html).toContain('<div class="blocks"><hr class="block block-divider" data-block-id=""></div>');
    expect(html).not.toContain('fallback only');
  });

  it('replies sit in the thread below their parent, in ts order, counted, with .message.reply', () => {
    const parent = msg(T(100), { thread_ts: T(100) });
    const html = channelHtml(
      input({ messages: [msg(T(300), { thread_ts: T(100) }), parent, msg(T(150), { thread_ts: T(100) }), msg(T(200)), msg(T(250), { thread_ts: T(200) })] }),
      ctx,
    );
    expect(order(html)).toEqual([`message ${T(100)}`, `message reply ${T(150)}`, `message reply ${T(300)}`, `message ${T(200)}`, `message reply ${T(250)}`]);
    expect(html).toContain(`<div class="thread" data-thread-ts="${T(100)}"><div class="thread-count">2 replies</div><div class="message reply" data-ts="${T(150)}"`);
    expect(html).toContain(`<div class="thread" data-thread-ts="${T(200)}"><div class="thread-count">1 reply</div><div class="message reply" data-ts="${T(250)}"`);
    // The thread is inside the parent's message, before it closes.
    const parentStart = html.indexOf(`data-ts="${T(100)}"`);
    const next = html.indexOf(`<div class="message" data-ts="${T(200)}"`);
    expect(html.slice(parentStart, next)).toContain(`<div class="thread-count">2 replies</div>`);
  });

  it('a reply whose parent is not in the channel shows at top level', () => {
    const html = channelHtml(input({ messages: [msg(T(5), { thread_ts: T(1) })] }), ctx);
    expect(order(html)).toEqual([`message ${T(5)}`]);
    expect(html).not.toContain('class="thread"');
  });

  it('(edited) when the message was updated, not otherwise', () => {
    const html = channelHtml(input({ messages: [msg(T(1), { updates: 2 }), msg(T(2)), msg(T(3), { updates: 1 })] }), ctx);
    expect(html).toContain('<span class="time">10:13 PM</span> <span class="edited" title="edited 2 time(s)">(edited)</span></div>');
    expect(html).toContain('<span class="edited" title="edited 1 time(s)">(edited)</span>');
    const unedited = html.slice(html.indexOf(`data-ts="${T(2)}"`), html.indexOf(`data-ts="${T(3)}"`));
    expect(unedited).toContain('<span class="time">10:13 PM</span></div>');
    expect(html.match(/\(edited\)/g)).toHaveLength(2);
    expect(html).toContain(`data-ts="${T(1)}" data-channel="C1" data-thread-ts="" data-updates="2"`);
  });

  it('reactions with their emoji and count', () => {
    const html = channelHtml(input({ messages: [msg(T(1), { reactions: [{ name: 'white_check_mark', count: 2, users: ['U1', 'U2'] }] })] }), ctx);
    expect(html).toContain('<div class="reactions"><span class="reaction" data-name="white_check_mark"><span class="emoji" title=":white_check_mark:">✅</span> 2</span></div>');
  });

  it('ephemerals: only the viewer’s, "Only visible to you"', () => {
    const ephemerals = [eph('U1', T(10)), eph('U2', T(20)), eph('U1', T(30), { channel: 'C2' })];
    const html = channelHtml(input({ messages: [msg(T(15))], ephemerals, viewer: 'U1' }), ctx);
    expect(order(html)).toEqual([`message ephemeral ${T(10)}`, `message ${T(15)}`]);
    expect(html).toContain(`<div class="message ephemeral" data-ts="${T(10)}" data-user="U1">`);
    expect(html).toContain('<div class="only-you">👁 Only visible to you</div><div class="text">for U1</div>');
    expect(html).not.toContain('for U2');
  });

  it('ephemerals: everyone’s when there is no viewer, each labelled with its person', () => {
    const html = channelHtml(input({ ephemerals: [eph('U2', T(20)), eph('U1', T(10)), eph('U1', T(30), { channel: 'C2' })], viewer: undefined }), ctx);
    expect(order(html)).toEqual([`message ephemeral ${T(10)}`, `message ephemeral ${T(20)}`]);
    expect(html).toContain(`<div class="only-you">👁 Only visible to ${alice}</div><div class="text">for U1</div>`);
    expect(html).toContain('<div class="only-you">👁 Only visible to <span class="mention user" data-user="U2">@bob</span></div><div class="text">for U2</div>');
    expect(html).not.toContain('Only visible to you');
  });

  it('an ephemeral in a thread is one of its replies', () => {
    const html = channelHtml(input({ messages: [msg(T(1), { thread_ts: T(1) }), msg(T(3), { thread_ts: T(1) })], ephemerals: [eph('U1', T(2), { thread_ts: T(1) })], viewer: 'U1' }), ctx);
    expect(order(html)).toEqual([`message ${T(1)}`, `message ephemeral ${T(2)}`, `message reply ${T(3)}`]);
    expect(html).toContain('<div class="thread-count">2 replies</div>');
  });

  it('what people did is placed among the messages by ts, commands as code', () => {
    const events: ClientEvent[] = [
      { at: 2, ts: T(250), channel: 'C1', user: 'U2', kind: 'click', text: 'clicked "Approve" & <more>' },
      { at: 1, ts: T(150), channel: 'C1', user: 'U1', kind: 'command', text: '/milvus upgrade r1 2.4.23' },
      { at: 3, ts: T(175), channel: 'C2', user: 'U1', kind: 'command', text: 'elsewhere' },
    ];
    const html = channelHtml(input({ messages: [msg(T(300)), msg(T(100)), msg(T(200))], events }), ctx);
    const items = [...html.matchAll(/<div class="message( person)?"(?: data-ts="([^"]*)"| data-kind="([a-z]+)")/g)].map((m) => m[2] ?? m[3]);
    expect(items).toEqual([T(100), 'command', T(200), 'click', T(300)]);
    expect(html).toContain(
      '<div class="message person" data-kind="command"><div class="avatar" aria-hidden="true">A</div><div class="content"><div class="meta"><span class="name">alice</span><span class="time">10:15 PM</span></div>' +
        '<div class="text"><code>/milvus upgrade r1 2.4.23</code></div></div></div>',
    );
    expect(html).toContain('<span class="name">bob</span><span class="time">10:17 PM</span></div><div class="text">clicked &quot;Approve&quot; &amp; &lt;more&gt;</div>');
    expect(html).not.toContain('elsewhere');
  });

  it('hostile texts, names and ids in messages, ephemerals and events render no markup of their own', () => {
    const evil = '"><script>alert(1)</script><img src=x onerror=alert(1)>';
    const evilCtx: PageContext = { mrkdwn: hostileCtx, interactive: true, botName: evil };
    const html = channelHtml(
      input({
        messages: [
          msg(T(1), { text: evil, thread_ts: T(1), reactions: [{ name: evil, count: 1, users: [] }] }),
          msg(T(2), { text: HOSTILE.join('\n'), thread_ts: T(1), updates: 1 }),
          msg(T(3), { blocks: [{ type: 'section', text: { type: 'mrkdwn', text: evil } }] }),
        ],
        ephemerals: [eph(evil, T(4), { text: evil }), eph('U1', T(5), { text: evil, thread_ts: T(1) })],
        events: [{ at: 0, ts: T(6), channel: 'C1', user: evil, kind: 'click', text: evil }, { at: 0, ts: T(7), channel: 'C1', user: 'U1', kind: 'command', text: evil }],
      }),
      evilCtx,
    );
    expect(html).toContain('Only visible to');
    expectSafeHtml(html);
  });
});

describe('homeHtml', () => {
  it('says so when the app has not published a Home', () => {
    expect(homeHtml(undefined, ctx)).toBe('<p class="empty">The app has not published a Home for you yet.</p>');
  });

  it('renders the published view’s blocks', () => {
    expect(homeHtml({ type: 'home', blocks: [{ type: 'header', text: { type: 'plain_text', text: 'Releases' } }, { type: 'divider' }] }, ctx)).toBe(
      '<div class="home"><div class="block block-header" data-block-id="">Releases</div><hr class="block block-divider" data-block-id=""></div>',
    );
    expect(homeHtml({ type: 'home' }, ctx)).toBe('<div class="home"></div>');
  });
});
