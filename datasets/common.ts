// Helpers shared by the loaders: error types, image listing, annotation-file reading.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, extname } from 'node:path';

/** A malformed annotation or dataset description: fatal, names the file and the field. */
export class DataError extends Error {
  constructor(readonly file: string, readonly field: string, message: string) {
    super(`${file}: ${field ? `${field}: ` : ''}${message}`);
    this.name = 'DataError';
  }
}

/** One sample that cannot be loaded (missing file, corrupt or truncated image): skipped and counted. */
export class SampleError extends Error {
  constructor(readonly file: string, readonly reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'SampleError';
  }
}

/** torchvision / timm image extensions (lower case, matched case-insensitively). */
export const IMG_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp', '.gif', '.avif'];

export function isImageFile(name: string): boolean {
  return IMG_EXTENSIONS.includes(extname(name).toLowerCase());
}

/** Python's default string sort (code point order), as torchvision's `sorted(os.scandir(...))`. */
export function pySorted(names: Iterable<string>): string[] {
  return [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Image files below `dir` (recursively), sorted by path; hidden entries are skipped. */
export async function listImages(dir: string, recursive = true): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (recursive) await walk(p);
      } else if (isImageFile(e.name)) out.push(p);
    }
  };
  await walk(dir);
  return pySorted(out);
}

/** Reads and parses a JSON file; a parse error names the file (and the position JSON.parse gives). */
export async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new DataError(file, '', `cannot read: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DataError(file, '', `malformed JSON: ${(e as Error).message}`);
  }
}

export async function requireDir(dir: string, what: string): Promise<void> {
  if (!(await isDir(dir))) throw new Error(`${what}: directory '${dir}' does not exist`);
}

export async function requireFile(file: string, what: string): Promise<void> {
  if (!(await isFile(file))) throw new Error(`${what}: file '${file}' does not exist`);
}
