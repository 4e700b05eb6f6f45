export * from './manifest.ts';
export * from './load.ts';
