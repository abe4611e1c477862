/**
 * Typed Block Kit builders that keep to Slack's limits (a header's 150 characters, a section's
 * 3000, ten fields of 2000, a button's 75, a confirm dialog's 100/300/30): what is longer is cut
 * with "…" rather than refused by Slack as invalid_blocks.
 */
import type {
  ActionsBlock,
  Button,
  ConfirmationDialog,
  ContextBlock,
  DividerBlock,
  HeaderBlock,
  MrkdwnElement,
  PlainTextElement,
  SectionBlock,
} from '@slack/web-api';

export const LIMITS = { header: 150, text: 3000, field: 2000, fields: 10, button: 75, confirmTitle: 100, confirmText: 300, confirmButton: 30 } as const;

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function mrkdwn(text: string): MrkdwnElement {
  return { type: 'mrkdwn', text };
}

export function plainText(text: string): PlainTextElement {
  return { type: 'plain_text', text };
}

export function header(text: string): HeaderBlock {
  return { type: 'header', text: { ...plainText(clip(text, LIMITS.header)), emoji: true } };
}

export function section(text: string): SectionBlock {
  return { type: 'section', text: mrkdwn(clip(text, LIMITS.text)) };
}

/** A section of two-column fields (Slack's nearest thing to a table row). */
export function fields(items: readonly string[], text?: string): SectionBlock {
  return {
    type: 'section',
    ...(text ? { text: mrkdwn(clip(text, LIMITS.text)) } : {}),
    fields: items.slice(0, LIMITS.fields).map((f) => mrkdwn(clip(f, LIMITS.field))),
  };
}

export function context(text: string): ContextBlock {
  return { type: 'context', elements: [mrkdwn(clip(text, LIMITS.text))] };
}

export function divider(): DividerBlock {
  return { type: 'divider' };
}

/** A button whose value names what it acts on (a request id): never cut, unlike its label. */
export function button(actionId: string, text: string, value: string, style?: Button['style'], confirm?: ConfirmationDialog): Button {
  return { type: 'button', action_id: actionId, ...(style ? { style } : {}), text: plainText(clip(text, LIMITS.button)), value, ...(confirm ? { confirm } : {}) };
}

/** The dialog Slack shows before a button acts: its text is mrkdwn. */
export function confirmDialog(title: string, text: string, confirm: string, deny: string): ConfirmationDialog {
  return {
    title: plainText(clip(title, LIMITS.confirmTitle)),
    text: mrkdwn(clip(text, LIMITS.confirmText)),
    confirm: plainText(clip(confirm, LIMITS.confirmButton)),
    deny: plainText(clip(deny, LIMITS.confirmButton)),
  };
}

export function actions(blockId: string | undefined, ...elements: Button[]): ActionsBlock {
  return { type: 'actions', ...(blockId ? { block_id: blockId } : {}), elements };
}

/** A Slack date token: shown in the reader's time zone; the fallback is UTC. */
export function slackDate(ms: number): string {
  const fallback = `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${fallback}>`;
}
