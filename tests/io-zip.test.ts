// Zip reader: STORED views, DEFLATE, ZIP64, file vs in-memory sources, and clear errors for bad archives.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { openZip } from '../core/io/zip.ts';

const dir = 'tests/fixtures/io/';
const golden = 'tests/fixtures/golden/vmamba_s2l5_cf.pth';

test('a torch-written archive: entries in order, STORED payloads are 64-byte aligned zero-copy views', (t) => {
  const bytes = readFileSync(golden);
  const zip = openZip(bytes, golden);
  const names = zip.entries.map((e) => e.name);
  t.is(names[0], 'vmamba_s2l5_cf/data.pkl');
  t.true(names.includes('vmamba_s2l5_cf/byteorder'));
  t.is(names.filter((n) => n.startsWith('vmamba_s2l5_cf/data/')).length, 114);
  const rec = zip.read('vmamba_s2l5_cf/data/0');
  t.is(rec.buffer, bytes.buffer, 'a view into the file buffer, not a copy');
  t.is((rec.byteOffset - bytes.byteOffset) % 64, 0, 'torch aligns payloads to 64 bytes');
  t.is(rec.byteLength, 864); // 8x3x3x3 float32
  t.is(new TextDecoder().decode(zip.read('vmamba_s2l5_cf/byteorder')), 'little');
});

test('the fd-backed source reads the same bytes as the in-memory one', (t) => {
  const mem = openZip(readFileSync(golden), golden);
  const fd = openZip(golden);
  t.deepEqual(fd.entries, mem.entries);
  for (const e of mem.entries.slice(0, 10)) t.deepEqual(fd.read(e), mem.read(e));
  fd.close();
});

test('DEFLATE entries inflate to the same records as STORED ones', (t) => {
  const stored = openZip(`${dir}views.pth`);
  const deflated = openZip(`${dir}views_deflate.pth`);
  t.true(deflated.entries.some((e) => e.method === 8));
  t.deepEqual(deflated.read('views_deflate/data.pkl'), stored.read('archive/data.pkl'));
  for (const k of ['0', '1', '5']) t.deepEqual(deflated.read(`views_deflate/data/${k}`), stored.read(`archive/data/${k}`));
  stored.close();
  deflated.close();
});

test('ZIP64 end records and ZIP64 extra fields (64-bit sizes and offsets) are honoured', (t) => {
  const bytes = readFileSync(`${dir}views_zip64.pth`);
  // the archive carries a ZIP64 end-of-central-directory locator, and central entries with 0xFFFFFFFF fields
  t.true(bytes.includes(Buffer.from([0x50, 0x4b, 0x06, 0x07])));
  const zip64 = openZip(bytes, 'zip64');
  const plain = openZip(`${dir}views.pth`);
  t.deepEqual(zip64.entries.map((e) => e.name), plain.entries.map((e) => e.name));
  for (const e of plain.entries) t.deepEqual(zip64.read(e.name), plain.read(e), e.name);
  plain.close();
});

test('bad archives fail with messages that name the file and the problem', (t) => {
  t.throws(() => openZip(`${dir}truncated.pth`), { message: /truncated\.pth: truncated zip archive: the end-of-central-directory record is missing/ });
  t.throws(() => openZip(`${dir}not_a_checkpoint.pth`), { message: /not_a_checkpoint\.pth: .*too short|not_a_checkpoint\.pth: not a zip archive/ });
  t.throws(() => openZip(new Uint8Array(100), 'zeros.bin'), { message: /zeros\.bin: not a zip archive/ });
  t.throws(() => openZip(`${dir}does-not-exist.pth`), { message: /does-not-exist\.pth: cannot open \(ENOENT\)/ });

  const good = readFileSync(`${dir}views.pth`);
  const eocd = good.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  // central directory offset pointing past the end of the file
  const lying = Buffer.from(good);
  lying.writeUInt32LE(good.length + 1000, eocd + 16);
  t.throws(() => openZip(lying, 'lying.pth'), { message: /lying\.pth: truncated zip archive: the central directory .* lies past the end/ });
  // a broken central-directory signature
  const cdOffset = good.readUInt32LE(eocd + 16);
  const broken = Buffer.from(good);
  broken[cdOffset] = 0;
  t.throws(() => openZip(broken, 'broken.pth'), { message: /broken\.pth: corrupt zip central directory: entry 0 of \d+ is missing/ });
  // an unsupported compression method (12 = bzip2) in the first central entry
  const bzip = Buffer.from(good);
  bzip.writeUInt16LE(12, cdOffset + 10);
  const zip = openZip(bzip, 'bzip.pth');
  t.throws(() => zip.read(zip.entries[0]), { message: /bzip\.pth: zip record 'archive\/data\.pkl' uses compression method 12/ });
  t.throws(() => zip.read('archive/nope'), { message: /bzip\.pth: zip archive has no record 'archive\/nope'/ });
});
