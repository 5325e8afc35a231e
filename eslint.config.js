// Type-aware checks Biome cannot do yet: an un-awaited Drizzle query is a thenable that never
// runs, so every promise (and thenable) must be awaited, returned or explicitly voided.
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['node_modules/**', 'bench/results/**', 'test-reliability/results/**', 'migrations/**', 'data/**'] },
  {
    files: [
      'src/**/*.ts',
      'test/**/*.ts',
      'bench/**/*.ts',
      'drizzle/**/*.ts',
      'test-libsql/**/*.ts',
      'test-reliability/**/*.ts',
    ],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { checkThenables: true }],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
)
