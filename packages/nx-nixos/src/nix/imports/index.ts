export * from './tokenize';
export * from './graph';
export * from './read';
