import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Layering (DESIGN.md): the domain imports nothing outside itself; adapters, jobs and the bot
// import the domain but not each other; only the composition roots wire them together.
// YAML that helm or Kubernetes wrote is read by one module, the way helm reads it (go-yaml v2).
const helmYaml = { group: ['yaml'], message: 'read YAML that helm or Kubernetes wrote with src/cluster/helm-yaml.ts (helm\'s rules: duplicate keys, YAML 1.1)' };
const outside = (dirs) => dirs.map((d) => ({ group: [`**/${d}/*`, `../${d}/*`, `./${d}/*`], message: `layering: do not import ${d}/ from here` }));

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.tools/', '.cluster/', 'coverage/', 'helm/', 'test/harness/charts/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' } } },
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    files: ['src/upgrade/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          ...outside(['cluster', 'jobs', 'bot']),
          { group: ['bullmq', 'ioredis', '@slack/*', '@kubernetes/*', 'node:child_process', 'node:fs', 'node:net', 'node:http', 'node:https', 'pino'], message: 'the domain is pure: no I/O libraries' },
          helmYaml,
        ],
      }],
    },
  },
  { files: ['src/cluster/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [...outside(['jobs', 'bot']), helmYaml] }] } },
  { files: ['src/cluster/helm-yaml.ts', 'src/cluster/config-file.ts'], rules: { 'no-restricted-imports': ['error', { patterns: outside(['jobs', 'bot']) }] } },
  { files: ['src/jobs/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [...outside(['cluster', 'bot']), helmYaml] }] } },
  { files: ['src/bot/**/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [...outside(['cluster', 'jobs']), { group: ['@kubernetes/*', 'node:child_process'], message: 'the bot never calls helm or Kubernetes directly' }] }] } },
);
