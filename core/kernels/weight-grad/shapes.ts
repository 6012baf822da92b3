// Shapes shared by the weight-gradient ops and kernels.
export interface ConvAttrs {
  strides: [number, number];
  pads: [number, number];
  dilations: [number, number];
}

export function convOutSize(inSize: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((inSize + 2 * p - d * (k - 1) - 1) / s) + 1;
}

/** (OH, OW) of a conv of x (B, H, W, C) with a (KH, KW, ...) filter */
export function convOut(xShape: number[], wShape: number[], a: ConvAttrs): [number, number] {
  return [convOutSize(xShape[1], wShape[0], a.strides[0], a.pads[0], a.dilations[0]), convOutSize(xShape[2], wShape[1], a.strides[1], a.pads[1], a.dilations[1])];
}
