// A small YAML reader for the dataset description files users already have (ultralytics' data YAMLs:
// `path/train/val/test/names/nc/download`). It covers block mappings and sequences (including
// `- key: value` items), flow collections `[a, b]` / `{0: a}` (also spread over several lines),
// quoted and plain scalars with PyYAML's safe_load typing (null, booleans incl. yes/no/on/off, ints,
// floats with a dot), comments, block scalars `|`/`>` and `---`. Anchors, aliases, tags and complex
// keys are not supported and fail with the line number.

export class YamlError extends Error {
  constructor(readonly file: string, readonly line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = 'YamlError';
  }
}

export type YamlValue = null | boolean | number | string | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  no: number; // 1-based
  indent: number;
  text: string; // without indentation and comment
  raw: string;
}

/** Strips a trailing comment (a `#` at line start or after whitespace, outside quotes). */
function stripComment(s: string): string {
  let q: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (q) {
      if (c === '\\' && q === '"') i++;
      else if (c === q) q = null;
    } else if (c === '"' || c === "'") {
      if (i === 0 || /[\s[{,:]/.test(s[i - 1])) q = c;
    } else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]))) return s.slice(0, i);
  }
  return s;
}

const INT_RE = /^[-+]?(0|[1-9][0-9_]*)$/;
const HEX_RE = /^0x[0-9a-fA-F_]+$/;
const OCT_RE = /^0o?[0-7_]+$/;
const FLOAT_RE = /^[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+]?[0-9]+)?$/;

function plainScalar(s: string): YamlValue {
  if (s === '' || s === '~' || /^(null|Null|NULL)$/.test(s)) return null;
  if (/^(true|True|TRUE|yes|Yes|YES|on|On|ON)$/.test(s)) return true;
  if (/^(false|False|FALSE|no|No|NO|off|Off|OFF)$/.test(s)) return false;
  if (INT_RE.test(s)) return Number(s.replace(/_/g, ''));
  if (HEX_RE.test(s)) return parseInt(s.slice(2).replace(/_/g, ''), 16);
  if (OCT_RE.test(s) && s.length > 1) return parseInt(s.replace(/^0o?/, '').replace(/_/g, ''), 8);
  if (FLOAT_RE.test(s) && /[0-9]/.test(s)) return Number(s.replace(/_/g, ''));
  if (/^[-+]?\.(inf|Inf|INF)$/.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^\.(nan|NaN|NAN)$/.test(s)) return NaN;
  return s;
}

class Parser {
  private lines: Line[] = [];
  private pos = 0;

  constructor(private readonly file: string, text: string) {
    const raw = text.replace(/\r\n?/g, '\n').split('\n');
    raw.forEach((r, i) => {
      if (/^\t/.test(r)) throw new YamlError(file, i + 1, 'tab indentation is not allowed in YAML');
      const body = stripComment(r);
      const t = body.trim();
      if (t === '' || t === '---' || t === '...') {
        this.lines.push({ no: i + 1, indent: -1, text: '', raw: r });
        return;
      }
      if (/^%/.test(t)) return; // directives
      this.lines.push({ no: i + 1, indent: body.length - body.trimStart().length, text: t, raw: r });
    });
  }

  private fail(line: Line | undefined, msg: string): never {
    throw new YamlError(this.file, line ? line.no : this.lines.length, msg);
  }

  private skipBlank(): void {
    while (this.pos < this.lines.length && this.lines[this.pos].indent < 0) this.pos++;
  }

  private peek(): Line | undefined {
    this.skipBlank();
    return this.lines[this.pos];
  }

  parseDocument(): YamlValue {
    const first = this.peek();
    if (!first) return null;
    const v = this.parseBlock(first.indent);
    const rest = this.peek();
    if (rest) this.fail(rest, `unexpected content '${rest.text}' (bad indentation?)`);
    return v;
  }

  private parseBlock(indent: number): YamlValue {
    const line = this.peek()!;
    if (line.text === '-' || line.text.startsWith('- ')) return this.parseSequence(indent);
    if (this.splitKey(line.text, line) !== null) return this.parseMapping(indent);
    // a lone scalar or flow collection as the whole block
    this.pos++;
    return this.parseInline(line.text, line);
  }

  /** Splits `key: rest` at the first `:` followed by space/end outside quotes and brackets. */
  private splitKey(s: string, line: Line): [string, string] | null {
    let q: string | null = null;
    let depth = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (q) {
        if (c === '\\' && q === '"') i++;
        else if (c === q) q = null;
        continue;
      }
      if ((c === '"' || c === "'") && i === 0) q = c;
      else if (c === '[' || c === '{') {
        if (i === 0) return null; // flow collection, not a key
        depth++;
      } else if (c === ']' || c === '}') depth--;
      else if (c === ':' && depth === 0 && (i + 1 === s.length || s[i + 1] === ' ')) {
        let key = s.slice(0, i).trim();
        if (key.startsWith('? ')) this.fail(line, 'complex keys (?) are not supported');
        if ((key.startsWith('"') && key.endsWith('"')) || (key.startsWith("'") && key.endsWith("'"))) {
          key = String(this.quoted(key, line));
        }
        return [key, s.slice(i + 1).trim()];
      }
    }
    return null;
  }

  private parseMapping(indent: number): { [key: string]: YamlValue } {
    const out: { [key: string]: YamlValue } = {};
    for (;;) {
      const line = this.peek();
      if (!line || line.indent < indent) break;
      if (line.indent > indent) this.fail(line, `unexpected indentation (expected ${indent} spaces)`);
      if (line.text.startsWith('- ') || line.text === '-') break;
      const kv = this.splitKey(line.text, line);
      if (!kv) this.fail(line, `expected 'key: value', got '${line.text}'`);
      const [key, rest] = kv;
      if (Object.prototype.hasOwnProperty.call(out, key)) this.fail(line, `duplicate key '${key}'`);
      this.pos++;
      out[key] = this.parseValue(rest, line, indent, true);
    }
    return out;
  }

  private parseSequence(indent: number): YamlValue[] {
    const out: YamlValue[] = [];
    for (;;) {
      const line = this.peek();
      if (!line || line.indent < indent) break;
      if (line.indent > indent) this.fail(line, `unexpected indentation (expected ${indent} spaces)`);
      if (!(line.text === '-' || line.text.startsWith('- '))) break;
      const rest = line.text.slice(1).trim();
      const itemIndent = indent + (line.text.length - line.text.slice(1).trimStart().length);
      if (rest === '-' || rest.startsWith('- ')) {
        // `- - x`: a sequence nested in this item
        this.lines[this.pos] = { ...line, indent: itemIndent, text: rest };
        out.push(this.parseSequence(itemIndent));
        continue;
      }
      if (rest !== '' && this.splitKey(rest, line) !== null && !rest.startsWith('[') && !rest.startsWith('{')) {
        // `- key: value` starts a mapping whose keys sit at the item's column
        this.lines[this.pos] = { ...line, indent: itemIndent, text: rest };
        out.push(this.parseMapping(itemIndent));
        continue;
      }
      this.pos++;
      out.push(this.parseValue(rest, line, indent, false));
    }
    return out;
  }

  /** The value after `key:` or `-`: inline, a block scalar, or a nested block on the next lines. */
  private parseValue(rest: string, line: Line, indent: number, inMapping: boolean): YamlValue {
    if (rest.startsWith('&') || rest.startsWith('*') || rest.startsWith('!')) this.fail(line, 'anchors, aliases and tags are not supported');
    if (/^[|>][-+0-9]*$/.test(rest)) return this.blockScalar(rest, indent);
    if (rest !== '') return this.parseInline(rest, line);
    const next = this.peek();
    if (!next) return null;
    if (next.indent > indent) return this.parseBlock(next.indent);
    // YAML allows a mapping's sequence value at the key's own indentation
    if (inMapping && next.indent === indent && (next.text === '-' || next.text.startsWith('- '))) return this.parseSequence(indent);
    return null;
  }

  private blockScalar(header: string, indent: number): string {
    const folded = header[0] === '>';
    const chomp = header.includes('-') ? 'strip' : header.includes('+') ? 'keep' : 'clip';
    const body: string[] = [];
    let blockIndent = -1;
    while (this.pos < this.lines.length) {
      const l = this.lines[this.pos];
      const ind = l.raw.length - l.raw.trimStart().length;
      if (l.raw.trim() === '') {
        body.push('');
        this.pos++;
        continue;
      }
      if (blockIndent < 0) blockIndent = ind;
      if (ind < blockIndent || ind <= indent) break;
      body.push(l.raw.slice(blockIndent));
      this.pos++;
    }
    let trailing = 0;
    while (body.length && body[body.length - 1] === '') {
      body.pop();
      trailing++;
    }
    let text = folded ? body.join('\n').replace(/([^\n])\n(?=[^\n ])/g, '$1 ') : body.join('\n');
    if (chomp === 'clip' && body.length) text += '\n';
    if (chomp === 'keep') text += '\n'.repeat(trailing + 1);
    return text;
  }

  private parseInline(s: string, line: Line): YamlValue {
    if (s.startsWith('[') || s.startsWith('{')) {
      // a flow collection may continue on the following lines
      let text = s;
      while (!this.flowClosed(text)) {
        if (this.pos >= this.lines.length) this.fail(line, `unclosed '${s[0]}'`);
        const l = this.lines[this.pos++];
        if (l.indent >= 0) text += ' ' + l.text;
      }
      const [v, end] = this.flow(text, 0, line);
      if (text.slice(end).trim() !== '') this.fail(line, `unexpected '${text.slice(end).trim()}' after a flow collection`);
      return v;
    }
    if (s.startsWith('"') || s.startsWith("'")) return this.quoted(s, line);
    if (s.startsWith('&') || s.startsWith('*') || s.startsWith('!')) this.fail(line, 'anchors, aliases and tags are not supported');
    return plainScalar(s);
  }

  private flowClosed(s: string): boolean {
    let depth = 0;
    let q: string | null = null;
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (q) {
        if (c === '\\' && q === '"') i++;
        else if (c === q) q = null;
      } else if (c === '"' || c === "'") q = c;
      else if (c === '[' || c === '{') depth++;
      else if (c === ']' || c === '}') depth--;
    }
    return depth <= 0;
  }

  private quoted(s: string, line: Line): string {
    const q = s[0];
    let out = '';
    for (let i = 1; i < s.length; i++) {
      const c = s[i];
      if (q === "'" && c === "'") {
        if (s[i + 1] === "'") {
          out += "'";
          i++;
          continue;
        }
        if (s.slice(i + 1).trim() !== '') this.fail(line, `unexpected text after quoted string`);
        return out;
      }
      if (q === '"' && c === '"') {
        if (s.slice(i + 1).trim() !== '') this.fail(line, `unexpected text after quoted string`);
        return out;
      }
      if (q === '"' && c === '\\') {
        const e = s[++i];
        const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', '"': '"', '\\': '\\', '/': '/', ' ': ' ' };
        if (e === 'u' || e === 'x') {
          const n = e === 'u' ? 4 : 2;
          out += String.fromCharCode(parseInt(s.slice(i + 1, i + 1 + n), 16));
          i += n;
        } else if (e in map) out += map[e];
        else this.fail(line, `unknown escape '\\${e}'`);
        continue;
      }
      out += c;
    }
    this.fail(line, `unterminated ${q === '"' ? 'double' : 'single'}-quoted string`);
  }

  /** Parses a flow value starting at s[i]; returns [value, index after it]. */
  private flow(s: string, i: number, line: Line): [YamlValue, number] {
    const ws = () => {
      while (i < s.length && s[i] === ' ') i++;
    };
    ws();
    const c = s[i];
    if (c === '[') {
      const arr: YamlValue[] = [];
      i++;
      for (;;) {
        ws();
        if (s[i] === ']') return [arr, i + 1];
        const [v, j] = this.flow(s, i, line);
        arr.push(v);
        i = j;
        ws();
        if (s[i] === ',') i++;
        else if (s[i] !== ']') this.fail(line, `expected ',' or ']' in a flow sequence`);
      }
    }
    if (c === '{') {
      const obj: { [k: string]: YamlValue } = {};
      i++;
      for (;;) {
        ws();
        if (s[i] === '}') return [obj, i + 1];
        const [k, j] = this.flowScalar(s, i, line, true);
        i = j;
        ws();
        let v: YamlValue = null;
        if (s[i] === ':') {
          i++;
          const [vv, jj] = this.flow(s, i, line);
          v = vv;
          i = jj;
        }
        obj[String(k)] = v;
        ws();
        if (s[i] === ',') i++;
        else if (s[i] !== '}') this.fail(line, `expected ',' or '}' in a flow mapping`);
      }
    }
    return this.flowScalar(s, i, line, false);
  }

  private flowScalar(s: string, i: number, line: Line, isKey: boolean): [YamlValue, number] {
    if (s[i] === '"' || s[i] === "'") {
      const q = s[i];
      let j = i + 1;
      for (; j < s.length; j++) {
        if (q === '"' && s[j] === '\\') j++;
        else if (s[j] === q) {
          if (q === "'" && s[j + 1] === "'") j++;
          else break;
        }
      }
      if (j >= s.length) this.fail(line, 'unterminated quoted string in a flow collection');
      return [this.quoted(s.slice(i, j + 1), line), j + 1];
    }
    let j = i;
    while (j < s.length && !/[,\]}]/.test(s[j]) && !(isKey && s[j] === ':' && (s[j + 1] === ' ' || s[j + 1] === undefined))) {
      if (!isKey && s[j] === ':' && s[j + 1] === ' ') break;
      j++;
    }
    return [plainScalar(s.slice(i, j).trim()), j];
  }
}

/** Parses YAML text; `file` names the source in errors. */
export function parseYaml(text: string, file = '<yaml>'): YamlValue {
  return new Parser(file, text).parseDocument();
}
