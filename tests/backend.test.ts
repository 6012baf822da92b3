import test from 'ava';
import { setBackend, backendInfo, releaseGpu } from '../core/backend.ts';
import { tf } from '../core/tf.ts';

test.after.always(() => releaseGpu());

test.serial('setBackend rejects unknown names and lists the valid ones', async (t) => {
  const err = await t.throwsAsync(() => setBackend('cuda'));
  t.regex(err!.message, /unknown backend 'cuda'/);
  t.regex(err!.message, /auto, webgpu, cpu, tensorflow/);
});

test.serial('tensorflow backend without tfjs-node says how to install it', async (t) => {
  const err = await t.throwsAsync(() => setBackend('tensorflow'));
  t.regex(err!.message, /npm install @tensorflow\/tfjs-node/);
});

test.serial('webgpu runs on the adapter with its own buffer limits', async (t) => {
  const info = await setBackend('webgpu');
  t.is(info.backend, 'webgpu');
  t.truthy(info.adapter);
  t.log(`adapter: ${JSON.stringify(info.adapter)}`);
  t.true(info.limits!.maxBufferSize > 268435456, 'maxBufferSize raised above the WebGPU default of 256 MiB');
  const x = tf.tensor([1, 2, 3]);
  t.deepEqual(Array.from(await x.square().data()), [1, 4, 9]);
  t.is(backendInfo().backend, 'webgpu');
});

test.serial('a tensor larger than 128 MiB round-trips on webgpu where the adapter allows it', async (t) => {
  const info = await setBackend('webgpu');
  const n = 36 * 1024 * 1024; // 144 MiB of float32
  if (info.limits!.maxStorageBufferBindingSize < n * 4) {
    t.log(`skipped: this adapter binds at most ${info.limits!.maxStorageBufferBindingSize} bytes per buffer (< ${n * 4})`);
    t.pass();
    return;
  }
  const host = new Float32Array(n);
  for (let i = 0; i < n; i += 1) host[i] = (i % 1000) - 500;
  const x = tf.tensor1d(host);
  const y = tf.add(x, 1);
  const back = await y.data();
  let bad = 0;
  for (let i = 0; i < n; i += 4099) if (back[i] !== host[i] + 1) bad++;
  t.is(back[n - 1], host[n - 1] + 1);
  t.is(bad, 0);
  tf.dispose([x, y]);
});
