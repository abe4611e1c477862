/** `/milvus status` as Block Kit: one row per Deployment (image, ready, restarts), the same text as before. */
import type { KnownBlock, SectionBlock } from '@slack/web-api';
import { describe, expect, it } from 'vitest';
import { statusMessage, STATUS_MAX_COMPONENTS } from '../../src/bot/status-view.js';
import { blockText, expectWithinLimits } from './block-limits.js';
import { component, releaseState } from './helpers.js';

const rows = (blocks: readonly KnownBlock[]): string[][] =>
  blocks.filter((b): b is SectionBlock => b.type === 'section' && (b.fields?.length ?? 0) === 2 && !b.fields![0]!.text.startsWith('*Namespace*')).map((b) => b.fields!.map((f) => f.text));

describe('the status answer', () => {
  const state = releaseState({ release: 'my-release', version: '2.3.11', chartVersion: '4.1.24', revision: 1, components: ['proxy', 'querynode', 'datanode'], others: [component('attu', { fullname: 'my-release-milvus', image: 'zilliz/attu:v2.4.12' })] });

  it('keeps the text it always had (the notification and the tests read it)', () => {
    const { text } = statusMessage({ state, running: '2.3.11', restarts: { proxy: 0 }, active: { id: 'req-3', state: 'running' } });
    expect(text.split('\n')).toEqual([
      '*my-release* runs Milvus 2.3.11 (helm revision 1, deployed, chart milvus-4.1.24)',
      '• proxy: `milvusdb/milvus:v2.3.11` 1/1 ready',
      '• querynode: `milvusdb/milvus:v2.3.11` 1/1 ready',
      '• datanode: `milvusdb/milvus:v2.3.11` 1/1 ready',
      '• attu: `zilliz/attu:v2.4.12` (my-release-milvus-attu): not Milvus, left alone',
      'Request in progress: req-3 (running)',
    ]);
  });

  it('blocks: the release, helm, then each Deployment with its image, ready pods and restarts; Attu left alone', () => {
    const { blocks } = statusMessage({ state, running: '2.3.11', restarts: { proxy: 0, querynode: 4 }, active: null });
    expectWithinLimits(blocks, 'message');
    expect(blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'my-release runs Milvus 2.3.11', emoji: true } });
    const all = blockText(blocks);
    expect(all).toContain('*Helm*\nrevision 1, deployed');
    expect(all).toContain('*Chart*\nmilvus-4.1.24');
    expect(rows(blocks)).toEqual([
      ['*proxy*\n`milvusdb/milvus:v2.3.11`', 'ready 1/1 · restarts 0'],
      ['*querynode*\n`milvusdb/milvus:v2.3.11`', 'ready 1/1 · restarts 4'],
      // No pod counted for it: none restarted.
      ['*datanode*\n`milvusdb/milvus:v2.3.11`', 'ready 1/1 · restarts 0'],
      ['*attu*\n`zilliz/attu:v2.4.12`', 'not Milvus, left alone (`my-release-milvus-attu`)'],
    ]);
    expect(all).not.toMatch(/in progress/i);
  });

  it('restarts that could not be read say so; a paused Deployment is loud; the active request is named', () => {
    const paused = { ...component('querynode', { version: '2.3.11' }), paused: true, pausedBy: null };
    const { blocks } = statusMessage({ state: releaseState({ release: 'my-release', components: [paused] }), running: '2.3.11', active: { id: 'req-3', state: 'pending-approval' } });
    const [row] = rows(blocks);
    expect(row![1]).toMatch(/^ready 1\/1 · restarts not read\n:warning: \*PAUSED\* \(not by the bot/);
    expect(blockText(blocks)).toContain(':arrows_counterclockwise: Request in progress: `req-3` (*pending approval*)');
  });

  it('many Deployments: within a message’s 50 blocks, the rest counted', () => {
    const many = Array.from({ length: 70 }, (_, i) => component(`querynode${i}`, { version: '2.3.11' }));
    const { blocks } = statusMessage({ state: releaseState({ release: 'my-release', components: many }), running: '2.3.11', restarts: {}, active: { id: 'req-3', state: 'running' } });
    expectWithinLimits(blocks, 'message');
    expect(rows(blocks)).toHaveLength(STATUS_MAX_COMPONENTS);
    expect(blockText(blocks)).toContain(`…and ${70 - STATUS_MAX_COMPONENTS} more Deployments.`);
  });

  it('a long release name and image are cut to the limits, not refused by Slack', () => {
    const long = 'v'.repeat(2100);
    const { blocks } = statusMessage({ state: releaseState({ release: 'r'.repeat(53), components: [component('proxy', { image: `milvusdb/milvus:${long}` })] }), running: long, active: null });
    expectWithinLimits(blocks, 'message');
  });
});
