#!/usr/bin/env node
/**
 * The bridgewall command. Exit 0 on success; on failure exactly one line
 * `error: CODE: message` on stderr and exit 1, or 2 for a usage error.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { APPLY_HELP, DEMO_HELP, FLUSH_HELP, HINTS, MAIN_HELP, SCHEMA_HELP, SHOW_HELP } from './help.js';

const COMMON = {
  netns: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Nothing on standard output on success (apply, flush); warnings and errors still go to stderr. */
const QUIET = { quiet: { type: 'boolean', short: 'q' } } as const;

const COMMANDS = {
  apply: {
    help: APPLY_HELP,
    options: { ...COMMON, ...QUIET, 'dry-run': { type: 'boolean' }, full: { type: 'boolean' }, adopt: { type: 'boolean' } },
    run: async (values: Record<string, unknown>, positionals: string[]) => {
      if (positionals.length !== 1) throw new UsageError('apply takes one SPEC.json file (or - for standard input)');
      if (values.full && !values['dry-run']) throw new UsageError('--full says what --dry-run prints: use it with --dry-run; run bridgewall apply --help');
      return (await commands()).applyCommand(positionals[0]!, {
        ...common(values), dryRun: values['dry-run'] === true, full: values.full === true, adopt: values.adopt === true,
      });
    },
  },
  show: {
    help: SHOW_HELP,
    options: { ...COMMON, backend: { type: 'string' }, counters: { type: 'boolean' } },
    run: async (values: Record<string, unknown>, positionals: string[]) => {
      if (values.counters !== true) {
        rejectArguments('show', positionals);
        return (await commands()).showCommand({ ...common(values), ...backend(values) });
      }
      // The kernel holds rules and elements, not which binding each is for: the spec says.
      if (positionals.length !== 1) throw new UsageError('show --counters takes one SPEC.json file (or - for standard input): the bindings to count');
      if (values.backend !== undefined) throw new UsageError('show --counters counts on the backend its SPEC names; drop --backend');
      return (await commands()).countersCommand(positionals[0]!, common(values));
    },
  },
  flush: backendCommand('flush', FLUSH_HELP, QUIET, (loaded, options) => loaded.flushCommand(options)),
  demo: {
    help: DEMO_HELP,
    options: { json: COMMON.json, help: COMMON.help, backend: { type: 'string' } },
    run: async (values: Record<string, unknown>, positionals: string[]) => {
      rejectArguments('demo', positionals);
      return (await commands()).demoCommand({ ...(values.json === true ? { json: true } : {}), ...backend(values) });
    },
  },
  schema: {
    help: SCHEMA_HELP,
    options: { help: COMMON.help },
    run: async (_values: Record<string, unknown>, positionals: string[]) => {
      const [name, ...rest] = positionals;
      if (!SCHEMAS.includes(name as (typeof SCHEMAS)[number]) || rest.length > 0) throw new UsageError('schema takes one name: spec or show');
      return readFileSync(path.join(PACKAGE_ROOT, 'schema', `${name}.json`), 'utf8');
    },
  },
} as const;

/** The JSON Schemas the package ships in schema/. */
const SCHEMAS = ['spec', 'show'] as const;

/** A command on what the library owns in a namespace (flush): no argument, --netns, --json, --backend. */
function backendCommand<Extra extends object>(
  name: string, help: string, extra: Extra,
  run: (loaded: Commands, options: ReturnType<typeof common> & ReturnType<typeof backend>) => Promise<string>,
) {
  return {
    help,
    options: { ...COMMON, ...extra, backend: { type: 'string' } } as const,
    run: async (values: Record<string, unknown>, positionals: string[]) => {
      rejectArguments(name, positionals);
      return run(await commands(), { ...common(values), ...backend(values) });
    },
  } as const;
}

type Commands = typeof import('./commands.js');

class UsageError extends Error {
  readonly code = 'EUSAGE';
}

class AddonError extends Error {
  readonly code = 'EADDON';
}

/**
 * The commands load the native addon, so they are loaded on first use: help
 * works without it, and a missing build or system library is one error line
 * saying what to install.
 */
async function commands(): Promise<Commands> {
  try {
    return await import('./commands.js');
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (code !== 'ERR_DLOPEN_FAILED' && !/No native build was found/.test(String(message))) throw error;
    throw new AddonError(`cannot load the native addon: ${String(message).split('\n')[0]}`);
  }
}

function common(values: Record<string, unknown>): { netns?: string; json?: boolean } {
  return {
    ...(typeof values.netns === 'string' ? { netns: values.netns } : {}),
    ...(values.json === true ? { json: true } : {}),
  };
}

function rejectArguments(command: string, positionals: readonly string[]): void {
  if (positionals.length > 0) throw new UsageError(`${command} takes no argument, got ${positionals[0]}`);
}

function backend(values: Record<string, unknown>): { backend?: string } {
  return typeof values.backend === 'string' ? { backend: values.backend } : {};
}

/** Where package.json, schema/ and dist/ are: three levels above dist/src/cli/. */
const PACKAGE_ROOT = path.join(__dirname, '..', '..', '..');

/** The package's version, from its package.json. */
function version(): string {
  const manifest = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  return `${manifest.version}\n`;
}

async function main(argv: string[]): Promise<string> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') return MAIN_HELP;
  if (name === '-V' || name === '--version') return version();
  const command = COMMANDS[name as keyof typeof COMMANDS];
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}; run bridgewall --help`);
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}; run bridgewall ${name} --help`);
  }
  const values = parsed.values as Record<string, unknown>;
  if (values.help) return command.help;
  if (values.quiet && (values.json || values['dry-run'])) {
    throw new UsageError(`--quiet prints nothing, so it goes with neither --json nor --dry-run; run bridgewall ${name} --help`);
  }
  const output = await command.run(values, parsed.positionals);
  return values.quiet ? '' : output;
}

function errorLine(error: unknown): string {
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = String(message ?? error).replace(/\s*\n\s*/g, ' ');
  const stable = typeof code === 'string' ? code : 'UNKNOWN';
  const hint = HINTS[stable];
  return `error: ${stable}: ${text}${hint ? ` (${hint})` : ''}\n`;
}

main(process.argv.slice(2)).then(
  (output) => process.stdout.write(output),
  (error: unknown) => {
    process.stderr.write(errorLine(error));
    process.exitCode = (error as { code?: unknown }).code === 'EUSAGE' ? 2 : 1;
  },
);
