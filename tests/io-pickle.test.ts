// Pickle VM: CPython's own output for protocols 0-5, allow-list enforcement, inert class records, errors.
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { unpickle, PyObject, dictAttributes } from '../core/io/pickle.ts';

const dir = 'tests/fixtures/io/';

/** The object make_fixtures.py pickles in every protocol (plain_object()), written out again here. */
function expectedPlain(): Map<unknown, unknown> {
  return new Map<unknown, unknown>([
    ['ints', [0, 1, -1, 255, 256, 65535, 65536, -(2 ** 31), 2 ** 31 - 1, 2 ** 40, -(2 ** 40), 2n ** 70n, -(2n ** 70n)]],
    ['floats', [0, -1.5, 1e-300, 3.141592653589793, 1e308]],
    ['strs', ['', 'abc', 'μ-Mamba ✓', 'a\nb\\c']],
    ['bytes', Uint8Array.from([0, 1, 255])],
    ['bytearray', Uint8Array.from([120, 121])],
    ['none', null],
    ['bools', [true, false]],
    ['tuple', [1, [2, 3], []]],
    ['nested', new Map([['k', [new Map([['deep', 1]])]]])],
    ['set', new Set([7])],
    ['frozenset', new Set(['q'])],
    ['intkeys', new Map<unknown, unknown>([[1, 'one'], [2, 'two']])],
    ['shared', [[1, 2], [1, 2]]],
  ]);
}

/** deepEqual that ignores frozenness (tuples are frozen arrays) */
function thaw(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(thaw);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, thaw(x)]));
  return v;
}

for (let proto = 0; proto <= 5; proto++) {
  test(`CPython protocol ${proto} pickle of plain data round-trips`, (t) => {
    const obj = unpickle(readFileSync(`${dir}plain_proto${proto}.pkl`), { what: `proto${proto}` }) as Map<string, unknown>;
    t.deepEqual(thaw(obj), expectedPlain());
    const shared = obj.get('shared') as unknown[];
    t.is(shared[0], shared[1], 'memoised objects stay shared (GET/BINGET)');
    t.true(Object.isFrozen(obj.get('tuple')), 'tuples are frozen arrays');
    t.false(Object.isFrozen(obj.get('bools')), 'lists are plain arrays');
  });
}

test('a disallowed global is refused by name before anything is called', (t) => {
  const marker = '/tmp/ssmv-io-pickle-test-marker';
  const cmd = new TextEncoder().encode(`touch ${marker}`);
  // PROTO 2, GLOBAL 'os system', BINUNICODE cmd, TUPLE1, REDUCE, STOP
  const pkl = Uint8Array.from([0x80, 2, ...new TextEncoder().encode('cos\nsystem\n'), 0x58, cmd.length, 0, 0, 0, ...cmd, 0x85, 0x52, 0x2e]);
  t.throws(() => unpickle(pkl, { what: 'evil.pkl' }), { message: /^evil\.pkl: disallowed global 'os\.system'.*nothing is executed.*\(pickle opcode GLOBAL at byte 2\)$/ });
  t.false(existsSync(marker));
  // the same names through STACK_GLOBAL (protocol 4) and INST (protocol 0)
  const sg = Uint8Array.from([0x80, 4, 0x8c, 5, ...new TextEncoder().encode('posix'), 0x8c, 6, ...new TextEncoder().encode('system'), 0x93, 0x2e]);
  t.throws(() => unpickle(sg), { message: /disallowed global 'posix\.system'.*STACK_GLOBAL/ });
  const inst = new TextEncoder().encode('(isubprocess\nPopen\n.');
  t.throws(() => unpickle(inst), { message: /disallowed global 'subprocess\.Popen'.*INST/ });
  // an allowed value-only global still cannot be called
  const call = new TextEncoder().encode('cbuiltins\nobject\n)R.');
  t.throws(() => unpickle(call), { message: /'builtins\.object' cannot be called here/ });
  // a class that is not on the allow-list: the message points at allowClasses
  const cls = Uint8Array.from([0x80, 2, ...new TextEncoder().encode('cultralytics.nn.tasks\nDetectionModel\n)'), 0x81, 0x2e]);
  t.throws(() => unpickle(cls), { message: /disallowed global 'ultralytics\.nn\.tasks\.DetectionModel'.*allowClasses/ });
});

test('allowClasses turns classes into inert records that receive their state via BUILD', (t) => {
  // PROTO 2, GLOBAL m.Rec, EMPTY_TUPLE, NEWOBJ, EMPTY_DICT, 'a' -> 1, 'b' -> [2], BUILD, STOP
  const enc = (s: string) => [...new TextEncoder().encode(s)];
  const pkl = Uint8Array.from([0x80, 2, ...enc('cm.sub\nRec\n'), 0x29, 0x81, 0x7d, 0x28, 0x58, 1, 0, 0, 0, ...enc('a'), 0x4b, 1,
    0x58, 1, 0, 0, 0, ...enc('b'), 0x5d, 0x4b, 2, 0x61, 0x75, 0x62, 0x2e]);
  t.throws(() => unpickle(pkl), { message: /disallowed global 'm\.sub\.Rec'/ });
  for (const allow of [['Rec'], '*'] as const) {
    const obj = unpickle(pkl, { allowClasses: { 'm.sub': allow } });
    t.true(obj instanceof PyObject);
    const o = obj as PyObject;
    t.is(o.pyClass, 'm.sub.Rec');
    t.is(o.get('a'), 1);
    t.deepEqual(o.get('b'), [2]);
    t.deepEqual(JSON.parse(JSON.stringify(o)), { __class__: 'm.sub.Rec', a: 1, b: [2] });
  }
  t.throws(() => unpickle(pkl, { allowClasses: { 'm.sub': ['Other'] } }), { message: /disallowed global 'm\.sub\.Rec'/ });
  // REDUCE on an allowed class (SimpleNamespace-style __reduce__: (cls, (), state)) also gives a record
  const reduced = Uint8Array.from([0x80, 2, ...enc('cm.sub\nNs\n'), 0x29, 0x52, 0x7d, 0x58, 1, 0, 0, 0, ...enc('x'), 0x4b, 9, 0x73, 0x62, 0x2e]);
  const ns = unpickle(reduced, { allowClasses: { 'm.*': '*' } }) as PyObject;
  t.is(ns.pyClass, 'm.sub.Ns');
  t.is(ns.get('x'), 9);
});

test('an OrderedDict keeps its order and its BUILD attributes (state_dict _metadata)', (t) => {
  // OrderedDict(), SETITEMS b=1, a=2, BUILD {'_metadata': {'': 3}}
  const enc = (s: string) => [...new TextEncoder().encode(s)];
  const pkl = Uint8Array.from([0x80, 2, ...enc('ccollections\nOrderedDict\n'), 0x29, 0x52, 0x28, 0x58, 1, 0, 0, 0, ...enc('b'), 0x4b, 1,
    0x58, 1, 0, 0, 0, ...enc('a'), 0x4b, 2, 0x75, 0x7d, 0x58, 9, 0, 0, 0, ...enc('_metadata'), 0x7d, 0x58, 0, 0, 0, 0, 0x4b, 3, 0x73, 0x73, 0x62, 0x2e]);
  const d = unpickle(pkl) as Map<string, number>;
  t.deepEqual([...d.keys()], ['b', 'a']);
  t.deepEqual(dictAttributes(d)?.get('_metadata'), new Map([['', 3]]));
});

test('malformed pickles give errors with the opcode and byte, not raw stacks', (t) => {
  const full = readFileSync(`${dir}plain_proto2.pkl`);
  t.throws(() => unpickle(full.subarray(0, 100), { what: 'cut.pkl' }), { message: /^cut\.pkl: truncated pickle: .*\(pickle opcode \w+ at byte \d+\)$/ });
  t.throws(() => unpickle(Uint8Array.from([0x80, 2, 0xff]), { what: 'x' }), { message: /^x: unknown opcode 0xff: not a pickle/ });
  t.throws(() => unpickle(Uint8Array.from([0x80, 9, 0x2e])), { message: /unsupported pickle protocol 9/ });
  t.throws(() => unpickle(Uint8Array.from([0x80, 2, 0x85, 0x2e])), { message: /stack underflow.*TUPLE1/ });
  t.throws(() => unpickle(Uint8Array.from([0x80, 2, 0x68, 7, 0x2e])), { message: /memo key 7 was never stored.*BINGET/ });
  t.throws(() => unpickle(Uint8Array.from([0x80, 2, 0x82, 1, 0x2e])), { message: /unsupported opcode EXT1/ });
  t.throws(() => unpickle(Uint8Array.from([0x80, 5, 0x97, 0x2e])), { message: /NEXT_BUFFER.*not supported/ });
  t.throws(() => unpickle(Uint8Array.from([0x80, 2, 0x29, 0x4b, 1, 0x61, 0x2e])), { message: /APPEND on a tuple/ });
  t.throws(() => unpickle(Uint8Array.from([0x80, 2, 0x4b, 1, 0x51, 0x2e])), { message: /persistent id found but no persistent_load/ });
});
