/**
 * The `/milvus` parser under arbitrary input (fast-check) plus examples of each form.
 *
 * The contract checked: parseCommand never throws anything but an InputError (UsageError is
 * one); an accepted command names a known subcommand, a DNS-1123 release (and namespace) and a
 * version that parses; a refusal is short and carries no raw control character.
 *
 * Bugs in src/bot/commands.ts these properties found (prototype keys taken for commands and
 * flags, raw input echoed in refusals) are fixed; each keeps an example test below, and the
 * properties check those inputs too (nothing is set aside).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCommand, USAGE, UsageError, type Command } from '../../src/bot/commands.js';
import { InputError } from '../../src/upgrade/errors.js';
import { parseVersion } from '../../src/upgrade/milvus/version.js';

const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const COMMAND_NAMES = Object.keys(USAGE);
// C0 controls except \n (the line break between a refusal and its usage lines), DEL, C1 controls.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const RUNS = { numRuns: 2000 };

type Outcome = { command: Command } | { error: unknown };

function attempt(input: unknown): Outcome {
  try {
    return { command: parseCommand(input) };
  } catch (error) {
    return { error };
  }
}

function checkOutcome(input: unknown, o: Outcome): void {
  if ('command' in o) {
    const c = o.command;
    expect(COMMAND_NAMES).toContain(c.name);
    if ('release' in c && c.release !== undefined) {
      expect(c.release).toMatch(DNS1123);
      expect(c.release.length).toBeLessThanOrEqual(53);
      expect(c.namespace).toMatch(DNS1123);
      expect(c.namespace.length).toBeLessThanOrEqual(63);
    }
    if ('version' in c) expect(parseVersion(c.version).text).toBe(c.version);
    return;
  }
  const err = o.error;
  if (!(err instanceof InputError)) throw new Error(`parseCommand(${JSON.stringify(input)?.slice(0, 200)}) threw ${String(err)}`);
  const shown = err.explain();
  expect(shown.length).toBeLessThan(2000);
  expect(shown).not.toMatch(CONTROL);
  expect(shown).not.toMatch(LONE_SURROGATE);
}

function property(arb: fc.Arbitrary<unknown>, runs = RUNS): void {
  fc.assert(
    fc.property(arb, (input) => {
      checkOutcome(input, attempt(input));
    }),
    runs,
  );
}

// ---- arbitraries -------------------------------------------------------------------------

const SHELL = [';', '|', '&', '$', '(', ')', '<', '>', '`', "'", '"', '\\', ' ', '\n', '*', '?', '~', '!', '#', '{', '}'];
const shellish = fc.string({ unit: fc.constantFrom(...SHELL, 'a', '-', '1', '.'), maxLength: 80 });
const lowerName = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,60}[a-z0-9])?$/);
const versionish = fc.oneof(
  fc.tuple(fc.nat(9), fc.nat(30), fc.nat(40)).map(([a, b, c]) => `${a}.${b}.${c}`),
  fc.tuple(fc.constantFrom('v', ''), fc.nat(9), fc.nat(9), fc.nat(99), fc.constantFrom('', '-beta', '-hotfix', '-rc.1', '-01', '--x', '-'))
    .map(([v, a, b, c, s]) => `${v}${a}.${b}.${c}${s}`),
  fc.string({ maxLength: 12 }),
);
const word = fc.oneof(
  { arbitrary: fc.constantFrom(...COMMAND_NAMES, '-n', '--namespace', '-c', '--cluster', '-s', '--strategy', 'helm', 'rolling', 'migrate', '-', '--', '-1', '-x'), weight: 4 },
  { arbitrary: lowerName, weight: 3 },
  { arbitrary: versionish, weight: 2 },
  { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }), weight: 1 },
  { arbitrary: shellish, weight: 1 },
  // Names of Object.prototype members (bug 1 below: they were taken for commands and flags).
  { arbitrary: fc.constantFrom('constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty'), weight: 1 },
);
const separator = fc.constantFrom(' ', '  ', '\t', '\n', '\u00a0', '\u3000', '\r\n');
/** Command-shaped text: a (mostly) known subcommand followed by words and flags. */
const commandish = fc
  .tuple(fc.oneof(fc.constantFrom(...COMMAND_NAMES), word), fc.array(fc.tuple(separator, word), { maxLength: 8 }), fc.constantFrom('', ' ', '\n'))
  .map(([head, rest, tail]) => `${head}${rest.map(([s, w]) => s + w).join('')}${tail}`);

describe('parseCommand: properties', () => {
  it('never throws anything but an InputError for any ASCII string', () => property(fc.string({ maxLength: 600 })));

  it('... for any string of Unicode code points (controls, astral planes, BOM, NUL)', () => property(fc.string({ unit: 'binary', maxLength: 300 })));

  it('... for strings with lone surrogates and Unicode white space', () =>
    property(fc.string({ unit: fc.oneof(fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), fc.constantFrom('\u2028', '\u2029', '\ufeff', '\u200b', '\u00a0', 'status', ' ', 'a')), maxLength: 100 })));

  it('... for strings built from shell metacharacters', () => property(fc.tuple(fc.constantFrom('', 'status ', 'plan my-release ', 'upgrade a 2.4.23 -n '), shellish).map(([a, b]) => a + b)));

  it('... for command-shaped strings (known words, flags, names, versions, odd separators)', () => property(commandish, { numRuns: 5000 }));

  it('... for plan/upgrade with hostile versions and strategies (the refusals quote them)', () => {
    const hostileWord = fc.string({ unit: 'binary', minLength: 1, maxLength: 60 });
    property(
      fc.oneof(
        fc.tuple(fc.constantFrom('plan a ', 'upgrade my-release '), hostileWord).map(([head, v]) => head + v),
        fc.tuple(fc.constantFrom('plan a 2.4.23 --strategy ', 'upgrade a 2.4.23 -s '), hostileWord).map(([head, s]) => head + s),
      ),
    );
  });

  it('... for huge strings (up to 100k characters)', () =>
    property(
      fc.tuple(fc.constantFrom('status my-release ', 'plan a 2.4.23 ', '', 'x'), fc.integer({ min: 400, max: 100_000 }), fc.constantFrom(' ', 'a', '-n ', '😀', '\u0000')).map(([head, n, unit]) => head + unit.repeat(Math.ceil(n / unit.length))),
      { numRuns: 60 },
    ));

  it('... for inputs that are not strings', () => property(fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withNullPrototype: true })));

  it('accepted commands are well formed (known name, DNS-1123 release and namespace, parsable version)', () => {
    const valid = fc
      .tuple(
        fc.constantFrom('status', 'plan', 'upgrade', 'cancel', 'rollback', 'history'),
        fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$/),
        versionish,
        fc.option(fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/), { nil: undefined }),
        fc.option(fc.constantFrom('helm', 'rolling', 'migrate'), { nil: undefined }),
      )
      .map(([name, release, version, ns, strategy]) => {
        const wantsVersion = name === 'plan' || name === 'upgrade';
        return [name, release, wantsVersion ? version : '', ns ? `-n ${ns}` : '', wantsVersion && strategy ? `--strategy ${strategy}` : ''].filter(Boolean).join(' ');
      });
    let accepted = 0;
    fc.assert(
      fc.property(valid, (text) => {
        const o = attempt(text);
        checkOutcome(text, o);
        if ('command' in o) accepted++;
      }),
      RUNS,
    );
    // Most of these are valid: the property is not vacuous.
    expect(accepted).toBeGreaterThan(RUNS.numRuns / 3);
  });

  it('a command that parses is parsed the same with extra white space around words', () => {
    fc.assert(
      fc.property(commandish, fc.array(separator, { minLength: 1, maxLength: 3 }), (text, seps) => {
        fc.pre(text.length < 400);
        const spaced = text.trim().split(/\s+/).join(seps.join(''));
        const a = attempt(text);
        const b = attempt(` ${spaced} `);
        if ('command' in a) expect(b).toEqual(a);
      }),
      RUNS,
    );
  });
});

// ---- examples ----------------------------------------------------------------------------

function refusal(text: unknown): UsageError {
  const o = attempt(text);
  if ('command' in o) throw new Error(`expected a refusal for ${JSON.stringify(text)}, got ${JSON.stringify(o.command)}`);
  expect(o.error).toBeInstanceOf(UsageError);
  return o.error as UsageError;
}

describe('parseCommand: examples', () => {
  it.each<[string, Command]>([
    ['', { name: 'help' }],
    ['help', { name: 'help' }],
    ['HELP', { name: 'help' }],
    ['versions', { name: 'versions' }],
    ['versions -c prod-eu', { name: 'versions', cluster: 'prod-eu' }],
    ['status my-release', { name: 'status', release: 'my-release', namespace: 'default' }],
    ['status my-release -n milvus', { name: 'status', release: 'my-release', namespace: 'milvus' }],
    ['status my-release --namespace milvus --cluster arn:aws:eks:eu-west-1:1:cluster/prod', { name: 'status', release: 'my-release', namespace: 'milvus', cluster: 'arn:aws:eks:eu-west-1:1:cluster/prod' }],
    ['plan my-release 2.4.23', { name: 'plan', release: 'my-release', namespace: 'default', version: '2.4.23' }],
    ['plan my-release v2.4.23 --strategy rolling', { name: 'plan', release: 'my-release', namespace: 'default', version: '2.4.23', strategy: 'rolling' }],
    ['upgrade my-release 2.5.0-beta -s helm -n ns1 -c ctx', { name: 'upgrade', release: 'my-release', namespace: 'ns1', version: '2.5.0-beta', strategy: 'helm', cluster: 'ctx' }],
    ['upgrade -n ns1 my-release 2.4.13-hotfix', { name: 'upgrade', release: 'my-release', namespace: 'ns1', version: '2.4.13-hotfix' }],
    ['cancel my-release', { name: 'cancel', release: 'my-release', namespace: 'default' }],
    ['rollback my-release -n prod', { name: 'rollback', release: 'my-release', namespace: 'prod' }],
    ['history my-release', { name: 'history', release: 'my-release', namespace: 'default' }],
    ['  Status\tmy-release\n-n\u00a0prod  ', { name: 'status', release: 'my-release', namespace: 'prod' }],
  ])('%j parses', (text, expected) => {
    expect(parseCommand(text)).toEqual(expected);
  });

  it.each([
    ['status my-release -n a -n b', /-n is given twice/],
    ['status my-release -n a --namespace b', /--namespace is given twice/],
    ['plan a 2.4.23 --strategy helm -s rolling', /-s is given twice/],
    ['status my-release -n', /-n needs a value/],
    ['status my-release -n -c x', /-n needs a value/],
    ['plan a 2.4.23 --strategy', /--strategy needs a value/],
    ['status my-release --force', /unknown option "--force"/],
    ['status my-release -x', /unknown option "-x"/],
    ['status', /missing the release name/],
    ['plan my-release', /missing the version/],
    ['plan', /missing the release name/],
    ['status a b', /unexpected "b"/],
    ['versions extra', /unexpected "extra"/],
    ['versions -n x', /namespace does not apply to versions/],
    ['status a --strategy helm', /strategy does not apply to status/],
    ['plan a 2.4.23 --strategy yolo', /unknown strategy "yolo"/],
    ['plan a latest', /"latest" is not a Milvus version/],
    ['status My_Release', /not a valid Helm release name/],
    ['status a -n Prod', /not a valid Kubernetes namespace/],
    ['status a -c -bad', /-c needs a value/],
    ['status a -c bad!ctx', /is not a cluster/],
    ['deploy a', /unknown command "deploy"/],
    ['status a;rm$(reboot)', /not a valid Helm release name/],
    [`status ${'a'.repeat(600)}`, /too long \(607 characters\)/],
  ])('%j is refused: %s', (text, why) => {
    const err = refusal(text);
    expect(err.explain()).toMatch(why);
    expect(err.explain()).toMatch(/usage: \/milvus/);
  });

  it.each([undefined, null, 42, {}, ['status', 'a'], { text: 'status a' }])('refuses a non-string %j', (input) => {
    expect(refusal(input).message).toBe('the command text is missing');
  });

  it('names the right usage for each subcommand', () => {
    for (const name of COMMAND_NAMES.filter((n) => n !== 'help')) {
      const err = refusal(`${name} -n`);
      expect(err.usage).toBe(USAGE[name]);
    }
  });

  it('shows an unknown command unprintable-safe and short', () => {
    const err = refusal(`\u0007<!channel>${'x'.repeat(100)}`);
    expect(err.message).not.toMatch(CONTROL);
    expect(err.message).not.toContain('<!channel>');
    expect(err.message.length).toBeLessThan(80);
  });
});

describe('parseCommand: bugs found by these properties, now fixed', () => {
  it('was bug 1a: "constructor foo" is refused as an unknown command (it is accepted as a command named "constructor")', () => {
    expect(refusal('constructor foo').message).toMatch(/unknown command/);
  });

  it('was bug 1b: "constructor foo -n x" is refused with a UsageError (it throws TypeError: allowed.includes is not a function)', () => {
    expect(attempt('constructor foo -n x')).toMatchObject({ error: expect.any(UsageError) });
  });

  it('was bug 1c: a release named "constructor" (a valid DNS-1123 name) can be addressed (it is taken for a flag)', () => {
    expect(parseCommand('status constructor')).toEqual({ name: 'status', release: 'constructor', namespace: 'default' });
  });

  it('was bug 1d: "status a toString x" names the word, not "function toString() { [native code] }"', () => {
    expect(refusal('status a toString x').message).not.toMatch(/native code/);
  });

  it('was bug 2a: a version refusal carries no raw control character', () => {
    expect(refusal('plan my-release 2.4\u0000\u001b[31m').explain()).not.toMatch(CONTROL);
  });

  it('was bug 2b: a --strategy refusal carries no raw control character', () => {
    expect(refusal('plan my-release 2.4.23 --strategy x\u0001').explain()).not.toMatch(CONTROL);
  });

  it('was bug 2c: a version refusal never ends in half a surrogate pair', () => {
    expect(refusal(`plan my-release ${'a'.repeat(39)}😀`).explain()).not.toMatch(LONE_SURROGATE);
  });
});
