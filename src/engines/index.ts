import type { Engine as EngineName } from '../config/types.js';
import type { Engine } from './engine.js';

/** The engine for a config, loaded on demand (each pulls in its own driver). */
export async function engineFor(name: EngineName): Promise<Engine> {
  return name === 'mysql' ? (await import('./mysql/index.js')).mysqlEngine : (await import('./postgres/index.js')).postgresEngine;
}
