/** The canary's expressions (src/cluster/milvus-canary.ts): what Milvus is asked, as text. */
import { describe, expect, it } from 'vitest';
import { canaryFields, keysFilter, matchAllFilter } from '../../src/cluster/milvus-canary.js';
import { UpgradeError } from '../../src/upgrade/errors.js';

describe('canary expressions', () => {
  it('match-all filters Milvus parses: Int64 from the smallest literal it reads, VarChar from ""', () => {
    expect(matchAllFilter('id', false)).toBe('id >= -9223372036854775807');
    expect(matchAllFilter('doc', true)).toBe('doc >= ""');
  });

  it('keys in a list: VarChar quoted with quotes and backslashes escaped; Int64 as text, anything else refused', () => {
    expect(keysFilter({ primaryField: 'doc', primaryIsString: true, ids: ['a', 'say "hi"', 'back\\slash'] })).toBe('doc in ["a", "say \\"hi\\"", "back\\\\slash"]');
    expect(keysFilter({ primaryField: 'id', primaryIsString: false, ids: ['1', '9223372036854775807', '-5'] })).toBe('id in [1, 9223372036854775807, -5]');
    expect(() => keysFilter({ primaryField: 'id', primaryIsString: false, ids: ['1 or id > 0'] })).toThrow(UpgradeError);
  });

  it('fields: the primary key if Int64 or VarChar, the first FloatVector', () => {
    expect(canaryFields([{ name: 'v0', data_type: 'BinaryVector' }, { name: 'pk', data_type: 'VarChar', is_primary_key: true }, { name: 'v1', data_type: 'FloatVector' }, { name: 'v2', data_type: 'FloatVector' }]))
      .toEqual({ primaryField: 'pk', primaryIsString: true, vectorField: 'v1' });
    expect(canaryFields([{ name: 'id', data_type: 'Int64', is_primary_key: true }])).toEqual({ primaryField: 'id', primaryIsString: false, vectorField: null });
    expect(canaryFields([{ name: 'id', data_type: 'Int32', is_primary_key: true }])).toBeNull();
  });
});
