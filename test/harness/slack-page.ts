/**
 * The stub's HTML view of the channels: what a person sees in the Slack client, for the demo and
 * the browser test.
 */
import type { StubMessage } from './slack-stub.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

const esc = (v: unknown): string => escapeHtml(typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

function textOf(t: unknown): string {
  if (typeof t === 'string') return t;
  if (t && typeof t === 'object' && 'text' in t) return textOf((t as { text: unknown }).text);
  return '';
}

function renderElement(el: unknown): string {
  if (!el || typeof el !== 'object') return '';
  const e = el as Record<string, unknown>;
  const type = esc(e.type);
  if (e.type === 'button') {
    return `<span class="button" data-action-id="${esc(e.action_id)}" data-value="${esc(e.value)}" data-style="${esc(e.style ?? 'default')}">${esc(textOf(e.text))}</span>`;
  }
  if (e.type === 'image') return `<span class="element element-image">${esc(e.alt_text)}</span>`;
  if (e.type === 'mrkdwn' || e.type === 'plain_text') return `<span class="element element-text">${esc(e.text)}</span>`;
  const label = textOf(e.placeholder) || textOf(e.text);
  return `<span class="element element-${type}" data-action-id="${esc(e.action_id)}">${esc(label || String(e.type))}</span>`;
}

function renderBlock(b: unknown): string {
  if (!b || typeof b !== 'object') return '';
  const blk = b as Record<string, unknown>;
  const type = typeof blk.type === 'string' ? blk.type : 'unknown';
  const attrs = `class="block block-${esc(type)}" data-block-type="${esc(type)}" data-block-id="${esc(blk.block_id)}"`;
  switch (type) {
    case 'header':
      return `<div ${attrs}><h3>${esc(textOf(blk.text))}</h3></div>`;
    case 'section': {
      const fields = Array.isArray(blk.fields) ? blk.fields.map((f) => `<div class="field">${esc(textOf(f))}</div>`).join('') : '';
      const acc = blk.accessory ? `<div class="accessory">${renderElement(blk.accessory)}</div>` : '';
      return `<div ${attrs}><div class="block-text">${esc(textOf(blk.text))}</div>${fields}${acc}</div>`;
    }
    case 'context':
    case 'actions': {
      const els = Array.isArray(blk.elements) ? blk.elements.map(renderElement).join(' ') : '';
      return `<div ${attrs}>${els}</div>`;
    }
    case 'divider':
      return `<hr ${attrs}>`;
    default:
      return `<div ${attrs}>[${esc(type)} block]</div>`;
  }
}

function renderMessage(m: StubMessage, replies: StubMessage[] | undefined, reply: boolean): string {
  const blocks = m.blocks?.length ? `<div class="blocks">${m.blocks.map(renderBlock).join('')}</div>` : '';
  const reactions = m.reactions.length
    ? `<div class="reactions">${m.reactions.map((r) => `<span class="reaction" data-name="${esc(r.name)}">:${esc(r.name)}: ${r.count}</span>`).join(' ')}</div>`
    : '';
  const edited = m.updates > 0 ? ` <span class="edited">(edited ×${m.updates})</span>` : '';
  const thread =
    replies && replies.length
      ? `<div class="thread" data-thread-ts="${esc(m.ts)}">${replies.map((r) => renderMessage(r, undefined, true)).join('')}</div>`
      : '';
  const cls = reply ? 'message reply' : 'message';
  return (
    `<div class="${cls}" data-ts="${esc(m.ts)}" data-channel="${esc(m.channel)}" data-thread-ts="${esc(m.thread_ts)}" data-updates="${m.updates}">` +
    `<div class="meta"><span class="ts">${esc(m.ts)}</span>${edited}</div>` +
    `<div class="text">${esc(m.text)}</div>${blocks}${reactions}${thread}</div>`
  );
}

function renderChannel(channel: string, all: StubMessage[]): string {
  const msgs = all.filter((m) => m.channel === channel);
  const tops = new Set(msgs.filter((m) => !m.thread_ts || m.thread_ts === m.ts).map((m) => m.ts));
  const body = msgs
    .filter((m) => !m.thread_ts || m.thread_ts === m.ts || !tops.has(m.thread_ts))
    .map((m) =>
      tops.has(m.ts) ? renderMessage(m, msgs.filter((r) => r.thread_ts === m.ts && r.ts !== m.ts), false) : renderMessage(m, undefined, true),
    )
    .join('');
  return `<section class="channel" data-channel="${esc(channel)}"><h2><a href="/channel/${encodeURIComponent(channel)}">#${esc(channel)}</a></h2>${body || '<p class="empty">no messages</p>'}</section>`;
}

export function renderPage(all: StubMessage[], channel: string | undefined, refreshSec: number): string {
  const channels = channel !== undefined ? [channel] : [...new Set(all.map((m) => m.channel))];
  const refresh = refreshSec > 0 ? `<meta http-equiv="refresh" content="${refreshSec}">` : '';
  const title = channel !== undefined ? `#${channel} — Slack stub` : 'Slack stub';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">${refresh}<title>${esc(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1rem;max-width:60rem}
.channel{border:1px solid #ccc;border-radius:6px;padding:.5rem 1rem;margin-bottom:1rem}
.message{border-top:1px solid #eee;padding:.4rem 0}
.thread{margin-left:2rem;border-left:3px solid #ddd;padding-left:.8rem}
.meta{color:#888;font-size:.75rem}.text{white-space:pre-wrap}
.block{margin:.2rem 0;white-space:pre-wrap}.block-context{color:#666;font-size:.85rem}.field{display:inline-block;margin-right:1rem}
.button{display:inline-block;border:1px solid #999;border-radius:4px;padding:.1rem .5rem;margin-right:.3rem}
.button[data-style=primary]{background:#007a5a;color:#fff}.button[data-style=danger]{background:#e01e5a;color:#fff}
</style></head>
<body><h1>${esc(title)}</h1>
${channels.length ? channels.map((c) => renderChannel(c, all)).join('\n') : '<p class="empty">no messages</p>'}
</body></html>
`;
}
