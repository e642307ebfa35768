/** The workspaces the launcher runs compiled. */
export declare const BUILT_PACKAGES: readonly string[];
/**
 * Whether every package's `dist/.build-stamp` is at least as new as every file of its `src/`.
 *
 * @param packagesDir the monorepo's `packages/` folder.
 * @param names packages to check (default {@link BUILT_PACKAGES}).
 */
export declare function builtIsCurrent(packagesDir: string, names?: readonly string[]): boolean;
