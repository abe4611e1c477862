import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, helmT, installRelease, newNamespace, onlyIf, snapshot } from './helpers.js';

describe('bad input and preflight refusals: exit 2, a clear message, the cluster unchanged', () => {
  let ns: { name: string; cleanup: () => Promise<void> };
  let before: string;
  beforeAll(async () => {
    ns = await newNamespace('e2e-refuse');
    await installRelease(ns.name, 'my-release', '4.1.24');
    before = await snapshot(ns.name, 'my-release');
  });
  afterAll(async () => ns.cleanup());

  const cases: Array<[string, () => string[], RegExp]> = [
    ['an invalid release name', () => ['upgrade', 'My_Release', '2.4.5', '-n', ns.name, '--yes'], /"My_Release" is not a valid Helm release name/],
    ['shell metacharacters in the name', () => ['upgrade', 'x;rm -rf /', '2.4.5', '-n', ns.name, '--yes'], /is not a valid Helm release name/],
    ['a version that is not one', () => ['upgrade', 'my-release', 'latest', '-n', ns.name, '--yes'], /"latest" is not a Milvus version/],
    ['an unknown version', () => ['upgrade', 'my-release', '9.9.9', '-n', ns.name, '--yes'], /no chart in the repository serves Milvus 9\.9\.9/],
    ['a downgrade', () => ['upgrade', 'my-release', '2.2.13', '-n', ns.name, '--yes'], /Milvus 2\.2\.13 is not newer than the running 2\.3\.11/],
    ['the same version', () => ['upgrade', 'my-release', 'v2.3.11', '-n', ns.name, '--yes'], /not newer than the running 2\.3\.11/],
    ['a missing release', () => ['upgrade', 'nope', '2.4.5', '-n', ns.name, '--yes'], /release nope not found in namespace/],
    ['an unknown strategy', () => ['upgrade', 'my-release', '2.4.5', '-n', ns.name, '--strategy', 'yolo', '--yes'], /unknown strategy "yolo"/],
    ['migrate where no migration applies', () => ['upgrade', 'my-release', '2.4.5', '-n', ns.name, '--strategy', 'migrate', '--yes'], /metadata migration only applies from 2\.1\.x/],
    ['upgrade without --yes', () => ['upgrade', 'my-release', '2.4.5', '-n', ns.name], /add --yes to go ahead/],
  ];

  it.each(cases)('refuses %s', async (_what, args, message) => {
    const r = await cli(args());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(await snapshot(ns.name, 'my-release')).toBe(before);
  });

  it('refuses a release that is not deployed (a failed helm upgrade) and names the status', async () => {
    const n = await newNamespace('e2e-failed');
    try {
      await installRelease(n.name, 'half', '4.1.24');
      // A helm upgrade whose pods never get ready leaves the release "failed".
      await helmT(['upgrade', 'half', 'zilliztech/milvus', '-n', n.name, '--version', '4.1.24', '--reuse-values', '--set', 'image.all.tag=v2.3.11-never-ready', '--wait', '--timeout', '3s']).catch(onlyIf(/context deadline exceeded|timed out waiting/));
      const snap = await snapshot(n.name, 'half');
      const r = await cli(['upgrade', 'half', '2.4.5', '-n', n.name, '--yes']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/helm release half is "failed" \(revision 2\), not "deployed"/);
      expect(await snapshot(n.name, 'half')).toBe(snap);
    } finally {
      await n.cleanup();
    }
  });
});
