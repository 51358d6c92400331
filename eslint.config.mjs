import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/generated/**',
      '**/node_modules/**',
      '**/*.mts',
      '**/*.js',
      '**/*.cjs',
      '**/prisma.config.ts',
      // of the plain JS, bench/ and scripts/ are linted (typed by JSDoc, tsconfig.scripts.json)
      '*.mjs',
      'apps/**/*.mjs',
      'packages/**/*.mjs',
      'tests/**/*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    // One program for every TypeScript file (tsconfig.typecheck.json): per package, each would
    // parse and check the sources of the workspace packages it imports again.
    languageOptions: {
      parserOptions: { projectService: false, project: './tsconfig.typecheck.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // Services publish desired state in the wire format of @ncp/contracts; the kernel drivers are the agent's alone.
    files: ['apps/{ipam,l3,dhcp,bgp,metadata,gateway,cli}/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: '@ncp/dataplane', message: 'services depend on @ncp/contracts (desired-state intents, names, keys), never on the kernel drivers' }] },
      ],
    },
  },
  {
    files: ['**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  {
    files: ['bench/**/*.mjs', 'scripts/**/*.mjs'],
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: false, project: './tsconfig.scripts.json', tsconfigRootDir: import.meta.dirname },
    },
    // Neutron's JSON answers come back as `any` (api() in bench/lib/stack-bench.mjs): the
    // benchmarks read the shapes they know; tsc checks everything else in these files.
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
