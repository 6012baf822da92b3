// PNG in and out for Canvas (pngjs): encode, atomic write (temp file + rename), decode (tests).
import { writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PNG } from 'pngjs';
import { Canvas } from './canvas.ts';

export function encodePng(canvas: Canvas): Buffer {
  const png = new PNG({ width: canvas.width, height: canvas.height });
  png.data = Buffer.from(canvas.data.buffer, canvas.data.byteOffset, canvas.data.byteLength);
  return PNG.sync.write(png, { colorType: 6 });
}

/** Writes `canvas` to `path` atomically; creates the folder. */
export function writePng(path: string, canvas: Canvas): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, encodePng(canvas));
  renameSync(tmp, path);
}

export function decodePng(bytes: Uint8Array): Canvas {
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const c = new Canvas(png.width, png.height, 'transparent');
  c.data.set(png.data);
  return c;
}
