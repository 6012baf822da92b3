// Runs a test body on every kernel backend: cpu (tfjs' JS kernels) and webgpu (lavapipe on machines
// without a GPU, the real card on the GPU host). SSMV_TEST_BACKENDS=cpu restricts the list.
import test, { type ExecutionContext } from 'ava';
import { setBackend, releaseGpu } from '../../core/backend.ts';

export const TEST_BACKENDS = (process.env.SSMV_TEST_BACKENDS ?? 'cpu,webgpu').split(',').map((s) => s.trim()).filter(Boolean);

let hookInstalled = false;
function installTeardown(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  // Dawn keeps the event loop alive while the GPU is referenced.
  test.after.always(() => releaseGpu());
}

export function testOnBackends(title: string, body: (t: ExecutionContext, backend: string) => Promise<void> | void): void {
  installTeardown();
  for (const backend of TEST_BACKENDS) {
    test.serial(`${title} [${backend}]`, async (t) => {
      await setBackend(backend);
      await body(t, backend);
    });
  }
}

/** max |a - b| / max |b|, the relative error figure the tests print and bound. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relErr: lengths ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= num)) num = Number.isNaN(d) ? Infinity : d;
    den = Math.max(den, Math.abs(b[i]));
  }
  return den === 0 ? num : num / den;
}

export { setBackend };
