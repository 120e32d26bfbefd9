/**
 * What a command module exports: `register` declares the command (arguments, options) on the
 * program and hands the parser its handler. main.ts lists the modules; global flags live there.
 */
import { Option, type Command } from 'commander';
import type { Cli, GlobalOptions } from './io.js';

export type Action = (cli: Cli) => Promise<number>;
/** Called by a command's commander action: the handler to run once global options are known. */
export type SetAction = (action: Action, implied?: Partial<GlobalOptions>) => void;

export interface CommandModule {
  register(program: Command, setAction: SetAction): void;
}

/** A command's --format, as the global options it implies (json output, GitHub annotations). */
export function formatOptions(format: string | undefined): Partial<GlobalOptions> {
  return format === 'json' ? { json: true } : format === 'github' ? { github: true } : {};
}

export function formatOption(description: string, choices: string[]): Option {
  return new Option('--format <format>', description).choices(choices);
}

/** --pgbin, shared by the commands that run pg_dump. */
export const PGBIN_FLAGS = '--pgbin <dir>';
export const PGBIN_HELP = 'directory of pg_dump (default: PATH, then /usr/lib/postgresql/*/bin)';

/** Repeatable, comma-separated option values (one value per option, so the file argument is never swallowed). */
export function collectNames(value: string, previous: string[]): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  ];
}
