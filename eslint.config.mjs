import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/, upstream first: a module imports only from its own layer or from layers
 * before it (see ARCHITECTURE.md). `internal` and `version.ts` are leaves everyone may use;
 * `index.ts` and `tools.ts` at the root are the public entry points and may import anything.
 */
const LAYERS = [
  'internal',
  'span',
  'genai',
  'pricing',
  'stage',
  'pipeline',
  'fenra',
  'config',
  'otel',
  'register',
  'sidecar',
  'local',
  'cli',
];

/** One `no-restricted-imports` rule per layer: every later layer is a forbidden direction. */
const layering = LAYERS.map((layer, i) => {
  const later = LAYERS.slice(i + 1);
  return {
    files: [`src/${layer}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: later.map((l) => ({
            regex: `^(\\.\\./)+${l}(/|$)`,
            message: `src/${layer} may not import src/${l}: imports run upstream only (${LAYERS.join(' < ')}); see ARCHITECTURE.md`,
          })),
        },
      ],
    },
  };
}).filter((c) => c.rules['no-restricted-imports'][1].patterns.length > 0);

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      '.tmp*/**',
      'node_modules/**',
      'coverage/**',
      'test/fixtures/generate/node_modules/**',
      'test/fixtures/generate/node22/node_modules/**',
      '**/*.cjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        Buffer: 'readonly',
      },
    },
    rules: {
      'no-console': 'error',
      eqeqeq: ['error', 'smart'],
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportAllDeclaration', message: 'Export names explicitly.' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/parameter-properties': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...layering,
  {
    // Only src/config/env.ts reads the environment; everything else takes it as a parameter.
    files: ['src/**'],
    ignores: ['src/config/env.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read the environment in src/config/env.ts (processEnv()) and pass it on.',
        },
      ],
    },
  },
  {
    // CLIs, scripts, tests, benchmarks and examples talk to the terminal.
    files: ['src/cli/**', 'bin/**', 'test/**', 'bench/**', 'examples/**', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
);
