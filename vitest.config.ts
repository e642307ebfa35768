import { defineConfig } from 'vitest/config';

/** Server suites that exercise the store; the `postgres` project runs them again on PostgreSQL. */
const DIALECT_SUITES = [
  'packages/server/test/main-job.test.ts',
  'packages/server/test/audit.test.ts',
  'packages/server/test/bad-input.test.ts',
  'packages/server/test/third-party.test.ts',
  'packages/server/test/gateway.test.ts',
  'packages/server/test/agents.test.ts',
  'packages/server/test/identity.test.ts',
  'packages/server/test/canary.test.ts',
];

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'sqlite',
          include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
          env: { LATCHKEY_TEST_DIALECT: 'sqlite' },
        },
      },
      {
        extends: true,
        test: { name: 'postgres', include: DIALECT_SUITES, env: { LATCHKEY_TEST_DIALECT: 'postgres' } },
      },
    ],
  },
});
