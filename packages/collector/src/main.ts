#!/usr/bin/env node
import { runCli } from './cli.js';
import { boundHeapGrowth } from './internal/heap.js';

// Before anything allocates: the daemon's RSS otherwise settles at several times its live heap (see heap.ts).
boundHeapGrowth();

runCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
