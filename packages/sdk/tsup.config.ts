import { defineConfig } from 'tsup';

/**
 * Dual ESM/CJS build of `@latchkey/sdk`. `@latchkey/api/errors` and `@latchkey/api/signing` (plain
 * TypeScript, no zod) are bundled in, code and types, so the published package has no runtime
 * dependency. Workspace packages resolve to their sources through the `source` export condition.
 */
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  // Browser-safe output: no Node built-ins are assumed.
  platform: 'neutral',
  target: 'es2022',
  tsconfig: 'tsconfig.build.json',
  dts: {
    // Map the bundled subpaths to their sources so their types are inlined into index.d.ts and
    // index.d.cts (a workspace symlink would otherwise be kept as an external import).
    compilerOptions: {
      paths: {
        '@latchkey/api/errors': ['../api/src/errors.ts'],
        '@latchkey/api/signing': ['../api/src/signing.ts'],
      },
    },
  },
  sourcemap: true,
  clean: true,
  treeshake: true,
  noExternal: [/^@latchkey\/api(\/.*)?$/],
  esbuildOptions(options) {
    options.conditions = ['source'];
  },
});
