// Mask R-CNN and UperNet as modules (cpu): parameter counts of the papers' configurations on the
// VMamba backbones (the published #params of models.md 9), mmdet / mmseg state-dict names and PyTorch
// shapes, a strict state-dict round trip, inference outputs, and configuration errors.
import test from 'ava';
import { tf } from '../core/tf.ts';
import { setBackend } from '../core/backend.ts';
import { manualSeed } from '../core/rng.ts';
import { withoutInit } from '../core/nn/init.ts';
import { createModel } from '../backbones/index.ts';
import { createMaskRcnn, mergeConfig, MASK_RCNN_PAPER } from '../heads/mask_rcnn.ts';
import { createUperNet } from '../heads/upernet.ts';
import { heads } from '../heads/index.ts';
import { denseBackbone } from '../train/dense.ts';

test.before(async () => {
  await setBackend('cpu');
});

// published #params (M) of Mask R-CNN 1x and UperNet 160k with VMamba backbones (models.md 9.1, 9.2)
const PUBLISHED: Array<[string, number, number]> = [
  ['vmamba_tiny_s1l8', 50, 62], ['vmamba_tiny_s2l5', 50, 62], ['vmamba_small_s2l15', 70, 82], ['vmamba_base_s2l15', 108, 122],
];

test('paper configurations have the published parameter counts (to the million)', (t) => {
  for (const [name, det, seg] of PUBLISHED) {
    const d = withoutInit(() => createMaskRcnn(denseBackbone(name), {}, 'paper'));
    const u = withoutInit(() => createUperNet(denseBackbone(name), {}, 'paper'));
    t.log(`${name}: Mask R-CNN ${(d.numParams() / 1e6).toFixed(3)} M (published ${det}), UperNet ${(u.numParams() / 1e6).toFixed(3)} M (published ${seg})`);
    t.is(Math.round(d.numParams() / 1e6), det, `${name} Mask R-CNN`);
    t.is(Math.round(u.numParams() / 1e6), seg, `${name} UperNet`);
    // FPN + RPN + Shared2FC box head + FCN mask head on C = 96: worked out by hand in mmdet's layer sizes
    if (name === 'vmamba_tiny_s1l8') t.is(d.numParams() - d.backbone.numParams(), 2_729_984 + 593_935 + 14_306_705 + 2_643_280);
    d.dispose();
    u.dispose();
  }
});

test('Mask R-CNN: mmdet key names and PyTorch shapes, strict round trip', async (t) => {
  manualSeed(0);
  const m = createMaskRcnn(createModel('test_vmamba', { out_indices: [0, 1, 2, 3] }), { num_classes: 3 }, 'tiny');
  const sd = await m.stateDict();
  const head = [...sd.keys()].filter((k) => !k.startsWith('backbone.'));
  t.deepEqual(head, [
    ...[0, 1, 2, 3].flatMap((i) => [`neck.lateral_convs.${i}.conv.weight`, `neck.lateral_convs.${i}.conv.bias`]),
    ...[0, 1, 2, 3].flatMap((i) => [`neck.fpn_convs.${i}.conv.weight`, `neck.fpn_convs.${i}.conv.bias`]),
    'rpn_head.rpn_conv.weight', 'rpn_head.rpn_conv.bias', 'rpn_head.rpn_cls.weight', 'rpn_head.rpn_cls.bias', 'rpn_head.rpn_reg.weight', 'rpn_head.rpn_reg.bias',
    'roi_head.bbox_head.shared_fcs.0.weight', 'roi_head.bbox_head.shared_fcs.0.bias', 'roi_head.bbox_head.shared_fcs.1.weight', 'roi_head.bbox_head.shared_fcs.1.bias',
    'roi_head.bbox_head.fc_cls.weight', 'roi_head.bbox_head.fc_cls.bias', 'roi_head.bbox_head.fc_reg.weight', 'roi_head.bbox_head.fc_reg.bias',
    'roi_head.mask_head.convs.0.conv.weight', 'roi_head.mask_head.convs.0.conv.bias', 'roi_head.mask_head.convs.1.conv.weight', 'roi_head.mask_head.convs.1.conv.bias',
    'roi_head.mask_head.upsample.weight', 'roi_head.mask_head.upsample.bias', 'roi_head.mask_head.conv_logits.weight', 'roi_head.mask_head.conv_logits.bias',
  ]);
  const shape = (k: string) => sd.get(k)!.shape;
  t.deepEqual(shape('neck.lateral_convs.3.conv.weight'), [32, 128, 1, 1]); // test_vmamba dims 16..128 -> 32
  t.deepEqual(shape('rpn_head.rpn_cls.weight'), [3, 32, 1, 1]);
  t.deepEqual(shape('rpn_head.rpn_reg.weight'), [12, 32, 1, 1]);
  t.deepEqual(shape('roi_head.bbox_head.shared_fcs.0.weight'), [128, 32 * 7 * 7]);
  t.deepEqual(shape('roi_head.bbox_head.fc_cls.weight'), [4, 128]); // 3 classes + background
  t.deepEqual(shape('roi_head.bbox_head.fc_reg.weight'), [12, 128]);
  t.deepEqual(shape('roi_head.mask_head.upsample.weight'), [32, 32, 2, 2]); // ConvTranspose2d (in, out, k, k)
  t.deepEqual(shape('roi_head.mask_head.conv_logits.weight'), [3, 32, 1, 1]);
  t.true(sd.has('backbone.outnorm0.weight'), 'Backbone_VSSM out norms');
  const copy = withoutInit(() => createMaskRcnn(createModel('test_vmamba', { out_indices: [0, 1, 2, 3] }), { num_classes: 3 }, 'tiny'));
  copy.loadStateDict(sd);
  const back = await copy.stateDict();
  t.deepEqual(Array.from(back.get('roi_head.mask_head.upsample.weight')!.data), Array.from(sd.get('roi_head.mask_head.upsample.weight')!.data));
  m.dispose();
  copy.dispose();
});

test('UperNet: mmseg key names and shapes, auxiliary head on level 2', async (t) => {
  const u = withoutInit(() => createUperNet(createModel('test_vmamba', { out_indices: [0, 1, 2, 3] }), { num_classes: 5 }, 'tiny'));
  const sd = await u.stateDict();
  const head = [...sd.keys()].filter((k) => !k.startsWith('backbone.'));
  const cm = (p: string) => [`${p}.conv.weight`, `${p}.bn.weight`, `${p}.bn.bias`, `${p}.bn.running_mean`, `${p}.bn.running_var`, `${p}.bn.num_batches_tracked`];
  t.deepEqual([...head].sort(), [
    ...[0, 1, 2, 3].flatMap((i) => cm(`decode_head.psp_modules.${i}.1`)), ...cm('decode_head.bottleneck'),
    ...[0, 1, 2].flatMap((i) => cm(`decode_head.lateral_convs.${i}`)), ...[0, 1, 2].flatMap((i) => cm(`decode_head.fpn_convs.${i}`)),
    ...cm('decode_head.fpn_bottleneck'), 'decode_head.conv_seg.weight', 'decode_head.conv_seg.bias',
    ...cm('auxiliary_head.convs.0'), 'auxiliary_head.conv_seg.weight', 'auxiliary_head.conv_seg.bias',
  ].sort());
  t.deepEqual(sd.get('decode_head.bottleneck.conv.weight')!.shape, [32, 128 + 4 * 32, 3, 3]);
  t.deepEqual(sd.get('decode_head.fpn_bottleneck.conv.weight')!.shape, [32, 4 * 32, 3, 3]);
  t.deepEqual(sd.get('auxiliary_head.convs.0.conv.weight')!.shape, [16, 64, 3, 3]); // stage 2 of test_vmamba: 64 channels
  t.deepEqual(sd.get('decode_head.conv_seg.weight')!.shape, [5, 32, 1, 1]);
  u.dispose();
});

test('inference: Mask R-CNN detections and masks, UperNet label maps (cpu, random weights)', async (t) => {
  manualSeed(1);
  const m = createMaskRcnn(createModel('test_vmamba', { out_indices: [0, 1, 2, 3] }), { num_classes: 2 }, 'tiny').eval();
  const x = tf.randomNormal([1, 64, 64, 3], 0, 1, 'float32', 5);
  const [d] = await m.predict(x);
  const n = d.labels.length;
  t.true(n > 0 && n <= 50, `${n} detections (max_per_img 50)`);
  t.is(d.boxes.length, 4 * n);
  t.is(d.masks!.length, n * 28 * 28);
  t.true(Array.from(d.scores).every((s, i) => s > 0.05 && (i === 0 || s <= d.scores[i - 1])), 'scores above score_thr, best first');
  t.true(Array.from(d.boxes).every((v) => v >= 0 && v <= 64), 'boxes clipped to the image');
  t.true(Array.from(d.labels).every((l) => l === 0 || l === 1));
  t.true(Array.from(d.masks!).every((p) => p >= 0 && p <= 1));
  const u = createUperNet(createModel('test_vmamba', { out_indices: [0, 1, 2, 3] }), { num_classes: 4 }, 'tiny').eval();
  const { logits, aux } = u.forward(x);
  t.deepEqual(logits.shape, [1, 16, 16, 4]);
  t.is(aux, null, 'no auxiliary output in eval mode');
  const p = u.predict(x);
  t.deepEqual(p.shape, [1, 64, 64]);
  t.true(Array.from(await p.data()).every((v) => v >= 0 && v < 4));
  tf.dispose([x, logits, p]);
  m.dispose();
  u.dispose();
});

test('configuration errors name the problem', (t) => {
  const bb = () => withoutInit(() => createModel('test_vmamba', { out_indices: [0, 1, 2, 3] }));
  t.throws(() => createMaskRcnn(bb(), { roi: { fc_channels: 8 } }), { message: /unknown key 'roi\.fc_channels'/ });
  t.throws(() => createMaskRcnn(bb(), {}, 'huge'), { message: /unknown preset 'huge'/ });
  t.throws(() => createMaskRcnn(bb(), { anchor: { strides: [8, 16, 32, 64, 128] } }), { message: /stride 4 but FPN level 0 expects 8/ });
  t.throws(() => createMaskRcnn(bb(), { in_indices: [0, 1, 2, 7] }), { message: /in_indices entry 7 is not a feature/ });
  t.throws(() => createUperNet(bb(), { num_classes: 0 }), { message: /num_classes must be a positive integer/ });
  t.throws(() => createUperNet(bb(), { auxiliary: { in_index: 9 } }), { message: /auxiliary.in_index 9 outside/ });
  t.deepEqual(mergeConfig(MASK_RCNN_PAPER, { rpn: { sampler: { num: 8 } } }).rpn.sampler, { num: 8, posFraction: 0.5, addGtAsProposals: false });
  t.deepEqual(['fpn', 'mask_rcnn', 'upernet'].map((n) => heads.get(n).kind), ['neck', 'detector', 'segmentor']);
});
