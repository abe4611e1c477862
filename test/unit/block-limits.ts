/**
 * Slack's Block Kit limits (block-kit-rules.ts, the stub's own), checked on what the bot builds, so
 * a view Slack would refuse with invalid_blocks fails here first; and the text a person reads.
 */
import type { KnownBlock } from '@slack/web-api';
import { expect } from 'vitest';
import { validateBlocks, type Surface } from '../harness/block-kit-rules.js';

/** Fails with Slack's own error strings (the stub's rules) when Slack would refuse the blocks. */
export function expectWithinLimits(blocks: readonly KnownBlock[], surface: Surface): void {
  expect(validateBlocks(blocks, surface)).toEqual([]);
}

/** Every mrkdwn and plain text of the blocks, one string: what a person reads. */
export function blockText(blocks: readonly KnownBlock[]): string {
  const out: string[] = [];
  for (const b of blocks) {
    if (b.type === 'header') out.push(b.text.text);
    if (b.type === 'section') {
      if (b.text) out.push(b.text.text);
      for (const f of b.fields ?? []) out.push(f.text);
    }
    if (b.type === 'context') for (const e of b.elements) if (e.type === 'mrkdwn' || e.type === 'plain_text') out.push(e.text);
  }
  return out.join('\n');
}
