/** Process exit codes of the `latchkey` command. */
export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  conflict: 5,
  unavailable: 6,
} as const;

/** Exit code for an SDK error status. */
export function exitCodeForStatus(status: number | undefined): number {
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status === 409) return EXIT.conflict;
  if (status !== undefined && status >= 500) return EXIT.unavailable;
  if (status !== undefined && status >= 400) return EXIT.usage;
  return EXIT.error;
}
