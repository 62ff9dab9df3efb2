export * from './path-literals';
export * from './graph';
export * from './read';
