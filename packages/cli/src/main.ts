import { Command, CommanderError } from 'commander';
import { registerClientCommands } from './commands/client.js';
import { registerLocalCommands } from './commands/local.js';
import { EXIT } from './exit-codes.js';
import { reportError } from './io.js';

/** Builds the `latchkey` command tree. */
export function buildProgram(): Command {
  const program = new Command('latchkey')
    .description('Latchkey: credential vault and authorization proxy')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerLocalCommands(program);
  registerClientCommands(program);
  return program;
}

/** Runs the CLI with `argv` (as in `process.argv`); resolves to the exit code. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    return reportError(err, json);
  }
}
