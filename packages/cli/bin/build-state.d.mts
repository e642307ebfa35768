/** The workspaces the launcher runs compiled. */
export declare const BUILT_PACKAGES: readonly string[];
/**
 * Whether every package's build stamp (`dist/.build-stamp`; the SDK's `dist/index.js`) is strictly
 * newer than every file of its `src/`.
 *
 * @param packagesDir the monorepo's `packages/` folder.
 * @param names packages to check (default {@link BUILT_PACKAGES}).
 */
export declare function builtIsCurrent(packagesDir: string, names?: readonly string[]): boolean;
