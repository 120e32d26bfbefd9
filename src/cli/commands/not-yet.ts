/** Commands whose engine work is not built yet: they say so plainly and change nothing. */
import { engineFor } from '../../engines/index.js';
import { notImplemented } from '../../engines/engine.js';
import type { Cli } from '../io.js';
import { loadForCommand } from '../shared.js';

export async function notYetCommand(cli: Cli, file: string | undefined, what: (engine: string) => string): Promise<number> {
  const loaded = loadForCommand(cli, file);
  engineFor(loaded.config.engine);
  throw notImplemented(what(loaded.config.engine === 'postgresql' ? 'PostgreSQL' : 'MySQL'));
}
