// COCO annotation API: pycocotools' filter semantics and loadRes rules, on a small hand-made dataset.
import test from 'ava';
import { COCO, rleToString, type CocoDataset } from '../eval/coco/index.ts';

const ds = (): CocoDataset => ({
  images: [
    { id: 3, width: 40, height: 30 },
    { id: 1, width: 40, height: 30 },
    { id: 2, width: 40, height: 30 },
  ],
  categories: [
    { id: 5, name: 'cat', supercategory: 'animal' },
    { id: 9, name: 'dog', supercategory: 'animal' },
    { id: 7, name: 'car', supercategory: 'vehicle' },
  ],
  annotations: [
    { id: 10, image_id: 1, category_id: 5, bbox: [0, 0, 10, 10], area: 100, iscrowd: 0, segmentation: [[0, 0, 10, 0, 10, 10, 0, 10]] },
    { id: 11, image_id: 1, category_id: 9, bbox: [0, 0, 20, 10], area: 200, iscrowd: 1, segmentation: [[0, 0, 20, 0, 20, 10, 0, 10]] },
    { id: 12, image_id: 2, category_id: 5, bbox: [0, 0, 5, 5], area: 25, iscrowd: 0, segmentation: [[0, 0, 5, 0, 5, 5, 0, 5]] },
    { id: 13, image_id: 3, category_id: 7, bbox: [1, 1, 30, 20], area: 600, iscrowd: 0, segmentation: [[1, 1, 31, 1, 31, 21, 1, 21]] },
    { id: 14, image_id: 3, category_id: 5, bbox: [2, 2, 10, 10], area: 100, iscrowd: 0, segmentation: [[2, 2, 12, 2, 12, 12, 2, 12]] },
  ],
});

test('index: anns, imgs, cats, imgToAnns, catToImgs', (t) => {
  const c = new COCO(ds());
  t.is(c.anns.size, 5);
  t.deepEqual(c.imgToAnns.get(3)?.map((a) => a.id), [13, 14]);
  t.deepEqual(c.catToImgs.get(5), [1, 2, 3]);
  t.deepEqual(c.loadImgs(2)[0], { id: 2, width: 40, height: 30 });
  t.deepEqual(c.loadCats([9, 7]).map((x) => x.name), ['dog', 'car']);
  t.throws(() => c.loadAnns(99), { message: /no annotation with id 99/ });
});

test('getAnnIds: filters combine; areaRng is exclusive; iscrowd compares as a number', (t) => {
  const c = new COCO(ds());
  t.deepEqual(c.getAnnIds(), [10, 11, 12, 13, 14]);
  // image order as given, annotations in file order inside each image
  t.deepEqual(c.getAnnIds({ imgIds: [3, 1] }), [13, 14, 10, 11]);
  t.deepEqual(c.getAnnIds({ imgIds: 3, catIds: 5 }), [14]);
  t.deepEqual(c.getAnnIds({ catIds: [5, 7] }), [10, 12, 13, 14]);
  t.deepEqual(c.getAnnIds({ areaRng: [25, 200] }), [10, 14]); // 25 and 200 themselves are out
  t.deepEqual(c.getAnnIds({ iscrowd: true }), [11]);
  t.deepEqual(c.getAnnIds({ iscrowd: 0 }), [10, 12, 13, 14]);
  t.deepEqual(c.getAnnIds({ imgIds: [42] }), []);
});

test('getCatIds and getImgIds', (t) => {
  const c = new COCO(ds());
  t.deepEqual(c.getCatIds(), [5, 9, 7]);
  t.deepEqual(c.getCatIds({ supNms: 'animal' }), [5, 9]);
  t.deepEqual(c.getCatIds({ catNms: ['car', 'dog'] }), [9, 7]);
  t.deepEqual(c.getCatIds({ supNms: 'animal', catIds: [9, 7] }), [9]);
  t.deepEqual(c.getImgIds(), [3, 1, 2]);
  // images holding EVERY given category
  t.deepEqual(c.getImgIds({ catIds: [5] }).sort(), [1, 2, 3]);
  t.deepEqual(c.getImgIds({ catIds: [5, 9] }), [1]);
  t.deepEqual(c.getImgIds({ imgIds: [2, 3], catIds: [5] }), [2, 3]);
  // given ids are not checked against the images (as pycocotools)
  t.deepEqual(c.getImgIds({ imgIds: [77] }), [77]);
});

test('loadRes, bbox results: ids index+1, area w*h, iscrowd 0, the box as a polygon; input untouched', (t) => {
  const c = new COCO(ds());
  const results = [
    { image_id: 1, category_id: 5, bbox: [1, 2, 3, 4], score: 0.5 },
    { image_id: 3, category_id: 7, bbox: [0, 0, 10, 5], score: 0.7 },
  ];
  const r = c.loadRes(results);
  t.deepEqual(r.loadAnns(1)[0], { image_id: 1, category_id: 5, bbox: [1, 2, 3, 4], score: 0.5, segmentation: [[1, 2, 1, 6, 4, 6, 4, 2]], area: 12, id: 1, iscrowd: 0 });
  t.is(r.loadAnns(2)[0].area, 50);
  t.false('id' in results[0]);
  t.deepEqual(r.getImgIds(), [3, 1, 2]); // the ground truth's images
  t.deepEqual(r.getCatIds(), [5, 9, 7]);
  // segm evaluation of box results rasterises that polygon: 3 x 4 pixels
  t.is(r.annToMask(r.loadAnns(1)[0]).reduce((a, b) => a + b, 0), 12);
});

test('loadRes, segm results: area and bbox from the mask; a given bbox keeps area w*h (pycocotools)', (t) => {
  const c = new COCO(ds());
  // the 10x10 square of annotation 10 as a compressed RLE on its 30x40 image
  const counts = rleToString(c.annToRLE(c.loadAnns(10)[0]));
  const r = c.loadRes([
    { image_id: 1, category_id: 5, segmentation: { size: [30, 40], counts }, score: 0.9 },
    { image_id: 1, category_id: 5, segmentation: { size: [30, 40], counts }, score: 0.8 },
  ]);
  const a = r.loadAnns(1)[0];
  t.is(a.area, 100);
  t.deepEqual(a.bbox, [0, 0, 10, 10]);
  t.is(a.iscrowd, 0);
  t.deepEqual(r.getAnnIds(), [1, 2]);
  // with a bbox in the first result it is read as a bbox result: area = w*h, not the mask area
  const r2 = c.loadRes([{ image_id: 1, category_id: 5, bbox: [0, 0, 10, 20], segmentation: { size: [30, 40], counts }, score: 0.9 }]);
  t.is(r2.loadAnns(1)[0].area, 200);
  t.throws(() => c.loadRes([{ image_id: 1, category_id: 5, segmentation: [[0, 0, 5, 0, 5, 5]], score: 0.9 }]), { message: /must be an RLE/ });
  t.throws(() => c.loadRes([{ image_id: 1, category_id: 5, segmentation: { size: [30, 40], counts: 'T' }, score: 0.9 }]), {
    message: /results\[0\].*ends inside a count/,
  });
});

test('annToRLE: polygons merged, uncompressed RLE, the 4-number polygon pycocotools cannot read', (t) => {
  const c = new COCO(ds());
  t.deepEqual(c.annToMask(c.loadAnns(10)[0]).reduce((a, b) => a + b, 0), 100);
  const two = { id: 1, image_id: 1, category_id: 5, segmentation: [[0, 0, 4, 0, 4, 4, 0, 4], [10, 10, 14, 10, 14, 14, 10, 14]] };
  t.is(c.annToMask(two).reduce((a, b) => a + b, 0), 32);
  const unc = { id: 2, image_id: 1, category_id: 5, segmentation: { size: [30, 40] as [number, number], counts: [30, 30, 1140] } };
  t.deepEqual(Array.from(c.annToRLE(unc).counts), [30, 30, 1140]);
  t.throws(() => c.annToRLE({ id: 3, image_id: 1, category_id: 5, segmentation: [[0, 0, 4, 4]] }), { message: /4 numbers \(2 points\).*reads such a list as boxes/ });
  t.throws(() => c.annToRLE({ id: 4, image_id: 99, category_id: 5, segmentation: [[0, 0, 4, 0, 4, 4]] }), { message: /image 99 is not in this dataset/ });
});

test('bad datasets name the problem', (t) => {
  t.throws(() => new COCO([] as never), { message: /format list not supported/ });
  t.throws(() => new COCO({ images: {} } as never), { message: /'images' must be a list/ });
  t.throws(() => new COCO({ annotations: [{ image_id: 1 }] } as never), { message: /annotations\[0\] has no 'id'/ });
  t.throws(() => new COCO('/nonexistent/instances.json'), { message: /cannot read \/nonexistent\/instances.json/ });
  const dup = new COCO({ images: [], annotations: [{ id: 1, image_id: 1, category_id: 1 }, { id: 1, image_id: 1, category_id: 2 }] });
  t.regex(dup.warnings[0], /repeat an earlier id/);
  t.is(dup.loadAnns(1)[0].category_id, 2);
});
