#!/usr/bin/env node
import { runCli } from './internal/cli-run.js';

runCli(
  process.argv.slice(2),
  {
    out: (text) => process.stdout.write(text),
    err: (text) => console.error(text.replace(/\n$/, '')),
  },
  process.env,
).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
