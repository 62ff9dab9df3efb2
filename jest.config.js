// Unit tests sit beside the code (*.spec.ts); end-to-end tests (*.e2e.ts) drive real nx, nix and qemu.
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
const common = { testEnvironment: 'node', transform, moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/packages/**/*.spec.ts', '<rootDir>/tools/**/*.spec.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/packages/**/*.e2e.ts'], slowTestThreshold: 120, globalSetup: '<rootDir>/tools/jest-build-plugin.js' },
  ],
};
