// CLI grammar shared by every mode: `ssmv <mode> [positional ...] key=value --key value --key=value --flag`
// (ultralytics' key=value and timm's --kebab-case both work; `-` and `_` are interchangeable in keys).
// Keys are typed by a schema; an unknown key fails with "did you mean", a value of the wrong type
// names the key, and `--help` lists every key with its type and default.
import { closeMatches } from '../core/registry.ts';

export type ArgType = 'string' | 'number' | 'int' | 'boolean' | 'list' | 'numbers';

export interface ArgSpec {
  type: ArgType;
  default?: unknown;
  help: string;
  /** allowed values for strings */
  choices?: readonly string[];
}

export type ArgSchema = Record<string, ArgSpec>;

export interface ParsedArgs {
  positionals: string[];
  values: Record<string, unknown>;
  /** keys the user set explicitly */
  given: Set<string>;
  help: boolean;
}

export class UsageError extends Error {}

const norm = (k: string) => k.replace(/-/g, '_');

export function coerce(key: string, raw: string | boolean, spec: ArgSpec): unknown {
  const bad = (what: string) => new UsageError(`${key}: expected ${what}, got '${raw}'`);
  if (typeof raw === 'boolean') {
    if (spec.type !== 'boolean') throw new UsageError(`${key}: needs a value (${spec.type})`);
    return raw;
  }
  switch (spec.type) {
    case 'string':
      if (spec.choices && !spec.choices.includes(raw)) {
        const near = closeMatches(raw, spec.choices);
        throw new UsageError(`${key}: '${raw}' is not one of ${spec.choices.join(', ')}` + (near.length ? ` (did you mean ${near.join(' or ')}?)` : ''));
      }
      return raw;
    case 'number': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) throw bad('a number');
      return v;
    }
    case 'int': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isInteger(v)) throw bad('an integer');
      return v;
    }
    case 'boolean': {
      const l = raw.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(l)) return true;
      if (['false', '0', 'no', 'off'].includes(l)) return false;
      throw bad('true or false');
    }
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter(Boolean);
    case 'numbers': {
      const parts = raw.split(/[,x]/).map((s) => s.trim()).filter(Boolean);
      const vals = parts.map(Number);
      if (!parts.length || vals.some((v) => !Number.isFinite(v))) throw bad('comma-separated numbers');
      return vals;
    }
  }
}

export function parseArgs(argv: readonly string[], schema: ArgSchema, mode = ''): ParsedArgs {
  const values: Record<string, unknown> = {};
  const given = new Set<string>();
  const positionals: string[] = [];
  let help = false;
  const set = (rawKey: string, raw: string | boolean) => {
    const key = norm(rawKey);
    const spec = schema[key];
    if (!spec) {
      const near = closeMatches(key, Object.keys(schema));
      throw new UsageError(`unknown key '${rawKey}' for ssmv ${mode}` + (near.length ? ` (did you mean ${near.join(' or ')}?)` : '') + `; see ssmv ${mode} --help`);
    }
    values[key] = coerce(key, raw, spec);
    given.add(key);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h' || a === 'help=true') {
      help = true;
    } else if (a.startsWith('--')) {
      const body = a.slice(2);
      const eq = body.indexOf('=');
      if (eq >= 0) set(body.slice(0, eq), body.slice(eq + 1));
      else {
        const spec = schema[norm(body)];
        const next = argv[i + 1];
        if (spec && spec.type === 'boolean') {
          if (next !== undefined && /^(true|false)$/i.test(next)) set(body, argv[++i]);
          else set(body, true);
        } else if (spec && next !== undefined) set(body, argv[++i]);
        else set(body, true);
      }
    } else if (/^[A-Za-z_][\w-]*=/.test(a)) {
      const eq = a.indexOf('=');
      set(a.slice(0, eq), a.slice(eq + 1));
    } else {
      positionals.push(a);
    }
  }
  for (const [k, spec] of Object.entries(schema)) if (!(k in values) && spec.default !== undefined) values[k] = spec.default;
  return { positionals, values, given, help };
}

export function formatHelp(mode: string, usage: string, schema: ArgSchema): string {
  const rows = Object.entries(schema).map(([k, s]) => {
    const type = s.choices ? s.choices.join('|') : s.type;
    const def = s.default === undefined ? '' : ` (default ${JSON.stringify(s.default)})`;
    return `  ${k.padEnd(22)} ${type.padEnd(14)} ${s.help}${def}`;
  });
  return `usage: ${usage}\n\nkeys (key=value or --key value):\n${rows.join('\n')}\n`;
}
