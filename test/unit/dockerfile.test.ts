/**
 * The image is not built here (no Docker engine), so the Dockerfile's runtime stage is checked by
 * parsing it: node:20-bookworm-slim ships no CA bundle, and helm needs one for an https chart
 * repository (zilliztech's is https).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';

const text = readFileSync(join(import.meta.dirname, '..', '..', 'Dockerfile'), 'utf8');

/** The instructions of the last stage (the image that runs), in order. */
function runtimeStage(source: string): Instruction[] {
  const instructions = DockerfileParser.parse(source).getInstructions();
  const lastFrom = instructions.map((i) => i.getKeyword()).lastIndexOf('FROM');
  if (lastFrom < 0) throw new Error('the Dockerfile has no FROM');
  return instructions.slice(lastFrom);
}

/** The packages an `apt-get install` in this RUN names (flags left out). */
function aptInstalls(run: Instruction): string[] {
  const words = (run.getArgumentsContent() ?? '').replace(/\\\s*\n/g, ' ').split(/\s+|&&|;/).filter(Boolean);
  const out: string[] = [];
  for (let i = 0; i < words.length - 1; i++) {
    if (words[i] !== 'apt-get' || words[i + 1] !== 'install') continue;
    for (let j = i + 2; j < words.length && !['&&', 'rm', 'apt-get'].includes(words[j]!); j++) {
      if (!words[j]!.startsWith('-')) out.push(words[j]!);
    }
  }
  return out;
}

describe('Dockerfile runtime stage', () => {
  const stage = runtimeStage(text);

  it('is based on the Node image', () => {
    expect(stage[0]!.getKeyword()).toBe('FROM');
    expect(stage[0]!.getArgumentsContent()).toBe('${NODE_IMAGE}');
  });

  it('installs ca-certificates, as root, before switching to the non-root user', () => {
    const keywords = stage.map((i) => i.getKeyword());
    const installIndex = stage.findIndex((i) => i.getKeyword() === 'RUN' && aptInstalls(i).includes('ca-certificates'));
    expect(installIndex, 'no RUN apt-get install ... ca-certificates in the runtime stage').toBeGreaterThan(0);
    const userIndex = keywords.indexOf('USER');
    expect(userIndex, 'the runtime stage has no USER').toBeGreaterThan(0);
    expect(installIndex).toBeLessThan(userIndex);
    // Kept small: no recommends, and the apt lists removed in the same layer.
    const run = stage[installIndex]!.getArgumentsContent() ?? '';
    expect(run).toContain('--no-install-recommends');
    expect(run).toMatch(/rm -rf \/var\/lib\/apt\/lists/);
  });

  it('an install in an earlier stage does not count for the runtime stage', () => {
    const twoStages = 'FROM debian AS tools\nRUN apt-get install -y ca-certificates curl\nFROM node\nUSER 1000\n';
    expect(runtimeStage(twoStages).some((i) => i.getKeyword() === 'RUN' && aptInstalls(i).includes('ca-certificates'))).toBe(false);
    expect(aptInstalls(DockerfileParser.parse(twoStages).getInstructions()[1]!)).toEqual(['ca-certificates', 'curl']);
  });

  it('runs dist/main.js with a small young generation (for the worker RSS)', () => {
    const cmd = stage.filter((i) => i.getKeyword() === 'CMD').at(-1);
    expect(cmd, 'no CMD in the runtime stage').toBeDefined();
    const argv = JSON.parse(cmd!.getArgumentsContent() ?? '[]') as string[];
    expect(argv[0]).toBe('node');
    expect(argv.at(-1)).toBe('dist/main.js');
    expect(argv).toContain('--max-semi-space-size=4');
  });
});
