export * from './tokenize';
export * from './graph';
