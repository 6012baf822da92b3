// Pickle virtual machine (own code), protocols 0-5, that never executes anything: a GLOBAL resolves
// only through an allow-list of inert JS implementations (pickle-globals.ts, plus what the caller adds:
// torch's tensor rebuilders in pth.ts, module classes as PyObject records via `allowClasses`). Any other
// global is an error naming it ("disallowed global 'os.system'"), raised before anything is called.
// Python values map to: None -> null, bool -> boolean, int -> number (bigint beyond 2^53), float ->
// number, str -> string, bytes/bytearray -> Uint8Array, tuple -> frozen array, list -> array,
// dict -> Map, set/frozenset -> Set, instances of allowed classes -> PyObject.
import { DEFAULT_GLOBALS } from './pickle-globals.ts';
import { PyGlobal, PyObject, SETSTATE, type Buildable, type GlobalImpl } from './pickle-values.ts';

export { PyGlobal, PyObject, SETSTATE, type Buildable, type GlobalImpl };

/** Attributes set by BUILD on a dict (e.g. a state_dict's `_metadata`). */
const dictAttrs = new WeakMap<Map<unknown, unknown>, Map<string, unknown>>();
export function dictAttributes(d: Map<unknown, unknown>): Map<string, unknown> | undefined {
  return dictAttrs.get(d);
}

export interface UnpickleOptions {
  /** name used in error messages (file and record) */
  what?: string;
  /** extra or overriding globals keyed 'module.name' (e.g. torch's rebuild functions) */
  globals?: Readonly<Record<string, GlobalImpl>>;
  /** classes that become inert PyObject records: `{ 'ultralytics.nn.tasks': ['DetectionModel'] }`;
   *  `'*'` allows every class of that module; a key `'torch.nn.modules.*'` covers that package and its
   *  submodules. Nothing of theirs runs: they receive their state via BUILD. */
  allowClasses?: Readonly<Record<string, readonly string[] | '*'>>;
  /** persistent_load: receives the persistent id (BINPERSID: the unpickled object; PERSID: a string) */
  persistentLoad?: (pid: unknown) => unknown;
}

// Python 2 module names that pickle's fix_imports maps, and torch's own remap (torch.load does it too).
const MODULE_ALIASES: Record<string, string> = {
  __builtin__: 'builtins',
  copy_reg: 'copyreg',
  'torch.tensor': 'torch._tensor',
};

const OPNAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4a: 'BININT',
  0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE',
  0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND',
  0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET',
  0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT',
  0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3',
  0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES',
  0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

class Fail extends Error {}

function allowedNames(allow: UnpickleOptions['allowClasses'], mod: string): readonly string[] | '*' | undefined {
  if (!allow) return undefined;
  if (Object.hasOwn(allow, mod)) return allow[mod];
  for (const [key, names] of Object.entries(allow)) {
    if (key.endsWith('.*') && (mod === key.slice(0, -2) || mod.startsWith(key.slice(0, -1)))) return names;
  }
  return undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

function tuple(items: unknown[]): readonly unknown[] {
  return Object.freeze(items);
}

/** Python int from little-endian two's-complement bytes: number when exact, else bigint. */
function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function parseIntText(s: string): number | bigint {
  const t = s.trim().replace(/L$/, '');
  if (!/^[-+]?\d+$/.test(t)) throw new Fail(`bad integer literal ${JSON.stringify(s)}`);
  const v = BigInt(t);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Protocol-0 STRING argument: a Python repr of a byte string, quotes included. */
function unquotePy2String(s: string): Uint8Array {
  const q = s[0];
  if (s.length < 2 || (q !== "'" && q !== '"') || s[s.length - 1] !== q) throw new Fail('STRING argument is not quoted');
  const body = s.slice(1, -1);
  const out: number[] = [];
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, '\\': 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11, '0': 0 };
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') { out.push(body.charCodeAt(i) & 0xff); continue; }
    const n = body[++i];
    if (n === 'x') { out.push(parseInt(body.slice(i + 1, i + 3), 16)); i += 2; }
    else if (/[0-7]/.test(n) && /[0-7]/.test(body[i + 1] ?? '')) {
      let j = i; let digits = '';
      while (j < body.length && digits.length < 3 && /[0-7]/.test(body[j])) digits += body[j++];
      out.push(parseInt(digits, 8) & 0xff); i = j - 1;
    } else if (n in simple) out.push(simple[n]);
    else { out.push(92, body.charCodeAt(i) & 0xff); }
  }
  return Uint8Array.from(out);
}

/** Protocol-0 UNICODE argument: raw-unicode-escape (\uXXXX, \UXXXXXXXX; other bytes latin-1). */
function rawUnicodeEscape(b: Uint8Array): string {
  const s = latin1.decode(b);
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u4, u8) => String.fromCodePoint(parseInt(u4 ?? u8, 16)));
}

function decodeStr(b: Uint8Array): string {
  try {
    return utf8.decode(b);
  } catch {
    return latin1.decode(b); // Python 2 byte strings that are not UTF-8
  }
}

/** A short description of a value for error messages. */
export function pyTypeName(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof PyGlobal) return `global ${v.qualname}`;
  if (v instanceof PyObject) return `${v.pyClass} instance`;
  if (v instanceof Map) return 'dict';
  if (v instanceof Set) return 'set';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return Object.isFrozen(v) ? 'tuple' : 'list';
  return typeof v;
}

/**
 * Runs a pickle and returns the object it builds. Throws an Error whose message starts with
 * `opts.what` and names the problem (disallowed global, unsupported opcode, truncation) and the byte.
 */
export function unpickle(input: Uint8Array, opts: UnpickleOptions = {}): unknown {
  const what = opts.what ?? 'pickle';
  // a plain Uint8Array view, so bytes values are Uint8Arrays (not Buffers) whatever the caller passed
  const data = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const resolved = new Map<string, PyGlobal>();
  let pos = 0;
  let opPos = 0;
  let op = 0;

  const need = (n: number): void => {
    if (pos + n > data.byteLength) throw new Fail(`truncated pickle: needs ${n} more bytes, the data ends at byte ${data.byteLength}`);
  };
  const bytes = (n: number): Uint8Array => { need(n); const b = data.subarray(pos, pos + n); pos += n; return b; };
  const u8 = (): number => { need(1); return data[pos++]; };
  const u16 = (): number => { need(2); const v = dv.getUint16(pos, true); pos += 2; return v; };
  const u32 = (): number => { need(4); const v = dv.getUint32(pos, true); pos += 4; return v; };
  const i32 = (): number => { need(4); const v = dv.getInt32(pos, true); pos += 4; return v; };
  const u64 = (): number => {
    need(8);
    const v = dv.getBigUint64(pos, true); pos += 8;
    if (v > BigInt(data.byteLength)) throw new Fail(`length ${v} exceeds the pickle size (corrupt pickle)`);
    return Number(v);
  };
  const lineBytes = (): Uint8Array => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) throw new Fail('truncated pickle: a text argument has no terminating newline');
    const b = data.subarray(pos, end);
    pos = end + 1;
    return b;
  };
  const line = (): string => latin1.decode(lineBytes());
  const pop = (): unknown => {
    if (stack.length <= (marks.length ? marks[marks.length - 1] : 0)) throw new Fail('stack underflow (malformed pickle)');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) throw new Fail('stack underflow (malformed pickle)');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) throw new Fail('MARK expected on the stack (malformed pickle)');
    return stack.splice(m);
  };
  const getMemo = (i: number): unknown => {
    if (!memo.has(i)) throw new Fail(`memo key ${i} was never stored (malformed pickle)`);
    return memo.get(i);
  };

  const findGlobal = (module: string, name: string): PyGlobal => {
    const mod = MODULE_ALIASES[module] ?? module;
    const key = `${mod}.${name}`;
    const hit = resolved.get(key);
    if (hit) return hit;
    let impl = opts.globals?.[key] ?? DEFAULT_GLOBALS[key];
    if (!impl) {
      const allowed = allowedNames(opts.allowClasses, mod);
      if (allowed === '*' || allowed?.includes(name)) {
        // NEWOBJ / INST / OBJ, and REDUCE for classes whose __reduce__ returns (cls, args, state)
        // (SimpleNamespace and its subclasses): either way an inert record of the arguments
        impl = { construct: (args, kwargs) => new PyObject(key, args, kwargs), call: (args) => new PyObject(key, args) };
      }
    }
    if (!impl) {
      throw new Fail(`disallowed global '${key}': only an allow-list of tensor, container and record types is unpickled and nothing is executed` +
        (/^[A-Z]/.test(name) && !allowedNames(opts.allowClasses, mod) ? ' (a class: full-model pickles can be read as inert records with the allowClasses option)' : ''));
    }
    const g = new PyGlobal(mod, name, impl);
    resolved.set(key, g);
    return g;
  };

  const construct = (cls: unknown, args: readonly unknown[], kwargs?: Map<unknown, unknown>): unknown => {
    if (!(cls instanceof PyGlobal)) throw new Fail(`cannot instantiate a ${pyTypeName(cls)}: a class global is expected`);
    if (!cls.impl.construct) throw new Fail(`'${cls.qualname}' cannot be instantiated here (it is allowed only as a value or a function)`);
    return cls.impl.construct(args, kwargs);
  };

  const build = (obj: unknown, state: unknown): void => {
    if (obj instanceof Map) {
      // dict subclass instance attributes (state_dict()._metadata): (dict, None) or dict
      const parts = Array.isArray(state) ? state : [state];
      let attrs = dictAttrs.get(obj);
      for (const part of parts) {
        if (part === null) continue;
        if (!(part instanceof Map)) throw new Fail(`BUILD on a dict with a ${pyTypeName(part)} state`);
        if (!attrs) dictAttrs.set(obj, (attrs = new Map()));
        for (const [k, v] of part) attrs.set(String(k), v);
      }
      return;
    }
    if (obj !== null && typeof obj === 'object' && SETSTATE in obj) {
      (obj as Buildable)[SETSTATE](state);
      return;
    }
    throw new Fail(`BUILD (setstate) on a ${pyTypeName(obj)} is not supported`);
  };

  const setItems = (target: unknown, kv: unknown[]): void => {
    if (kv.length % 2) throw new Fail('SETITEMS with an odd number of items (malformed pickle)');
    const map = target instanceof Map ? target
      : target instanceof PyObject ? (target.items ??= new Map())
      : null;
    if (!map) throw new Fail(`SETITEM on a ${pyTypeName(target)}`);
    for (let i = 0; i < kv.length; i += 2) map.set(kv[i], kv[i + 1]);
  };

  const append = (target: unknown, items: unknown[]): void => {
    const list = Array.isArray(target) && !Object.isFrozen(target) ? target
      : target instanceof PyObject ? (target.list ??= [])
      : null;
    if (!list) throw new Fail(`APPEND on a ${pyTypeName(target)}`);
    for (const it of items) list.push(it);
  };

  try {
    for (;;) {
      opPos = pos;
      op = u8();
      switch (op) {
        case 0x80: { // PROTO
          const v = u8();
          if (v > 5) throw new Fail(`unsupported pickle protocol ${v} (0..5 are known)`);
          break;
        }
        case 0x95: u64(); break; // FRAME: frames are inline, nothing to do
        case 0x2e: { // STOP
          if (stack.length === 0) throw new Fail('STOP with an empty stack (malformed pickle)');
          return stack.pop();
        }
        case 0x28: marks.push(stack.length); break; // MARK
        case 0x30: { // POP (an empty frame pops the mark, as CPython does)
          if (stack.length > (marks.length ? marks[marks.length - 1] : 0)) stack.pop();
          else popMark();
          break;
        }
        case 0x31: popMark(); break; // POP_MARK
        case 0x32: stack.push(top()); break; // DUP
        // --- constants
        case 0x4e: stack.push(null); break;
        case 0x88: stack.push(true); break;
        case 0x89: stack.push(false); break;
        case 0x49: { // INT (protocol 0; 01/00 are True/False)
          const s = line();
          stack.push(s === '01' ? true : s === '00' ? false : parseIntText(s));
          break;
        }
        case 0x4a: stack.push(i32()); break;
        case 0x4b: stack.push(u8()); break;
        case 0x4d: stack.push(u16()); break;
        case 0x4c: stack.push(parseIntText(line())); break; // LONG
        case 0x8a: stack.push(decodeLong(bytes(u8()))); break; // LONG1
        case 0x8b: { // LONG4
          const n = i32();
          if (n < 0) throw new Fail('LONG4 with a negative length');
          stack.push(decodeLong(bytes(n)));
          break;
        }
        case 0x46: { // FLOAT
          const s = line().trim();
          const v = s === 'inf' ? Infinity : s === '-inf' ? -Infinity : s === 'nan' ? NaN : Number(s);
          if (Number.isNaN(v) && s !== 'nan') throw new Fail(`bad float literal ${JSON.stringify(s)}`);
          stack.push(v);
          break;
        }
        case 0x47: { need(8); stack.push(dv.getFloat64(pos, false)); pos += 8; break; } // BINFLOAT (big-endian)
        // --- strings and bytes
        case 0x53: stack.push(decodeStr(unquotePy2String(line()))); break; // STRING
        case 0x54: { const n = i32(); if (n < 0) throw new Fail('BINSTRING with a negative length'); stack.push(decodeStr(bytes(n))); break; }
        case 0x55: stack.push(decodeStr(bytes(u8()))); break; // SHORT_BINSTRING
        case 0x56: stack.push(rawUnicodeEscape(lineBytes())); break; // UNICODE
        case 0x58: stack.push(decodeStr(bytes(u32()))); break; // BINUNICODE
        case 0x8c: stack.push(decodeStr(bytes(u8()))); break; // SHORT_BINUNICODE
        case 0x8d: stack.push(decodeStr(bytes(u64()))); break; // BINUNICODE8
        case 0x42: stack.push(bytes(u32())); break; // BINBYTES (a view into the pickle)
        case 0x43: stack.push(bytes(u8())); break; // SHORT_BINBYTES
        case 0x8e: stack.push(bytes(u64())); break; // BINBYTES8
        case 0x96: stack.push(bytes(u64()).slice()); break; // BYTEARRAY8 (mutable: a copy)
        case 0x97: throw new Fail('NEXT_BUFFER: out-of-band buffers (protocol 5) are not supported');
        case 0x98: break; // READONLY_BUFFER: no-op on our views
        // --- containers
        case 0x29: stack.push(tuple([])); break;
        case 0x74: stack.push(tuple(popMark())); break;
        case 0x85: { const a = pop(); stack.push(tuple([a])); break; }
        case 0x86: { const b = pop(); const a = pop(); stack.push(tuple([a, b])); break; }
        case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push(tuple([a, b, c])); break; }
        case 0x5d: stack.push([]); break;
        case 0x6c: stack.push(popMark()); break; // LIST
        case 0x7d: stack.push(new Map()); break;
        case 0x64: { const m = new Map(); setItems(m, popMark()); stack.push(m); break; } // DICT
        case 0x8f: stack.push(new Set()); break;
        case 0x91: stack.push(new Set(popMark())); break; // FROZENSET
        case 0x90: { // ADDITEMS
          const items = popMark();
          const s = top();
          if (!(s instanceof Set)) throw new Fail(`ADDITEMS on a ${pyTypeName(s)}`);
          for (const it of items) s.add(it);
          break;
        }
        case 0x61: { const v = pop(); append(top(), [v]); break; } // APPEND
        case 0x65: { const items = popMark(); append(top(), items); break; } // APPENDS
        case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
        case 0x75: { const kv = popMark(); setItems(top(), kv); break; } // SETITEMS
        // --- memo
        case 0x67: stack.push(getMemo(Number(parseIntText(line())))); break; // GET
        case 0x68: stack.push(getMemo(u8())); break;
        case 0x6a: stack.push(getMemo(u32())); break;
        case 0x70: memo.set(Number(parseIntText(line())), top()); break; // PUT
        case 0x71: memo.set(u8(), top()); break;
        case 0x72: memo.set(u32(), top()); break;
        case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
        // --- globals and objects
        case 0x63: { const module = line(); const name = line(); stack.push(findGlobal(module, name)); break; } // GLOBAL
        case 0x93: { // STACK_GLOBAL
          const name = pop(); const module = pop();
          if (typeof module !== 'string' || typeof name !== 'string') throw new Fail('STACK_GLOBAL needs two strings');
          stack.push(findGlobal(module, name));
          break;
        }
        case 0x52: { // REDUCE
          const args = pop(); const f = pop();
          if (!Array.isArray(args)) throw new Fail(`REDUCE arguments are a ${pyTypeName(args)}, not a tuple`);
          if (!(f instanceof PyGlobal)) throw new Fail(`REDUCE on a ${pyTypeName(f)}: only allowed globals can be called`);
          if (!f.impl.call) throw new Fail(`'${f.qualname}' cannot be called here (it is allowed only as a value or a class)`);
          stack.push(f.impl.call(args));
          break;
        }
        case 0x81: { // NEWOBJ
          const args = pop(); const cls = pop();
          if (!Array.isArray(args)) throw new Fail('NEWOBJ arguments are not a tuple');
          stack.push(construct(cls, args));
          break;
        }
        case 0x92: { // NEWOBJ_EX
          const kwargs = pop(); const args = pop(); const cls = pop();
          if (!Array.isArray(args) || !(kwargs instanceof Map)) throw new Fail('NEWOBJ_EX needs (cls, tuple, dict)');
          stack.push(construct(cls, args, kwargs));
          break;
        }
        case 0x69: { // INST
          const module = line(); const name = line();
          const args = popMark();
          stack.push(construct(findGlobal(module, name), args));
          break;
        }
        case 0x6f: { // OBJ
          const items = popMark();
          if (items.length === 0) throw new Fail('OBJ without a class');
          stack.push(construct(items[0], items.slice(1)));
          break;
        }
        case 0x62: { const state = pop(); build(top(), state); break; } // BUILD
        case 0x50: { // PERSID
          const pid = line();
          if (!opts.persistentLoad) throw new Fail('persistent id found but no persistent_load was given');
          stack.push(opts.persistentLoad(pid));
          break;
        }
        case 0x51: { // BINPERSID
          const pid = pop();
          if (!opts.persistentLoad) throw new Fail('persistent id found but no persistent_load was given');
          stack.push(opts.persistentLoad(pid));
          break;
        }
        case 0x82: case 0x83: case 0x84:
          throw new Fail(`unsupported opcode ${OPNAMES[op]}: the copyreg extension registry is not available`);
        default:
          throw new Fail(`unknown opcode 0x${op.toString(16).padStart(2, '0')}${op >= 0x20 && op < 0x7f ? ` ('${String.fromCharCode(op)}')` : ''}: not a pickle, or a corrupt one`);
      }
    }
  } catch (e) {
    const name = OPNAMES[op] ?? `0x${op.toString(16)}`;
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`${what}: ${msg} (pickle opcode ${name} at byte ${opPos})`, { cause: e });
  }
}
