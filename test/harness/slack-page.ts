/**
 * The stub's page: the channel as the Slack client shows this bot's messages (Block Kit rendered,
 * mrkdwn formatted, emoji, threads, edited marks, ephemerals "only visible to you", the App Home),
 * and, when the demo is interactive, a composer and live buttons whose clicks go through
 * SlackClient as signed requests to the app, exactly as Slack would send them.
 *
 * Routes (served by the stub): GET `/` and `/channel/:id` (the page), GET `/fragment` (the main
 * pane, polled by the page), POST `/client/command|action|home` (what a person does).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { escapeHtml, mrkdwnHtml, plainTextHtml, type MrkdwnContext } from './mrkdwn-html.js';
import { SlackClientError, type ClientEvent, type SlackClient } from './slack-client.js';
import type { SlackStub, StubEphemeral, StubMessage } from './slack-stub.js';

export { escapeHtml };

const esc = (v: unknown): string => escapeHtml(typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface PageContext {
  readonly mrkdwn: MrkdwnContext;
  /** Buttons can be clicked (an interactive demo with a client attached). */
  readonly interactive: boolean;
  readonly botName: string;
}

function textObjectHtml(t: unknown, ctx: PageContext): string {
  if (typeof t === 'string') return mrkdwnHtml(t, ctx.mrkdwn);
  if (!isRecord(t) || typeof t.text !== 'string') return '';
  // verbatim only turns off auto-linking, which this stub never does: formatting still applies.
  if (t.type === 'mrkdwn') return mrkdwnHtml(t.text, ctx.mrkdwn);
  return plainTextHtml(t.text, t.emoji !== false);
}

function confirmAttr(confirm: unknown, ctx: PageContext): string {
  if (!isRecord(confirm)) return '';
  const dialog = {
    title: textObjectHtml(confirm.title, ctx),
    text: textObjectHtml(confirm.text, ctx),
    confirm: textObjectHtml(confirm.confirm, ctx),
    deny: textObjectHtml(confirm.deny, ctx),
    style: typeof confirm.style === 'string' ? confirm.style : '',
  };
  return ` data-confirm="${esc(JSON.stringify(dialog))}"`;
}

function elementHtml(el: unknown, blockId: string, ctx: PageContext): string {
  if (!isRecord(el)) return '';
  switch (el.type) {
    case 'button': {
      const style = el.style === 'primary' || el.style === 'danger' ? ` ${el.style}` : '';
      const disabled = ctx.interactive ? '' : ' disabled title="The demo plays itself: run DEMO_INTERACTIVE=1 npm run demo to click"';
      if (typeof el.url === 'string' && /^(https?:|mailto:)/i.test(el.url)) return `<a class="btn${style}" href="${esc(el.url)}" target="_blank" rel="noopener noreferrer">${textObjectHtml(el.text, ctx)}</a>`;
      return `<button type="button" class="btn${style}" data-action-id="${esc(el.action_id)}" data-block-id="${esc(blockId)}" data-value="${esc(el.value)}"${confirmAttr(el.confirm, ctx)}${disabled}>${textObjectHtml(el.text, ctx)}</button>`;
    }
    case 'image':
      return `<img class="ctx-image" src="${esc(el.image_url)}" alt="${esc(el.alt_text)}">`;
    case 'mrkdwn':
    case 'plain_text':
      return `<span class="ctx-text">${textObjectHtml(el, ctx)}</span>`;
    default:
      return `<span class="element unsupported">${textObjectHtml(el.placeholder, ctx) || esc(`[${String(el.type)}]`)}</span>`;
  }
}

export function blockHtml(b: unknown, ctx: PageContext): string {
  if (!isRecord(b)) return '';
  const type = typeof b.type === 'string' ? b.type : 'unknown';
  const blockId = typeof b.block_id === 'string' ? b.block_id : '';
  const attrs = `class="block block-${esc(type)}" data-block-id="${esc(blockId)}"`;
  const elements = Array.isArray(b.elements) ? b.elements : [];
  switch (type) {
    case 'header':
      return `<div ${attrs}>${textObjectHtml(b.text, ctx)}</div>`;
    case 'section': {
      const text = b.text ? `<div class="section-text">${textObjectHtml(b.text, ctx)}</div>` : '';
      const fields = Array.isArray(b.fields) ? `<div class="fields">${b.fields.map((f) => `<div class="field">${textObjectHtml(f, ctx)}</div>`).join('')}</div>` : '';
      const accessory = b.accessory ? `<div class="accessory">${elementHtml(b.accessory, blockId, ctx)}</div>` : '';
      return `<div ${attrs}><div class="section-body">${text}${fields}</div>${accessory}</div>`;
    }
    case 'context':
      return `<div ${attrs}>${elements.map((e) => elementHtml(e, blockId, ctx)).join('')}</div>`;
    case 'actions':
      return `<div ${attrs}>${elements.map((e) => elementHtml(e, blockId, ctx)).join('')}</div>`;
    case 'divider':
      return `<hr ${attrs}>`;
    case 'image':
      return `<div ${attrs}><img src="${esc(b.image_url)}" alt="${esc(b.alt_text)}"></div>`;
    default:
      return `<div ${attrs}>[${esc(type)} block]</div>`;
  }
}

const blocksHtml = (blocks: readonly unknown[] | undefined, ctx: PageContext) => (blocks ?? []).map((b) => blockHtml(b, ctx)).join('');

/** `1700000000.000100` as the clock time the Slack client shows beside a message. */
function clock(ts: string, ctx: PageContext): string {
  const seconds = Number(ts.split('.')[0]);
  return Number.isFinite(seconds)
    ? new Intl.DateTimeFormat('en-US', { timeZone: ctx.mrkdwn.timeZone ?? 'UTC', hour: 'numeric', minute: '2-digit' }).format(new Date(seconds * 1000))
    : '';
}

function avatar(name: string, bot: boolean): string {
  return `<div class="avatar${bot ? ' bot' : ''}" aria-hidden="true">${esc(name.slice(0, 1).toUpperCase())}</div>`;
}

function bodyHtml(text: string, blocks: readonly unknown[] | undefined, ctx: PageContext): string {
  // As in Slack: with blocks, `text` is only the notification fallback and is not shown.
  return blocks?.length ? `<div class="blocks">${blocksHtml(blocks, ctx)}</div>` : `<div class="text">${mrkdwnHtml(text, ctx.mrkdwn)}</div>`;
}

function botMessageHtml(m: StubMessage, ctx: PageContext, replies: string, reply = false): string {
  const edited = m.updates > 0 ? ` <span class="edited" title="edited ${m.updates} time(s)">(edited)</span>` : '';
  const reactions = m.reactions.length
    ? `<div class="reactions">${m.reactions.map((r) => `<span class="reaction" data-name="${esc(r.name)}">${plainTextHtml(`:${r.name}:`)} ${r.count}</span>`).join('')}</div>`
    : '';
  return (
    `<div class="message${reply ? ' reply' : ''}" data-ts="${esc(m.ts)}" data-channel="${esc(m.channel)}" data-thread-ts="${esc(m.thread_ts)}" data-updates="${m.updates}">` +
    `${avatar(ctx.botName, true)}<div class="content"><div class="meta"><span class="name">${esc(ctx.botName)}</span><span class="badge">APP</span><span class="time">${esc(clock(m.ts, ctx))}</span>${edited}</div>` +
    `${bodyHtml(m.text, m.blocks, ctx)}${reactions}${replies}</div></div>`
  );
}

function ephemeralHtml(e: StubEphemeral, ctx: PageContext, viewer: string | undefined): string {
  const to = viewer === e.user ? 'Only visible to you' : `Only visible to ${mrkdwnHtml(`<@${e.user}>`, ctx.mrkdwn)}`;
  return (
    `<div class="message ephemeral" data-ts="${esc(e.message_ts)}" data-user="${esc(e.user)}">${avatar(ctx.botName, true)}<div class="content">` +
    `<div class="meta"><span class="name">${esc(ctx.botName)}</span><span class="badge">APP</span><span class="time">${esc(clock(e.message_ts, ctx))}</span></div>` +
    `<div class="only-you">👁 ${to}</div>${bodyHtml(e.text, e.blocks, ctx)}</div></div>`
  );
}

function eventHtml(e: ClientEvent, ctx: PageContext): string {
  const name = ctx.mrkdwn.userName?.(e.user) ?? e.user;
  const what = e.kind === 'command' ? `<code>${esc(e.text)}</code>` : esc(e.text);
  return `<div class="message person" data-kind="${e.kind}">${avatar(name, false)}<div class="content"><div class="meta"><span class="name">${esc(name)}</span><span class="time">${esc(clock(e.ts, ctx))}</span></div><div class="text">${what}</div></div></div>`;
}

type Item = { ts: string; html: string };
const byTs = (a: Item, b: Item) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0);

export interface ChannelInput {
  readonly channel: string;
  readonly messages: readonly StubMessage[];
  readonly ephemerals: readonly StubEphemeral[];
  readonly events: readonly ClientEvent[];
  /** Whose ephemerals show; undefined: everyone's, each marked with its person. */
  readonly viewer: string | undefined;
}

/** The channel pane: top-level messages in order, each with its thread below it. */
export function channelHtml(input: ChannelInput, ctx: PageContext): string {
  const { channel, messages, viewer } = input;
  const ephemerals = input.ephemerals.filter((e) => e.channel === channel && (viewer === undefined || e.user === viewer));
  const tops = new Set(messages.filter((m) => !m.thread_ts || m.thread_ts === m.ts).map((m) => m.ts));
  const inThread = (ts: string | undefined): ts is string => ts !== undefined && tops.has(ts);
  const items: Item[] = [];
  for (const m of messages) {
    if (m.thread_ts && m.thread_ts !== m.ts && tops.has(m.thread_ts)) continue;
    const replies: Item[] = [
      ...messages.filter((r) => r.thread_ts === m.ts && r.ts !== m.ts).map((r) => ({ ts: r.ts, html: botMessageHtml(r, ctx, '', true) })),
      ...ephemerals.filter((e) => e.thread_ts === m.ts).map((e) => ({ ts: e.message_ts, html: ephemeralHtml(e, ctx, viewer) })),
    ].sort(byTs);
    const thread = replies.length
      ? `<div class="thread" data-thread-ts="${esc(m.ts)}"><div class="thread-count">${replies.length} repl${replies.length === 1 ? 'y' : 'ies'}</div>${replies.map((r) => r.html).join('')}</div>`
      : '';
    items.push({ ts: m.ts, html: botMessageHtml(m, ctx, thread) });
  }
  for (const e of ephemerals) if (!inThread(e.thread_ts)) items.push({ ts: e.message_ts, html: ephemeralHtml(e, ctx, viewer) });
  for (const e of input.events) if (e.channel === channel) items.push({ ts: e.ts, html: eventHtml(e, ctx) });
  items.sort(byTs);
  return items.length ? items.map((i) => i.html).join('') : '<p class="empty">No messages yet.</p>';
}

/** The App Home tab of one person, as the app last published it. */
export function homeHtml(view: unknown, ctx: PageContext): string {
  if (!isRecord(view)) return '<p class="empty">The app has not published a Home for you yet.</p>';
  const blocks = Array.isArray(view.blocks) ? view.blocks : [];
  return `<div class="home">${blocksHtml(blocks, ctx)}</div>`;
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

interface PageRequest {
  readonly channel: string;
  readonly viewer: string | undefined;
  readonly view: 'channel' | 'home';
  readonly refreshMs: number;
}

function contextFor(stub: SlackStub, client: SlackClient | null): PageContext {
  const people = new Map((client?.people ?? []).map((p) => [p.id, p.name]));
  return {
    interactive: client?.options.interactive === true,
    botName: 'Milvus Upgrade',
    mrkdwn: {
      userName: (id) => people.get(id) ?? (id === stub.identity.user_id ? stub.identity.user : undefined),
      channelName: (id) => (id === client?.options.channel ? (client.options.channelName ?? 'ops') : undefined),
    },
  };
}

function pageRequest(u: URL, stub: SlackStub, client: SlackClient | null, pathChannel: string | undefined): PageRequest {
  const channels = [...new Set(stub.messages().map((m) => m.channel))];
  const channel = pathChannel ?? u.searchParams.get('channel') ?? client?.options.channel ?? channels[0] ?? 'C0GENERAL';
  const as = u.searchParams.get('as') ?? undefined;
  const viewer = as ?? (client?.options.interactive ? client.people[0]?.id : undefined);
  const refresh = Number(u.searchParams.get('refresh') ?? 1);
  return { channel, viewer, view: u.searchParams.get('view') === 'home' ? 'home' : 'channel', refreshMs: Number.isFinite(refresh) && refresh > 0 ? refresh * 1000 : 0 };
}

function paneHtml(stub: SlackStub, client: SlackClient | null, r: PageRequest): string {
  const ctx = contextFor(stub, client);
  if (r.view === 'home') return r.viewer ? homeHtml(stub.home(r.viewer)?.view, ctx) : '<p class="empty">Choose a person to see their Home.</p>';
  return channelHtml({ channel: r.channel, messages: stub.messages(r.channel), ephemerals: stub.ephemerals(r.channel), events: client?.events ?? [], viewer: r.viewer }, ctx);
}

function shellHtml(stub: SlackStub, client: SlackClient | null, r: PageRequest): string {
  const interactive = client?.options.interactive === true;
  const channelLabel = r.channel === client?.options.channel ? (client.options.channelName ?? 'ops') : r.channel;
  const people = client?.people ?? [];
  const picker = people.length
    ? `<label class="as">You are <select id="as">${people.map((p) => `<option value="${esc(p.id)}"${p.id === r.viewer ? ' selected' : ''}>${esc(p.name)}</option>`).join('')}</select></label>`
    : '';
  const composer = interactive
    ? `<form id="composer" autocomplete="off"><input id="command" name="text" placeholder="/milvus upgrade my-release 2.4.23 -n demo" aria-label="Message #${esc(channelLabel)}"><button type="submit" class="btn primary">Send</button></form>`
    : `<p class="watch-only">This demo plays itself. Run <code>DEMO_INTERACTIVE=1 npm run demo</code> to type commands and click.</p>`;
  const config = JSON.stringify({ channel: r.channel, viewer: r.viewer ?? null, view: r.view, refreshMs: r.refreshMs, interactive });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>#${esc(channelLabel)} — Slack (local stub)</title>
<style>${CSS}</style></head>
<body>
<header class="top"><span class="workspace">${esc(stub.identity.team)}</span><span class="stub-note">local Slack stub</span>${picker}</header>
<div class="layout">
<nav class="sidebar"><a href="#" data-view="home" class="nav${r.view === 'home' ? ' active' : ''}">🏠 Home</a><div class="nav-title">Channels</div><a href="#" data-view="channel" class="nav${r.view === 'channel' ? ' active' : ''}"># ${esc(channelLabel)}</a></nav>
<main><h1 id="title">${r.view === 'home' ? 'Milvus Upgrade — Home' : `# ${esc(channelLabel)}`}</h1>
<div id="pane" aria-live="polite">${paneHtml(stub, client, r)}</div>
<div id="notice" role="status"></div>
${r.view === 'channel' ? composer : ''}
</main></div>
<dialog id="confirm"><h2 id="confirm-title"></h2><div id="confirm-text"></div><div class="dialog-buttons"><button type="button" class="btn" id="confirm-deny"></button><button type="button" class="btn" id="confirm-ok"></button></div></dialog>
<script>window.STUB=${config.replace(/</g, '\\u003c')};</script>
<script>${CLIENT_JS}</script>
</body></html>
`;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  if (!isRecord(parsed)) throw new SlackClientError('expected a JSON object');
  return parsed;
}

const field = (body: Record<string, unknown>, name: string): string => {
  const v = body[name];
  if (typeof v !== 'string' || v === '') throw new SlackClientError(`missing ${name}`);
  return v;
};

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** Serves the page routes; false when the path is not one of them. */
export async function servePage(req: IncomingMessage, res: ServerResponse, u: URL, stub: SlackStub, client: SlackClient | null): Promise<boolean> {
  const path = u.pathname;
  const chMatch = /^\/channel\/([^/]+)$/.exec(path);
  if (req.method === 'GET' && (path === '/' || chMatch)) {
    const html = shellHtml(stub, client, pageRequest(u, stub, client, chMatch ? decodeURIComponent(chMatch[1]!) : undefined));
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html);
    return true;
  }
  if (req.method === 'GET' && path === '/fragment') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(paneHtml(stub, client, pageRequest(u, stub, client, undefined)));
    return true;
  }
  const act = /^\/client\/(command|action|home)$/.exec(path);
  if (!act || req.method !== 'POST') return false;
  if (!client?.options.interactive) {
    sendJson(res, 403, { ok: false, error: 'This demo plays itself: run DEMO_INTERACTIVE=1 npm run demo to act in the page.' });
    return true;
  }
  try {
    const body = await readJson(req);
    const as = field(body, 'as');
    const result =
      act[1] === 'command'
        ? await client.command(as, field(body, 'channel'), field(body, 'text'))
        : act[1] === 'home'
          ? await client.openHome(as)
          : await client.click(as, {
              channel: field(body, 'channel'),
              message_ts: field(body, 'message_ts'),
              action_id: field(body, 'action_id'),
              ...(typeof body.block_id === 'string' && body.block_id ? { block_id: body.block_id } : {}),
            });
    sendJson(res, result.ok ? 200 : 502, result);
  } catch (e) {
    sendJson(res, e instanceof SlackClientError || e instanceof SyntaxError ? 400 : 500, { ok: false, error: e instanceof Error ? e.message : String(e) });
  }
  return true;
}

const CSS = `
*{box-sizing:border-box}
body{margin:0;font:15px/1.46668 "Lato","Segoe UI",system-ui,-apple-system,sans-serif;color:#1d1c1d;background:#fff}
.top{display:flex;align-items:center;gap:1rem;background:#3f0e40;color:#fff;padding:.45rem 1rem}
.workspace{font-weight:900;font-size:17px}.stub-note{opacity:.7;font-size:12px}
.as{margin-left:auto;font-size:13px}.as select{margin-left:.4rem;font:inherit;padding:.1rem .3rem;border-radius:4px}
.layout{display:flex;min-height:calc(100vh - 40px)}
.sidebar{width:210px;background:#3f0e40;color:#cfc3cf;padding:.8rem 0;flex:none}
.sidebar .nav{display:block;color:#cfc3cf;text-decoration:none;padding:.2rem 1rem}.sidebar .nav.active{background:#1164a3;color:#fff}
.nav-title{font-size:13px;opacity:.8;padding:.8rem 1rem .2rem}
main{flex:1;max-width:62rem;padding:0 1.2rem 1rem}
h1{font-size:18px;font-weight:900;border-bottom:1px solid #ddd;margin:0 -1.2rem .5rem;padding:.6rem 1.2rem}
.message{display:flex;gap:.55rem;padding:.45rem .3rem;border-radius:6px}.message:hover{background:#f8f8f8}
.avatar{width:36px;height:36px;border-radius:6px;background:#e8912d;color:#fff;font-weight:900;display:flex;align-items:center;justify-content:center;flex:none}
.avatar.bot{background:#4a154b}
.content{flex:1;min-width:0}
.meta{display:flex;align-items:baseline;gap:.4rem}.name{font-weight:900}.time,.edited{color:#616061;font-size:12px}
.badge{background:#e8e8e8;color:#616061;font-size:10px;font-weight:700;padding:0 .25rem;border-radius:3px}
.text,.section-text,.field,.ctx-text{white-space:pre-wrap;overflow-wrap:anywhere}
.block{margin:.25rem 0}.block-header{font-size:18px;font-weight:900;margin:.35rem 0}
.block-section{display:flex;gap:.8rem}.section-body{flex:1}.fields{display:grid;grid-template-columns:1fr 1fr;gap:.3rem 1rem;margin-top:.25rem}
.block-context{display:flex;flex-wrap:wrap;gap:.35rem;align-items:center;color:#616061;font-size:12.5px}.ctx-image{width:20px;height:20px;border-radius:4px}
.block-actions{display:flex;flex-wrap:wrap;gap:.5rem;margin:.5rem 0}
hr.block{border:0;border-top:1px solid #ddd}
code{font:12px/1.5 Monaco,Menlo,Consolas,monospace;color:#e01e5a;background:#f6f6f6;border:1px solid #e1e1e1;border-radius:3px;padding:0 .2rem}
pre{font:12px/1.5 Monaco,Menlo,Consolas,monospace;background:#f8f8f8;border:1px solid #e1e1e1;border-radius:4px;padding:.5rem;white-space:pre-wrap}
blockquote{margin:0;border-left:4px solid #ddd;padding-left:.6rem}
.mention{background:#e8f5fa;color:#1264a3;border-radius:3px;padding:0 .1rem}
a{color:#1264a3}
.emoji{font-size:1.1em}
.btn{font:700 14px/1 inherit;font-family:inherit;border:1px solid #bbb;background:#fff;color:#1d1c1d;border-radius:4px;padding:.45rem .8rem;cursor:pointer;text-decoration:none}
.btn:hover:not([disabled]){background:#f8f8f8}.btn[disabled]{cursor:not-allowed;opacity:.75}
.btn.primary{background:#007a5a;border-color:#007a5a;color:#fff}.btn.danger{background:#e01e5a;border-color:#e01e5a;color:#fff}
.btn.busy{opacity:.5}
.thread{border-left:3px solid #ddd;margin:.4rem 0 0 .2rem;padding-left:.6rem}.thread-count{color:#1264a3;font-weight:700;font-size:13px}
.ephemeral{background:#f8f8f8}.only-you{color:#616061;font-size:12px}
.person .text code{color:#1d1c1d}
.reactions{display:flex;gap:.3rem;margin-top:.2rem}.reaction{border:1px solid #ddd;border-radius:12px;padding:0 .45rem;font-size:12px}
.empty,.watch-only{color:#616061}
#composer[hidden]{display:none}
#composer{display:flex;gap:.5rem;margin-top:1rem;background:#fff;padding:.6rem 0;border-top:1px solid #ddd}
#composer input{flex:1;font:inherit;padding:.55rem .7rem;border:1px solid #aaa;border-radius:6px}
#notice{color:#e01e5a;min-height:1em;font-size:13px}
dialog{border:0;border-radius:8px;box-shadow:0 18px 48px rgba(0,0,0,.35);max-width:32rem;padding:1.2rem 1.4rem}
dialog h2{margin:0 0 .6rem;font-size:20px}.dialog-buttons{display:flex;justify-content:flex-end;gap:.5rem;margin-top:1rem}
.home .block{margin:.4rem 0}
`;

/** The page's own script: polls the pane, sends what a person does, shows confirm dialogs. */
const CLIENT_JS = `
(() => {
  const S = window.STUB;
  const pane = document.getElementById('pane');
  const notice = document.getElementById('notice');
  const picker = document.getElementById('as');
  const viewer = () => (picker ? picker.value : S.viewer);
  const query = () => '/fragment?channel=' + encodeURIComponent(S.channel) + '&view=' + S.view + (viewer() ? '&as=' + encodeURIComponent(viewer()) : '');
  let last = pane.innerHTML;
  async function refresh() {
    try {
      const html = await (await fetch(query(), { cache: 'no-store' })).text();
      if (html !== last) { pane.innerHTML = html; last = html; }
    } catch (e) { /* the stub is gone: keep what is shown */ }
  }
  if (S.refreshMs > 0) setInterval(refresh, S.refreshMs);
  async function post(what, body) {
    notice.textContent = '';
    const res = await fetch('/client/' + what, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ as: viewer(), channel: S.channel, ...body }) });
    const answer = await res.json().catch(() => ({ ok: false, error: 'HTTP ' + res.status }));
    if (!answer.ok) notice.textContent = answer.error || 'failed';
    await refresh();
    return answer;
  }
  const dialog = document.getElementById('confirm');
  function confirmFirst(spec) {
    if (!spec) return Promise.resolve(true);
    const c = JSON.parse(spec);
    document.getElementById('confirm-title').innerHTML = c.title;
    document.getElementById('confirm-text').innerHTML = c.text;
    const ok = document.getElementById('confirm-ok');
    const deny = document.getElementById('confirm-deny');
    ok.innerHTML = c.confirm || 'Yes';
    deny.innerHTML = c.deny || 'Cancel';
    ok.className = 'btn ' + (c.style === 'danger' ? 'danger' : 'primary');
    dialog.showModal();
    return new Promise((resolve) => {
      ok.onclick = () => { dialog.close(); resolve(true); };
      deny.onclick = () => { dialog.close(); resolve(false); };
    });
  }
  pane.addEventListener('click', async (ev) => {
    const b = ev.target.closest('button[data-action-id]');
    if (!b || b.disabled) return;
    if (!(await confirmFirst(b.dataset.confirm))) return;
    const m = b.closest('.message[data-ts]');
    b.classList.add('busy');
    await post('action', { message_ts: m.dataset.ts, action_id: b.dataset.actionId, block_id: b.dataset.blockId });
  });
  const composer = document.getElementById('composer');
  if (composer) composer.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const input = document.getElementById('command');
    const text = input.value.trim();
    if (!text) return;
    if (!/^\\/milvus(\\s|$)/.test(text)) { notice.textContent = 'This stub only knows the /milvus command.'; return; }
    input.value = '';
    await post('command', { text });
  });
  document.querySelectorAll('[data-view]').forEach((a) => a.addEventListener('click', async (ev) => {
    ev.preventDefault();
    S.view = a.dataset.view;
    document.querySelectorAll('[data-view]').forEach((x) => x.classList.toggle('active', x === a));
    document.getElementById('title').textContent = S.view === 'home' ? 'Milvus Upgrade — Home' : a.textContent;
    if (composer) composer.hidden = S.view === 'home';
    if (S.view === 'home' && S.interactive) await post('home', {});
    else await refresh();
  }));
  if (picker) picker.addEventListener('change', async () => {
    if (S.view === 'home' && S.interactive) await post('home', {});
    else await refresh();
  });
})();
`;
