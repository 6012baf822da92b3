// Low-level readers: YAML subset, XML, PNG index masks, JPEG/PNG headers, sharp decode to RGB.
import test from 'ava';
import sharp from 'sharp';
import { parseYaml, YamlError } from '../datasets/io/yaml.ts';
import { parseXml, XmlError } from '../datasets/io/xml.ts';
import { decodeIndexPng, encodeIndexPng, vocPalette } from '../datasets/io/png.ts';
import { headerSize } from '../datasets/io/header.ts';
import { decodeRgb, imageSize } from '../datasets/io/decode.ts';
import { rasterizePolygons, polygonArea } from '../datasets/io/polygon.ts';
import { SampleError } from '../datasets/common.ts';

test('YAML: the shapes of ultralytics dataset files', (t) => {
  const y = parseYaml(`# COCO8
path: ../datasets/coco8 # root
train: images/train
val: [images/val, "images/val2"]
test: # optional
names:
  0: person
  1: 'traffic light'
  2: "fire \\"hydrant\\""
nc: 3
flags: {a: yes, b: off, c: ~, d: 1.5, e: -3, f: 0x1f}
seq:
  - a
  - b: 1
    c: [1, 2]
  - - nested
multi: [one,
  two]
download: |
  import x  # kept
  y = 2
`, 'coco8.yaml');
  t.deepEqual(y, {
    path: '../datasets/coco8',
    train: 'images/train',
    val: ['images/val', 'images/val2'],
    test: null,
    names: { 0: 'person', 1: 'traffic light', 2: 'fire "hydrant"' },
    nc: 3,
    flags: { a: true, b: false, c: null, d: 1.5, e: -3, f: 31 },
    seq: ['a', { b: 1, c: [1, 2] }, ['nested']],
    multi: ['one', 'two'],
    download: 'import x  # kept\ny = 2\n',
  });
  // a list of names and a sequence at the key's own indentation
  t.deepEqual(parseYaml('names:\n- cat\n- dog\n'), { names: ['cat', 'dog'] });
});

test('YAML: errors name the file and line', (t) => {
  const cases: Array<[string, RegExp]> = [
    ['a: [1, 2', /bad\.yaml:1: unclosed '\['/],
    ['a: 1\n  b: 2', /bad\.yaml:2: unexpected indentation/],
    ["a: 'x", /bad\.yaml:1: unterminated single-quoted/],
    ['a: &anchor 1', /bad\.yaml:1: anchors, aliases and tags/],
    ['a: 1\nb: 2\na: 3', /bad\.yaml:3: duplicate key 'a'/],
    ['a:\n\tb: 1', /bad\.yaml:2: tab indentation/],
  ];
  for (const [src, re] of cases) {
    const e = t.throws(() => parseYaml(src, 'bad.yaml'), { instanceOf: YamlError });
    t.regex(e!.message, re);
  }
});

test('XML: elements, attributes, entities, CDATA, comments', (t) => {
  const x = parseXml(`<?xml version="1.0"?>\n<!-- c --><annotation v='1'><name>a &amp; b</name><x><![CDATA[<raw>]]></x><e/></annotation>`, 'a.xml');
  t.is(x.name, 'annotation');
  t.is(x.attrs.v, '1');
  t.is(x.children[0].text, 'a & b');
  t.is(x.children[1].text, '<raw>');
  t.is(x.children[2].name, 'e');
  const e1 = t.throws(() => parseXml('<a>\n<b>\n</a>', 'm.xml'), { instanceOf: XmlError });
  t.regex(e1!.message, /^m\.xml:3: end tag <\/a> does not match <b>/);
  const e2 = t.throws(() => parseXml('<a><b></b>', 'u.xml'), { instanceOf: XmlError });
  t.regex(e2!.message, /u\.xml:1: <a> is never closed/);
});

test('PNG masks: palette indices are read as indices, not colours (8-bit and packed 2-bit)', async (t) => {
  const w = 7, h = 5;
  const idx = Uint8Array.from({ length: w * h }, (_, i) => [0, 1, 20, 255][i % 4]);
  const png = encodeIndexPng(idx, w, h, vocPalette());
  const m = decodeIndexPng(png, 'p.png');
  t.is(m.kind, 'palette');
  t.deepEqual([...m.data], [...idx]);
  // sharp (like PIL's convert('RGB')) would give the colours: index 1 is VOC's dark red
  const rgb = await sharp(png).raw().toBuffer();
  t.deepEqual([...rgb.subarray(3, 6)], [128, 0, 0]);
  // a 2-bit palette PNG written by libvips: indices recovered through PLTE match its RGB decode
  const src = Buffer.alloc(9 * 4 * 3);
  const cols = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]];
  for (let p = 0; p < 36; p++) src.set(cols[(p * 7) % 4], p * 3);
  const packed = await sharp(src, { raw: { width: 9, height: 4, channels: 3 } }).png({ palette: true, colours: 4, dither: 0 }).toBuffer();
  const pm = decodeIndexPng(packed, 'q.png');
  const prgb = await sharp(packed).removeAlpha().raw().toBuffer();
  t.is(pm.kind, 'palette');
  for (let p = 0; p < 36; p++) t.deepEqual(pm.palette![pm.data[p]], [...prgb.subarray(p * 3, p * 3 + 3)]);
  // grayscale 8-bit
  t.deepEqual([...decodeIndexPng(encodeIndexPng(idx, w, h), 'g.png').data], [...idx]);
  // an RGB PNG is not a class-index mask
  const rgbPng = await sharp(src, { raw: { width: 9, height: 4, channels: 3 } }).png().toBuffer();
  t.throws(() => decodeIndexPng(rgbPng, 'rgb.png'), { message: /rgb\.png: a class-index mask must be a grayscale or palette PNG, got RGB/ });
});

test('header sizes match sharp, including EXIF orientation 6', async (t) => {
  const raw = Buffer.alloc(30 * 20 * 3, 128);
  const jpg = await sharp(raw, { raw: { width: 30, height: 20, channels: 3 } }).jpeg().toBuffer();
  const rot = await sharp(raw, { raw: { width: 30, height: 20, channels: 3 } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  const png = await sharp(raw, { raw: { width: 30, height: 20, channels: 3 } }).png().toBuffer();
  t.deepEqual(headerSize(jpg), { width: 30, height: 20 });
  t.deepEqual(headerSize(rot), { width: 20, height: 30 });
  t.deepEqual(headerSize(png), { width: 30, height: 20 });
  const m = await sharp(rot).metadata();
  t.deepEqual(await imageSize(rot, 'r.jpg'), { width: m.autoOrient.width, height: m.autoOrient.height });
  // the decoder applies the same rotation
  const img = await decodeRgb(rot, 'r.jpg');
  t.deepEqual([img.width, img.height], [20, 30]);
  t.is(headerSize(Buffer.from('GIF89a......')), null);
});

test('grayscale, CMYK, 16-bit and alpha inputs all decode to 8-bit RGB', async (t) => {
  const w = 6, h = 4;
  const raw = Buffer.alloc(w * h * 3);
  for (let p = 0; p < w * h; p++) raw.set([200, 100, 50], p * 3);
  const base = () => sharp(raw, { raw: { width: w, height: h, channels: 3 } });
  const inputs: Record<string, Buffer> = {
    gray: await base().toColourspace('b-w').jpeg({ quality: 100 }).toBuffer(),
    cmyk: await base().toColourspace('cmyk').jpeg({ quality: 100 }).toBuffer(),
    rgb16: await base().toColourspace('rgb16').png().toBuffer(),
    rgba: await base().ensureAlpha(0.5).png().toBuffer(),
    grayAlpha: await base().toColourspace('b-w').ensureAlpha(0.3).png().toBuffer(),
  };
  t.is((await sharp(inputs.rgb16).metadata()).depth, 'ushort');
  t.is((await sharp(inputs.cmyk).metadata()).space, 'cmyk');
  for (const [name, buf] of Object.entries(inputs)) {
    const img = await decodeRgb(buf, name);
    t.is(img.data.length, w * h * 3, name);
    const px = [...img.data.subarray(0, 3)];
    if (name.startsWith('gray')) {
      t.true(px[0] === px[1] && px[1] === px[2], `${name}: gray becomes R = G = B, got ${px}`);
      // the stored gray level, replicated to R, G and B
      const gray = (await sharp(buf).extractChannel(0).raw().toBuffer())[0];
      t.is(px[0], gray, `${name}: ${px} vs stored gray ${gray}`);
    } else {
      // the CMYK round trip goes through a print profile (out of gamut blues move), the others are near exact
      const tol = name === 'cmyk' ? 32 : 3;
      for (let c = 0; c < 3; c++) t.true(Math.abs(px[c] - [200, 100, 50][c]) <= tol, `${name}: ${px} vs 200,100,50`);
    }
  }
});

test('corrupt and truncated images become SampleErrors naming the file', async (t) => {
  const raw = Buffer.alloc(64 * 64 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 31) & 255;
  const jpg = await sharp(raw, { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toBuffer();
  const e1 = await t.throwsAsync(() => decodeRgb(jpg.subarray(0, jpg.length >> 1), 'half.jpg'), { instanceOf: SampleError });
  t.regex(e1!.message, /^half\.jpg: cannot decode: .+/);
  const e2 = await t.throwsAsync(() => decodeRgb(Buffer.from('not an image at all'), 'junk.jpg'), { instanceOf: SampleError });
  t.regex(e2!.message, /^junk\.jpg: cannot decode/);
});

test('polygon rasterisation fills pixel centres inside; area by the shoelace formula', (t) => {
  const m = rasterizePolygons([[1, 1, 4, 1, 4, 3, 1, 3]], 6, 5);
  const rows = Array.from({ length: 5 }, (_, y) => [...m.subarray(y * 6, y * 6 + 6)].join(''));
  t.deepEqual(rows, ['000000', '011100', '011100', '000000', '000000']);
  t.is(polygonArea([[1, 1, 4, 1, 4, 3, 1, 3]]), 6);
});
