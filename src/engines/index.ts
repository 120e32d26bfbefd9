import type { Engine as EngineName } from '../config/types.js';
import type { Engine } from './engine.js';
import { mysqlEngine } from './mysql/index.js';
import { postgresEngine } from './postgres/index.js';

export function engineFor(name: EngineName): Engine {
  return name === 'mysql' ? mysqlEngine : postgresEngine;
}
