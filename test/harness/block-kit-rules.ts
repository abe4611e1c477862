/**
 * Block Kit's documented limits, checked the way Slack checks them, for the Slack stub: a payload
 * Slack would refuse is refused here too, so a bot bug (a block over a limit) fails a test
 * instead of failing in production.
 *
 * Each error reads like Slack's own (`must be less than 3001 characters
 * [json-pointer:/blocks/0/text/text]`); Slack answers them as
 * `{ ok: false, error: 'invalid_blocks', errors: [...], response_metadata: { messages: ['[ERROR] ...'] } }`.
 *
 * Sources (docs.slack.dev, 2026):
 * - reference/block-kit/blocks: up to 50 blocks in a message, 100 in modals and Home tabs.
 * - blocks/section-block: text 1..3000; fields <= 10, each <= 2000; text or fields required;
 *   block_id <= 255, unique in the message.
 * - blocks/header-block: text plain_text only, <= 150.
 * - blocks/context-block: elements (image elements and text objects) <= 10.
 * - blocks/actions-block: elements <= 25.
 * - blocks/image-block: image_url <= 3000 (or slack_file), alt_text required <= 2000, title plain_text <= 2000.
 * - block-elements/button-element: text plain_text <= 75; action_id <= 255 and unique in its
 *   block; value <= 2000; url <= 3000; style primary|danger; accessibility_label <= 75.
 * - composition-objects/confirmation-dialog-object: title plain_text <= 100, text <= 300,
 *   confirm and deny plain_text <= 30, style primary|danger.
 * - composition-objects/text-object: type plain_text|mrkdwn, text 1..3000, `emoji` only on
 *   plain_text, `verbatim` only on mrkdwn.
 * - reference/views/modal-views: type modal, title plain_text <= 24 (required), close and
 *   submit plain_text <= 24, blocks <= 100, private_metadata <= 3000, callback_id <= 255.
 * Blocks of a known type this module does not look into (rich_text, markdown, video, file,
 * input...) pass unchecked; a type Slack does not know is refused.
 */

export type Surface = 'message' | 'modal' | 'home';

/** The most blocks each surface takes. */
export const MAX_BLOCKS: Record<Surface, number> = { message: 50, modal: 100, home: 100 };

/** Slack truncates a message's top-level `text` past this many characters (and warns). */
export const MAX_MESSAGE_TEXT = 40_000;

/** Block types Slack knows; only these may appear, only some are looked into. */
const KNOWN_BLOCKS = new Set(['actions', 'alert', 'card', 'carousel', 'container', 'context', 'context_actions', 'data_table', 'divider', 'file', 'header', 'image', 'input', 'markdown', 'plan', 'rich_text', 'section', 'table', 'task_card', 'video']);
/** Input blocks belong to modals and Home tabs, never to messages. */
const NOT_IN_MESSAGES = new Set(['input']);
/** Interactive elements of an actions block (or a section's accessory) other than buttons, accepted unchecked. */
const OTHER_ELEMENTS = new Set(['checkboxes', 'datepicker', 'datetimepicker', 'multi_static_select', 'multi_external_select', 'multi_users_select', 'multi_conversations_select', 'multi_channels_select', 'overflow', 'radio_buttons', 'static_select', 'external_select', 'users_select', 'conversations_select', 'channels_select', 'timepicker', 'workflow_button', 'rich_text_input', 'image']);
const BUTTON_STYLES = ['primary', 'danger'];

type Json = Record<string, unknown>;

/** Collects errors with Slack's wording, each ending in the JSON pointer of what is wrong. */
class Report {
  readonly errors: string[] = [];
  add(message: string, pointer: string): void {
    this.errors.push(`${message} [json-pointer:${pointer}]`);
  }
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Slack's phrasing for a length limit is "must be less than limit+1 characters". */
function maxLength(r: Report, value: unknown, limit: number, pointer: string): void {
  if (typeof value !== 'string') r.add('must provide a string', pointer);
  else if (value.length > limit) r.add(`must be less than ${limit + 1} characters`, pointer);
}

function optionalMaxLength(r: Report, value: unknown, limit: number, pointer: string): void {
  if (value !== undefined) maxLength(r, value, limit, pointer);
}

function maxItems(r: Report, value: unknown, limit: number, pointer: string, min = 0): value is unknown[] {
  if (!Array.isArray(value)) {
    r.add('must provide an array', pointer);
    return false;
  }
  if (value.length > limit) r.add(`no more than ${limit} items allowed`, pointer);
  if (value.length < min) r.add(`must provide at least ${min} item${min === 1 ? '' : 's'}`, pointer);
  return true;
}

/** A text object; `plainOnly` where Slack accepts only plain_text (headers, buttons, titles). */
function textObject(r: Report, value: unknown, limit: number, pointer: string, plainOnly = false): void {
  if (!isObject(value)) {
    r.add('must provide an object', pointer);
    return;
  }
  const { type, text } = value;
  if (type !== 'plain_text' && type !== 'mrkdwn') {
    r.add('must be one of: plain_text, mrkdwn', `${pointer}/type`);
    return;
  }
  if (plainOnly && type !== 'plain_text') r.add('must be plain_text', `${pointer}/type`);
  if (typeof text !== 'string') r.add('must provide a string', `${pointer}/text`);
  else if (text.length === 0) r.add('must be more than 0 characters', `${pointer}/text`);
  else if (text.length > limit) r.add(`must be less than ${limit + 1} characters`, `${pointer}/text`);
  // Each flag belongs to one type only (text-object reference).
  if (type === 'plain_text' && 'verbatim' in value) r.add('invalid additional property: verbatim', pointer);
  if (type === 'mrkdwn' && 'emoji' in value) r.add('invalid additional property: emoji', pointer);
}

function style(r: Report, value: unknown, pointer: string): void {
  if (value !== undefined && !BUTTON_STYLES.includes(String(value))) r.add(`must be one of: ${BUTTON_STYLES.join(', ')}`, pointer);
}

function confirmDialog(r: Report, value: unknown, pointer: string): void {
  if (!isObject(value)) {
    r.add('must provide an object', pointer);
    return;
  }
  textObject(r, value.title, 100, `${pointer}/title`, true);
  textObject(r, value.text, 300, `${pointer}/text`);
  textObject(r, value.confirm, 30, `${pointer}/confirm`, true);
  textObject(r, value.deny, 30, `${pointer}/deny`, true);
  style(r, value.style, `${pointer}/style`);
}

function button(r: Report, el: Json, pointer: string): void {
  textObject(r, el.text, 75, `${pointer}/text`, true);
  optionalMaxLength(r, el.action_id, 255, `${pointer}/action_id`);
  optionalMaxLength(r, el.value, 2000, `${pointer}/value`);
  optionalMaxLength(r, el.url, 3000, `${pointer}/url`);
  optionalMaxLength(r, el.accessibility_label, 75, `${pointer}/accessibility_label`);
  style(r, el.style, `${pointer}/style`);
  if (el.confirm !== undefined) confirmDialog(r, el.confirm, `${pointer}/confirm`);
}

function imageElement(r: Report, el: Json, pointer: string): void {
  if (el.image_url === undefined && el.slack_file === undefined) r.add('missing required field: image_url', pointer);
  optionalMaxLength(r, el.image_url, 3000, `${pointer}/image_url`);
  maxLength(r, el.alt_text, 2000, `${pointer}/alt_text`);
}

/** An interactive element; buttons are checked in full, the others only by type. */
function element(r: Report, el: unknown, pointer: string): void {
  if (!isObject(el)) {
    r.add('must provide an object', pointer);
    return;
  }
  if (el.type === 'button') button(r, el, pointer);
  else if (el.type === 'image') imageElement(r, el, pointer);
  else if (!OTHER_ELEMENTS.has(String(el.type))) r.add(`unsupported element type: ${String(el.type)}`, `${pointer}/type`);
}

/** action_id must be unique among the elements of one block (button-element reference). */
function uniqueActionIds(r: Report, elements: unknown[], pointer: string): void {
  const seen = new Set<string>();
  elements.forEach((el, i) => {
    const id = isObject(el) ? el.action_id : undefined;
    if (typeof id !== 'string') return;
    if (seen.has(id)) r.add(`duplicate action_id: ${id}`, `${pointer}/${i}/action_id`);
    seen.add(id);
  });
}

function section(r: Report, b: Json, p: string): void {
  if (b.text === undefined && b.fields === undefined) r.add('must provide text or fields', p);
  if (b.text !== undefined) textObject(r, b.text, 3000, `${p}/text`);
  if (b.fields !== undefined && maxItems(r, b.fields, 10, `${p}/fields`, 1)) {
    b.fields.forEach((f, i) => textObject(r, f, 2000, `${p}/fields/${i}`));
  }
  if (b.accessory !== undefined) element(r, b.accessory, `${p}/accessory`);
}

function context(r: Report, b: Json, p: string): void {
  if (!maxItems(r, b.elements, 10, `${p}/elements`, 1)) return;
  b.elements.forEach((el, i) => {
    const at = `${p}/elements/${i}`;
    if (isObject(el) && el.type === 'image') imageElement(r, el, at);
    else textObject(r, el, 3000, at);
  });
}

function actions(r: Report, b: Json, p: string): void {
  if (!maxItems(r, b.elements, 25, `${p}/elements`, 1)) return;
  b.elements.forEach((el, i) => element(r, el, `${p}/elements/${i}`));
  uniqueActionIds(r, b.elements, `${p}/elements`);
}

function image(r: Report, b: Json, p: string): void {
  imageElement(r, b, p);
  if (b.title !== undefined) textObject(r, b.title, 2000, `${p}/title`, true);
}

const CHECKS: Partial<Record<string, (r: Report, b: Json, pointer: string) => void>> = {
  section,
  header: (r, b, p) => textObject(r, b.text, 150, `${p}/text`, true),
  context,
  actions,
  image,
  divider: () => {},
};

function block(r: Report, b: unknown, surface: Surface, pointer: string): void {
  if (!isObject(b)) {
    r.add('must provide an object', pointer);
    return;
  }
  const type = String(b.type);
  if (!KNOWN_BLOCKS.has(type) || (surface === 'message' && NOT_IN_MESSAGES.has(type))) {
    r.add(`unsupported block type: ${type}`, `${pointer}/type`);
    return;
  }
  optionalMaxLength(r, b.block_id, 255, `${pointer}/block_id`);
  CHECKS[type]?.(r, b, pointer);
}

/** block_id is unique within one message or view. */
function uniqueBlockIds(r: Report, blocks: unknown[], pointer: string): void {
  const seen = new Set<string>();
  blocks.forEach((b, i) => {
    const id = isObject(b) ? b.block_id : undefined;
    if (typeof id !== 'string') return;
    if (seen.has(id)) r.add(`duplicate block_id: ${id}`, `${pointer}/${i}/block_id`);
    seen.add(id);
  });
}

/** Slack-style errors for a blocks array on `surface`; empty when Slack would take it. */
export function validateBlocks(blocks: unknown, surface: Surface, pointer = '/blocks'): string[] {
  const r = new Report();
  if (!maxItems(r, blocks, MAX_BLOCKS[surface], pointer)) return r.errors;
  blocks.forEach((b, i) => block(r, b, surface, `${pointer}/${i}`));
  uniqueBlockIds(r, blocks, pointer);
  return r.errors;
}

/** A modal (views.open) or Home tab (views.publish) view: its own fields, then its blocks. */
export function validateView(view: unknown, surface: Exclude<Surface, 'message'>): string[] {
  const r = new Report();
  if (!isObject(view)) {
    r.add('must provide an object', '/view');
    return r.errors;
  }
  if (view.type !== surface) r.add(`must be ${surface}`, '/view/type');
  if (surface === 'modal') {
    textObject(r, view.title, 24, '/view/title', true);
    if (view.close !== undefined) textObject(r, view.close, 24, '/view/close', true);
    if (view.submit !== undefined) textObject(r, view.submit, 24, '/view/submit', true);
  }
  optionalMaxLength(r, view.private_metadata, 3000, '/view/private_metadata');
  optionalMaxLength(r, view.callback_id, 255, '/view/callback_id');
  return [...r.errors, ...validateBlocks(view.blocks, surface, '/view/blocks')];
}

/** Slack's `response_metadata.messages` carry each error with its level. */
export const asMessages = (errors: readonly string[]): string[] => errors.map((e) => `[ERROR] ${e}`);
