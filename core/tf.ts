// The one place that imports the tensor engine. The full `@tensorflow/tfjs` package is required:
// tfjs-core alone registers no gradients and no chained tensor methods in Node.
import * as tf from '@tensorflow/tfjs';
// Registers every webgpu kernel. The backend itself is registered by core/backend.ts, which creates
// the GPU device with the adapter's own limits (tfjs' defaults are small, and an oversized binding
// silently computes zeros).
import '@tensorflow/tfjs-backend-webgpu';

export { tf };
export type Tensor = tf.Tensor;
export type Variable = tf.Variable;
export type Rank = tf.Rank;
export type TensorInfo = tf.TensorInfo;

// Production mode: silences tfjs' console warnings (e.g. the "install tfjs-node" banner of the cpu
// backend, which is not a hint that applies here); it does not change any computation.
tf.env().set('PROD', true);
