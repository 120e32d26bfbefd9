#!/usr/bin/env node
// dbferry as the tests run it: bin/dbferry.js with the test probe armed from the environment
// (see probe.mjs; the real binary has no test hooks).
import { main } from '../../dist/cli/main.js';
import { DbferryError } from '../../dist/util/errors.js';
import { probeFromEnv } from './probe.mjs';

const probe = probeFromEnv(process.env, (message) => new DbferryError('MIGRATION_FAILED', message));
process.exitCode = await main(process.argv.slice(2), { probe });
