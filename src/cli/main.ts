#!/usr/bin/env node
/**
 * The bridgewall command. Exit 0 on success; on failure a non-zero exit and
 * exactly one line `error: CODE: message` on stderr.
 */
import { parseArgs } from 'node:util';
import { APPLY_HELP, DEMO_HELP, FLUSH_HELP, HINTS, MAIN_HELP, SHOW_HELP } from './help.js';

const COMMON = {
  netns: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const COMMANDS = {
  apply: {
    help: APPLY_HELP,
    options: { ...COMMON, 'dry-run': { type: 'boolean' }, adopt: { type: 'boolean' } },
    run: async (values: Record<string, unknown>, positionals: string[]) => {
      if (positionals.length !== 1) throw new UsageError('apply takes one SPEC.json file (or - for standard input)');
      return (await commands()).applyCommand(positionals[0]!, { ...common(values), dryRun: values['dry-run'] === true, adopt: values.adopt === true });
    },
  },
  show: backendCommand('show', SHOW_HELP, (loaded, options) => loaded.showCommand(options)),
  flush: backendCommand('flush', FLUSH_HELP, (loaded, options) => loaded.flushCommand(options)),
  demo: {
    help: DEMO_HELP,
    options: { json: COMMON.json, help: COMMON.help, backend: { type: 'string' } },
    run: async (values: Record<string, unknown>, positionals: string[]) => {
      rejectArguments('demo', positionals);
      return (await commands()).demoCommand({ ...(values.json === true ? { json: true } : {}), ...backend(values) });
    },
  },
} as const;

/** A command on what the library owns in a namespace (show, flush): no argument, --netns, --json, --backend. */
function backendCommand(
  name: string, help: string,
  run: (loaded: Commands, options: ReturnType<typeof common> & ReturnType<typeof backend>) => Promise<string>,
) {
  return {
    help,
    options: { ...COMMON, backend: { type: 'string' } },
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

async function main(argv: string[]): Promise<string> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') return MAIN_HELP;
  const command = COMMANDS[name as keyof typeof COMMANDS];
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}; run bridgewall --help`);
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}; run bridgewall ${name} --help`);
  }
  if (parsed.values.help) return command.help;
  return command.run(parsed.values as Record<string, unknown>, parsed.positionals);
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
