// The lint gate, run by `npm test` through `npm run lint`. TypeScript is checked with type information from tsconfig.json.
import js from '@eslint/js';
import comments from '@eslint-community/eslint-plugin-eslint-comments/configs';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['**/node_modules/', '**/dist/', 'tmp/', 'artifacts/', 'packages/*/test/fixtures/'] },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    extends: [comments.recommended],
    // Every eslint-disable says why, on the same line: `// eslint-disable-next-line RULE -- REASON`.
    rules: { '@eslint-community/eslint-comments/require-description': ['error', { ignore: ['eslint-enable'] }] },
  },
  {
    files: ['**/*.js'],
    extends: [js.configs.recommended],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', exports: 'writable', __dirname: 'readonly', __filename: 'readonly', process: 'readonly', console: 'readonly' },
    },
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // `import x = require('cjs-module')` is typed and loads a CommonJS package the same with or without esModuleInterop.
      '@typescript-eslint/no-require-imports': ['error', { allowAsImport: true }],
      // As tsc's noUnusedLocals: a leading underscore marks a binding kept on purpose (`{ omitted: _omitted, ...rest }`).
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_', argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // Here an async function without await implements a promise-returning contract (CliCommand.run, Nx generators,
      // test doubles of async interfaces), so that a throw inside it rejects rather than throws.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests check the JSON they read (command output, reports, files they wrote) with expect(); typing every
    // JSON.parse result would add casts, not safety. Library and tool code keeps these rules.
    files: ['**/*.spec.ts', '**/*.e2e.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
