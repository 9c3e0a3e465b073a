import { Command } from 'commander';
import { TYPES_HELP } from './commands/filter-help.js';
import { COMMANDS } from './commands/index.js';
import type { RunState } from './commands/types.js';
import type { GlobalOptions } from './config/settings.js';
import { EXIT_CODE_HELP, UsageError } from './errors.js';

const EXAMPLES = `
Examples:
  $ apple-import login --server https://ow.example.com --email me@example.com
  $ apple-import validate export.zip
  $ apple-import users --search dana
  $ apple-import upload export.zip --user 3f1c2b9e-5a41-4c7d-9e2b-71d0a8c4e6f1
  $ APPLE_IMPORT_API_KEY=sk-… apple-import upload export.zip --user $ID --json

Environment:
  APPLE_IMPORT_SERVER, APPLE_IMPORT_PROFILE, APPLE_IMPORT_API_KEY, APPLE_IMPORT_TOKEN,
  APPLE_IMPORT_USER, APPLE_IMPORT_CONFIG_DIR, APPLE_IMPORT_DEBUG, NO_COLOR, FORCE_COLOR, CI

Help topics:
  apple-import help <command>   a command's flags and examples
  apple-import help types       what --types and --exclude-types take
`;

/** Under every help page: the exit codes, and where the rest is documented. */
const FOOTER = `
${EXIT_CODE_HELP}

With --json, stdout is one JSON document (on an error: {"error": {"code", "exitCode", "message",
"hint"}}); its JSON Schemas are in docs/schemas/ of the package. More in its README.md.
`;

/** A fresh commander tree per run, writing only to the injected streams. */
export function buildProgram(state: RunState): Command {
  const { system } = state;
  const program = new Command('apple-import');
  // Must be set before subcommands are added: they copy inherited settings at creation.
  program
    .exitOverride()
    .configureOutput({
      writeOut: (s) => system.stdout.write(s),
      writeErr: (s) => {
        state.noteCommanderOutput(s);
        system.stderr.write(s);
      },
      outputError: (s, write) => write(s),
    })
    // Every command's help lists the global flags it takes too (--json, --server…), as gh's does.
    .configureHelp({ showGlobalOptions: true })
    .helpCommand(false)
    .showHelpAfterError("hint: run 'apple-import --help' for usage")
    .showSuggestionAfterError(true);

  program
    .description('Get Apple Health exports into an Open Wearables backend.')
    .version(state.version, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .option('--server <url>', 'backend base URL (env APPLE_IMPORT_SERVER)')
    .option('--profile <name>', 'config profile (env APPLE_IMPORT_PROFILE)')
    .option('--api-key <key>', 'API key, sent as X-Open-Wearables-API-Key (env APPLE_IMPORT_API_KEY)')
    .option('--token <jwt>', 'access token to use instead of the stored login (env APPLE_IMPORT_TOKEN)')
    .option('--json', 'print one JSON document on stdout')
    .option('-q, --quiet', 'print only results and errors')
    .option('--verbose', 'print more detail')
    .option('--debug', 'print debugging detail (secrets are redacted)')
    .option('--no-color', 'disable colors (also NO_COLOR)')
    .option('--no-progress', 'no spinners, progress bars or progress lines (also --quiet and --json)')
    .option('--insecure', 'allow plain http:// to a non-loopback server without a warning')
    .addHelpText('after', EXAMPLES)
    .addHelpText('afterAll', FOOTER)
    .hook('preAction', async (_program, actionCommand) => {
      // Help loads nothing but the command definitions (test/startup.test.ts).
      if (actionCommand.name() === 'help') return;
      const g = actionCommand.optsWithGlobals() as GlobalOptions;
      await state.init(
        {
          server: g.server,
          profile: g.profile,
          apiKey: g.apiKey,
          token: g.token,
          json: Boolean(g.json),
          quiet: Boolean(g.quiet),
          verbose: Boolean(g.verbose),
          debug: Boolean(g.debug),
          color: g.color !== false,
          progress: g.progress !== false,
          insecure: Boolean(g.insecure),
        },
        actionCommand,
      );
    });

  for (const register of COMMANDS) register(program, state);
  program
    .command('help [topic]')
    .description('show help for a command, or a topic (types)')
    .action((topic: string | undefined) => {
      const command = program.commands.find((c) => c.name() === topic || c.aliases().includes(topic ?? ''));
      if (topic === 'types') system.stdout.write(TYPES_HELP);
      else if (command && topic !== 'help') command.outputHelp();
      else if (topic === undefined) program.outputHelp();
      else
        throw new UsageError(`No help for '${topic}'.`, {
          hint: "run 'apple-import help' for the commands and topics",
        });
    });
  hintOwnHelp(program, 'apple-import');
  return program;
}

/** A usage error points at the help of the command that was mistyped, not always at the top level. */
function hintOwnHelp(command: Command, path: string): void {
  for (const sub of command.commands) {
    const name = `${path} ${sub.name()}`;
    sub.showHelpAfterError(`hint: run '${name} --help' for usage`);
    hintOwnHelp(sub, name);
  }
}
