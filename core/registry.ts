// One typed registry primitive (timm's @register_model, mmengine's MODELS.register_module):
// a duplicate name throws; an unknown name throws and suggests close matches.

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** Up to `max` candidates close to `name` (edit distance, or sharing a prefix/substring). */
export function closeMatches(name: string, candidates: Iterable<string>, max = 3): string[] {
  const lower = name.toLowerCase();
  const scored: Array<[number, string]> = [];
  for (const c of candidates) {
    const cl = c.toLowerCase();
    const d = editDistance(lower, cl);
    const limit = Math.max(2, Math.floor(Math.max(lower.length, cl.length) / 3));
    if (d <= limit) scored.push([d, c]);
    else if (lower.length >= 3 && (cl.includes(lower) || lower.includes(cl))) scored.push([limit + 1, c]);
  }
  scored.sort((x, y) => x[0] - y[0] || x[1].localeCompare(y[1]));
  return scored.slice(0, max).map(([, c]) => c);
}

export class Registry<T> {
  private readonly entries = new Map<string, T>();

  constructor(readonly kind: string) {}

  register(name: string, entry: T): T {
    if (this.entries.has(name)) throw new Error(`${this.kind} '${name}' is already registered`);
    this.entries.set(name, entry);
    return entry;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  get(name: string): T {
    const entry = this.entries.get(name);
    if (entry === undefined) {
      const near = closeMatches(name, this.entries.keys());
      const hint = near.length ? ` (did you mean ${near.join(' or ')}?)` : '';
      throw new Error(`unknown ${this.kind} '${name}'${hint}; ${this.entries.size} registered: see \`ssmv info\``);
    }
    return entry;
  }

  names(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** fnmatch-style filter as timm.list_models: `*mamba*`, `vmamba_*`. */
  list(pattern = '*'): string[] {
    const re = new RegExp('^' + pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
    return this.names().filter((n) => re.test(n));
  }

  entriesList(): Array<[string, T]> {
    return this.names().map((n) => [n, this.entries.get(n)!]);
  }
}
