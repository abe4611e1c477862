import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { helmPaths, readIndexEntries, readRepositories } from '../../src/cluster/helm-files.js';
import { UpgradeError } from '../../src/upgrade/errors.js';

describe("helm's files, read in-process", () => {
  it('finds them where helm does', () => {
    expect(helmPaths({ HELM_REPOSITORY_CONFIG: '/r.yaml', HELM_REPOSITORY_CACHE: '/c' })).toEqual({ repositoryConfig: '/r.yaml', repositoryCache: '/c' });
    expect(helmPaths({ HELM_CONFIG_HOME: '/cfg', HELM_CACHE_HOME: '/cache' })).toEqual({ repositoryConfig: '/cfg/repositories.yaml', repositoryCache: '/cache/repository' });
    expect(helmPaths({ XDG_CONFIG_HOME: '/x', XDG_CACHE_HOME: '/y' })).toEqual({ repositoryConfig: '/x/helm/repositories.yaml', repositoryCache: '/y/helm/repository' });
  });

  it('repositories: name -> URL; none when the file does not exist yet', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mub-helm-'));
    expect(await readRepositories(join(dir, 'missing.yaml'))).toEqual({});
    writeFileSync(join(dir, 'r.yaml'), 'apiVersion: ""\nrepositories:\n- name: zilliztech\n  url: https://zilliztech.github.io/milvus-helm\n- name: other\n  url: http://x\n');
    expect(await readRepositories(join(dir, 'r.yaml'))).toEqual({ zilliztech: 'https://zilliztech.github.io/milvus-helm', other: 'http://x' });
  });

  it('the chart index: versions of one chart, no pre-release chart versions (as helm search without --devel); re-read when the file changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mub-helm-'));
    const index = (extra = '') => `apiVersion: v1\nentries:\n  milvus:\n  - version: 4.2.58\n    appVersion: 2.5.16\n  - version: 5.0.0-rc.1\n    appVersion: 2.6.0-rc1\n${extra}  attu:\n  - version: 1.0.0\n    appVersion: v2.5.3\n`;
    writeFileSync(join(dir, 'z-index.yaml'), index());
    expect(await readIndexEntries(dir, 'z', 'milvus')).toEqual([{ chartVersion: '4.2.58', appVersion: '2.5.16' }]);
    writeFileSync(join(dir, 'z-index.yaml'), index('  - version: 5.0.19\n    appVersion: 2.6.15\n'));
    expect((await readIndexEntries(dir, 'z', 'milvus')).map((e) => e.chartVersion)).toEqual(['4.2.58', '5.0.19']);
    const missing = await readIndexEntries(dir, 'nope', 'milvus').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(UpgradeError);
    expect((missing as UpgradeError).code).toBe('transient');
  });
});
