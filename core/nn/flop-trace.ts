// Module-level FLOP records for the operations fvcore counts but that tfjs runs as several small
// kernels (LayerNorm, BatchNorm). eval/flops.ts turns recording on while it profiles a forward pass;
// otherwise recordFlops is a no-op.
let sink: ((op: string, flops: number) => void) | null = null;

export function recordFlops(op: string, flops: number): void {
  if (sink) sink(op, flops);
}

/** Runs `fn` with every recordFlops call delivered to `onRecord`. */
export function withFlopRecording<T>(onRecord: (op: string, flops: number) => void, fn: () => T): T {
  const prev = sink;
  sink = onRecord;
  try {
    return fn();
  } finally {
    sink = prev;
  }
}
