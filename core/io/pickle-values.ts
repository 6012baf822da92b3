// Values the pickle VM puts on its stack besides plain JS values: resolved globals and inert records
// of allowed classes. Shared by pickle.ts and the allow-lists (kept apart to avoid an import cycle).

/** What an allowed global does. A global that is only used as a value (a class or dtype passed as an
 *  argument) needs none of the hooks. */
export interface GlobalImpl {
  /** REDUCE: `f(*args)` */
  call?: (args: readonly unknown[]) => unknown;
  /** NEWOBJ / NEWOBJ_EX / INST / OBJ: `cls.__new__(cls, *args)` */
  construct?: (args: readonly unknown[], kwargs?: Map<unknown, unknown>) => unknown;
}

/** A resolved global, as it sits on the pickle stack. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string, readonly impl: GlobalImpl) {}
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
}

/** Objects that accept BUILD (`__setstate__`). */
export const SETSTATE = Symbol('pickle.setstate');
export interface Buildable {
  [SETSTATE](state: unknown): void;
}

/** An instance of an allowed class: an inert record of what the pickle gave it. Module trees of
 *  full-model pickles become PyObjects whose `attrs` hold `_parameters`, `_buffers`, `_modules`. */
export class PyObject implements Buildable {
  /** instance attributes (`__dict__`, and slot state) */
  readonly attrs = new Map<string, unknown>();
  /** items of dict subclasses (SETITEM(S)) */
  items?: Map<unknown, unknown>;
  /** items of list subclasses (APPEND(S)) */
  list?: unknown[];
  /** state that was not a dict (kept as given) */
  state?: unknown;
  constructor(readonly pyClass: string, readonly args: readonly unknown[] = [], readonly kwargs?: Map<unknown, unknown>) {}

  [SETSTATE](state: unknown): void {
    // state: dict, or (dict | None, slot dict) as object.__reduce_ex__ produces for __slots__
    const parts = Array.isArray(state) && state.length === 2 && Object.isFrozen(state) && (state[0] === null || state[0] instanceof Map) && state[1] instanceof Map
      ? state : [state];
    for (const part of parts) {
      if (part === null) continue;
      if (part instanceof Map) {
        for (const [k, v] of part) this.attrs.set(String(k), v);
      } else {
        this.state = part;
      }
    }
  }

  get(attr: string): unknown {
    return this.attrs.get(attr);
  }

  toJSON(): Record<string, unknown> {
    return { __class__: this.pyClass, ...Object.fromEntries(this.attrs) };
  }
}
