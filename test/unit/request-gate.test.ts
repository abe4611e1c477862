import { describe, expect, it } from 'vitest';
import { refusalBeforeBody, SLACK_BODY_LIMIT_BYTES } from '../../src/bot/request-gate.js';
import { blockActionPayload, blockActionsBody, signSlackRequest } from '../harness/slack-sign.js';

const NOW = 1_800_000_000;
const signed = (over: Record<string, string | undefined> = {}) => ({ ...signSlackRequest('s', 'body', NOW), 'content-length': '1000', ...over });

/** A click on a card of 50 sections of 3000 characters each: Block Kit's most. */
function clickOnBiggestCard(text: string): string {
  const section = text.repeat(Math.ceil(3000 / text.length)).slice(0, 3000);
  const blocks = Array.from({ length: 50 }, (_, i) => ({ type: 'section', block_id: `b${i}`, text: { type: 'mrkdwn', text: section } }));
  return blockActionsBody(blockActionPayload({ user_id: 'U0APP00001', channel_id: 'C0OPS00001', message_ts: '1700000000.000100', action_id: 'approve', value: 'req-1796647000123', message_text: 'x'.repeat(4000), message_blocks: blocks }));
}

describe('the Slack endpoint, before a body is read', () => {
  it('lets a signed, fresh request of a sane size through', () => {
    expect(refusalBeforeBody(signed(), NOW)).toBeNull();
    expect(refusalBeforeBody(signed({ 'content-length': undefined, 'transfer-encoding': 'chunked' }), NOW)).toBeNull();
  });

  it('refuses what Bolt would only refuse after buffering the body', () => {
    expect(refusalBeforeBody({ 'content-length': '4194304' }, NOW)).toEqual({ status: 401, reason: 'no Slack signature' });
    expect(refusalBeforeBody(signed({ 'x-slack-signature': 'v0=zz' }), NOW)?.status).toBe(401);
    expect(refusalBeforeBody(signed({ 'x-slack-request-timestamp': undefined }), NOW)?.reason).toBe('no Slack request timestamp');
    expect(refusalBeforeBody(signed(), NOW + 6 * 60)?.reason).toBe('stale Slack request timestamp');
    expect(refusalBeforeBody(signed(), NOW - 6 * 60)?.reason).toBe('stale Slack request timestamp');
    expect(refusalBeforeBody(signed({ 'content-length': String(SLACK_BODY_LIMIT_BYTES + 1) }), NOW)).toEqual({ status: 413, reason: `body over ${SLACK_BODY_LIMIT_BYTES} bytes` });
    expect(refusalBeforeBody(signed({ 'content-length': '12abc' }), NOW)?.status).toBe(400);
    expect(refusalBeforeBody(signed({ 'content-length': undefined }), NOW)?.status).toBe(411);
  });

  it('the cap leaves a margin over the largest click the bot must take (measured, not guessed)', () => {
    const botStyle = clickOnBiggestCard('~ Deployment my-release-milvus-querynode: querynode: milvusdb/milvus:v2.3.11 -> milvusdb/milvus:v2.4.23; spec.template changed\n');
    const everyCharEscaped = clickOnBiggestCard('"<>&\\');
    expect(Buffer.byteLength(botStyle)).toBeLessThan(200_000);
    expect(Buffer.byteLength(everyCharEscaped)).toBeLessThan(SLACK_BODY_LIMIT_BYTES / 1.5);
    expect(refusalBeforeBody(signed({ 'content-length': String(Buffer.byteLength(everyCharEscaped)) }), NOW)).toBeNull();
  });
});
