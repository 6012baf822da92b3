export * from './module.ts';
export * from './init.ts';
export * from './linear.ts';
export * from './conv2d.ts';
export * from './norm.ts';
export * from './activation.ts';
export * from './container.ts';
