// A small, strict XML reader for annotation files (Pascal VOC): elements, attributes, text,
// comments, CDATA, processing instructions and the five entities plus numeric references.
// Mismatched or unclosed tags fail with the file and line. No DTDs, no namespaces handling.

export class XmlError extends Error {
  constructor(readonly file: string, readonly line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = 'XmlError';
  }
}

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** concatenated text content directly inside this element (trimmed) */
  text: string;
  line: number;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function parseXml(src: string, file = '<xml>'): XmlElement {
  let i = 0;
  const lineAt = (k: number) => {
    let n = 1;
    for (let j = 0; j < k && j < src.length; j++) if (src.charCodeAt(j) === 10) n++;
    return n;
  };
  const fail = (msg: string, at = i): never => {
    throw new XmlError(file, lineAt(at), msg);
  };
  const decode = (s: string, at: number) =>
    s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (m, e: string) => {
      if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
      if (e in ENTITIES) return ENTITIES[e];
      return fail(`unknown entity '${m}'`, at);
    });
  const skipMisc = () => {
    for (;;) {
      while (i < src.length && /\s/.test(src[i])) i++;
      if (src.startsWith('<?', i)) {
        const e = src.indexOf('?>', i);
        if (e < 0) fail('unterminated processing instruction');
        i = e + 2;
      } else if (src.startsWith('<!--', i)) {
        const e = src.indexOf('-->', i);
        if (e < 0) fail('unterminated comment');
        i = e + 3;
      } else if (src.startsWith('<!DOCTYPE', i)) {
        const e = src.indexOf('>', i);
        if (e < 0) fail('unterminated DOCTYPE');
        i = e + 1;
      } else return;
    }
  };
  const NAME = /[A-Za-z_:][\w.:-]*/y;
  const readName = () => {
    NAME.lastIndex = i;
    const m = NAME.exec(src);
    if (!m) fail(`expected a tag or attribute name, got '${src.slice(i, i + 10)}'`);
    i += m![0].length;
    return m![0];
  };

  const element = (): XmlElement => {
    const start = i;
    if (src[i] !== '<') fail(`expected '<', got '${src.slice(i, i + 10)}'`);
    i++;
    const name = readName();
    const el: XmlElement = { name, attrs: {}, children: [], text: '', line: lineAt(start) };
    for (;;) {
      while (/\s/.test(src[i] ?? '')) i++;
      if (i >= src.length) fail(`unclosed start tag <${name}>`, start);
      if (src.startsWith('/>', i)) {
        i += 2;
        return el;
      }
      if (src[i] === '>') {
        i++;
        break;
      }
      const an = readName();
      while (/\s/.test(src[i] ?? '')) i++;
      if (src[i] !== '=') fail(`attribute '${an}' of <${name}> has no value`);
      i++;
      while (/\s/.test(src[i] ?? '')) i++;
      const q = src[i];
      if (q !== '"' && q !== "'") fail(`attribute '${an}' of <${name}> is not quoted`);
      const e = src.indexOf(q, i + 1);
      if (e < 0) fail(`unterminated attribute '${an}'`);
      el.attrs[an] = decode(src.slice(i + 1, e), i);
      i = e + 1;
    }
    let text = '';
    for (;;) {
      if (i >= src.length) fail(`<${name}> is never closed`, start);
      if (src.startsWith('</', i)) {
        const at = i;
        i += 2;
        const close = readName();
        while (/\s/.test(src[i] ?? '')) i++;
        if (src[i] !== '>') fail(`malformed end tag </${close}`);
        i++;
        if (close !== name) fail(`end tag </${close}> does not match <${name}> (line ${el.line})`, at);
        el.text = text.trim();
        return el;
      }
      if (src.startsWith('<!--', i)) {
        const e = src.indexOf('-->', i);
        if (e < 0) fail('unterminated comment');
        i = e + 3;
      } else if (src.startsWith('<![CDATA[', i)) {
        const e = src.indexOf(']]>', i);
        if (e < 0) fail('unterminated CDATA section');
        text += src.slice(i + 9, e);
        i = e + 3;
      } else if (src.startsWith('<?', i)) {
        const e = src.indexOf('?>', i);
        if (e < 0) fail('unterminated processing instruction');
        i = e + 2;
      } else if (src[i] === '<') {
        el.children.push(element());
      } else {
        const e = src.indexOf('<', i);
        const end = e < 0 ? src.length : e;
        text += decode(src.slice(i, end), i);
        i = end;
      }
    }
  };

  skipMisc();
  if (i >= src.length) fail('empty document: no root element');
  const root = element();
  skipMisc();
  if (i < src.length) fail(`unexpected content after the root element <${root.name}>`);
  return root;
}

/** First child element named `name`, or undefined. */
export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}
