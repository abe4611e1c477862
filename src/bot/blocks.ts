/**
 * Typed Block Kit builders that keep to Slack's limits (a header's 150 characters, a section's
 * 3000, ten fields of 2000): what is longer is cut with "…" rather than refused by Slack as
 * invalid_blocks.
 */
import type { ContextBlock, DividerBlock, HeaderBlock, SectionBlock } from '@slack/web-api';

export const LIMITS = { header: 150, text: 3000, field: 2000, fields: 10 } as const;

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function header(text: string): HeaderBlock {
  return { type: 'header', text: { type: 'plain_text', text: clip(text, LIMITS.header), emoji: true } };
}

export function section(text: string): SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: clip(text, LIMITS.text) } };
}

/** A section of two-column fields (Slack's nearest thing to a table row). */
export function fields(items: readonly string[], text?: string): SectionBlock {
  return {
    type: 'section',
    ...(text ? { text: { type: 'mrkdwn', text: clip(text, LIMITS.text) } } : {}),
    fields: items.slice(0, LIMITS.fields).map((f) => ({ type: 'mrkdwn', text: clip(f, LIMITS.field) })),
  };
}

export function context(text: string): ContextBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: clip(text, LIMITS.text) }] };
}

export function divider(): DividerBlock {
  return { type: 'divider' };
}

/** A Slack date token: shown in the reader's time zone; the fallback is UTC. */
export function slackDate(ms: number): string {
  const fallback = `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${fallback}>`;
}
