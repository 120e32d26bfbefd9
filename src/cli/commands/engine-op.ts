/** `dbferry cutover` and `dbferry cancel`: delegate to the engine, with the migration's state store. */
import { engineFor } from '../../engines/index.js';
import type { Cli } from '../io.js';
import { loadForCommand } from '../shared.js';

export async function engineCommand(cli: Cli, file: string | undefined, op: 'cutover' | 'cancel', databases: string[]): Promise<number> {
  const loaded = loadForCommand(cli, file);
  const engine = await engineFor(loaded.config.engine);
  const store = await engine.openStateStore(loaded.config);
  try {
    await engine[op](loaded.config, store, databases, cli.io.signal);
    return 0;
  } finally {
    await store.close();
  }
}
