import { describe, expect, it } from 'vitest';
import { editConfigFile, withFlagOn } from '../../src/cluster/config-file.js';
import { objectsOfManifest } from '../../src/cluster/helm.js';
import { parseHelmYaml, parseHelmYamlStream } from '../../src/cluster/helm-yaml.js';
import { UnreadableError, UpgradeError } from '../../src/upgrade/errors.js';
import { HELM_YAML_CASES } from '../fixtures/helm-yaml-cases.js';

describe('parseHelmYaml reads each quirk as helm template prints it', () => {
  it.each(HELM_YAML_CASES.map((c) => [c.quirk, c] as const))('%s', (_quirk, c) => {
    expect(parseHelmYaml(c.yaml)).toEqual(c.helm);
  });

  it('an empty document is null; a key named __proto__ is data', () => {
    expect(parseHelmYaml('')).toBeNull();
    const v = parseHelmYaml('__proto__:\n  polluted: true\n') as Record<string, unknown>;
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses what helm refuses, with the line', () => {
    expect(() => parseHelmYaml('a: [unclosed\n')).toThrow();
    expect(() => parseHelmYaml('a: *nowhere\n')).toThrow(/nowhere/);
    expect(() => parseHelmYaml('m:\n  <<: 3\n')).toThrow(/merge key/);
  });
});

// The Pulsar v2 proxy ConfigMap as the real chart 4.1.24 renders it with its defaults (the
// subchart's default httpNumThreads, then the Milvus chart's configData).
const PULSAR_PROXY = `---
# Source: milvus/charts/pulsar/templates/proxy-configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: "my-release-pulsar-proxy"
  namespace: default
data:
  clusterName: my-release-pulsar
  httpNumThreads: "8"
  statusFilePath: "/pulsar/status"
  PULSAR_GC: |
    -XX:MaxDirectMemorySize=2048m
  PULSAR_MEM: |
    -Xms2048m -Xmx2048m
  httpNumThreads: "100"
---
# Source: milvus/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: my-release-milvus
data:
  user.yaml: |
    rootCoord:
      enableActiveStandby: true
`;

describe('manifests', () => {
  it('a ConfigMap with a key given twice is read, the last value winning, as the API server stores it', () => {
    const objects = objectsOfManifest(PULSAR_PROXY, 'the manifest helm recorded for release default/my-release');
    expect(objects.map((o) => o.metadata.name)).toEqual(['my-release-pulsar-proxy', 'my-release-milvus']);
    expect((objects[0] as unknown as { data: Record<string, string> }).data.httpNumThreads).toBe('100');
  });

  it('a document that cannot be read is named by kind, name, place and release, as a defect, not a refusal', () => {
    const broken = `${PULSAR_PROXY}---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ndata: [unclosed\n`;
    let error: unknown;
    try {
      objectsOfManifest(broken, 'the manifest helm recorded for release default/my-release');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UnreadableError);
    const e = error as UpgradeError;
    expect(e.code).toBe('unreadable');
    expect(e.message).toMatch(/^could not read Secret creds \(document 3\) in the manifest helm recorded for release default\/my-release: /);
    expect(e.explain()).toContain('defect of milvus-upgrade-bot, not a refusal');
  });

  it('the stream keeps each document apart: one broken document does not hide the others', () => {
    const docs = parseHelmYamlStream('a: 1\n---\nb: [\n---\nc: 3\n');
    expect(docs.map((d) => d.value)).toEqual([{ a: 1 }, null, { c: 3 }]);
    expect(docs.map((d) => d.error === null)).toEqual([true, false, true]);
  });
});

describe('editing a config file the chart wrote', () => {
  const sections = ['rootCoord', 'queryCoord'];

  it('sets the flag in the section that counts when the file gives it twice', () => {
    const text = 'rootCoord:\n  port: 1\nrootCoord:\n  enableActiveStandby: false\n';
    const edit = withFlagOn(text, sections, 'enableActiveStandby');
    expect(edit.changed).toEqual(['rootCoord', 'queryCoord']);
    expect(parseHelmYaml(edit.text)).toEqual({ rootCoord: { enableActiveStandby: true }, queryCoord: { enableActiveStandby: true } });
  });

  it('reads yes as true, as helm does, so nothing is rewritten', () => {
    const text = 'rootCoord:\n  enableActiveStandby: yes\nqueryCoord:\n  enableActiveStandby: on\n';
    expect(withFlagOn(text, sections, 'enableActiveStandby')).toEqual({ text, changed: [] });
  });

  it('a section that is null or a scalar becomes a map', () => {
    const edit = withFlagOn('# keep me\nrootCoord:\nqueryCoord: 3\n', sections, 'enableActiveStandby');
    expect(edit.text).toContain('# keep me');
    expect(parseHelmYaml(edit.text)).toEqual({ rootCoord: { enableActiveStandby: true }, queryCoord: { enableActiveStandby: true } });
  });

  it('a file that is not YAML, or not a map, is unreadable, named after the file', () => {
    expect(() => editConfigFile('a: [x\n', sections, 'f', 'user.yaml in ConfigMap c')).toThrow(/^could not read user\.yaml in ConfigMap c: not valid YAML/);
    expect(() => editConfigFile('just text\n', sections, 'f', 'user.yaml in ConfigMap c')).toThrow(UnreadableError);
  });
});
