#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { runDemo, type DemoEvent } from './demo.js';
import { formatComparisonTable } from './report-table.js';

const HELP = `energyrecorder demo: the whole system in one process, on the embedded store.

Usage: node examples/demo/dist/main.js [options]   (or: bash scripts/demo.sh [options])

  --exit                 end after the report instead of keeping the API up (also DEMO_EXIT=1)
  --port <n>             API port (default 8888, or the next free one)
  --step-seconds <s>     length of every step's load (default: the suite's plan, ~32 s in all)
  --data-dir <dir>       embedded store and collector spool (default ./.energyrecorder)
  --output-dir <dir>     report files (default ./demo-output)
  -h, --help             this text
`;

function parse(): { exit: boolean; port?: number; stepSeconds?: number; dataDir?: string; outputDir?: string } | undefined {
  const { values } = parseArgs({
    options: {
      exit: { type: 'boolean', default: false },
      port: { type: 'string' },
      'step-seconds': { type: 'string' },
      'data-dir': { type: 'string' },
      'output-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help === true) return undefined;
  const num = (name: string, v: string | undefined, min: number, max: number): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name}: expected a number from ${min} to ${max}, got "${v}"`);
    return n;
  };
  const port = num('port', values.port, 0, 65535);
  const stepSeconds = num('step-seconds', values['step-seconds'], 2, 60);
  return {
    exit: values.exit === true || process.env['DEMO_EXIT'] === '1',
    ...(port === undefined ? {} : { port }),
    ...(stepSeconds === undefined ? {} : { stepSeconds }),
    ...(values['data-dir'] === undefined ? {} : { dataDir: values['data-dir'] }),
    ...(values['output-dir'] === undefined ? {} : { outputDir: values['output-dir'] }),
  };
}

const tty = process.stdout.isTTY === true;

function bar(fraction: number, width = 24): string {
  const n = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `${'#'.repeat(n)}${'.'.repeat(width - n)}`;
}

function show(event: DemoEvent): void {
  switch (event.kind) {
    case 'started':
      console.log(`recording API      ${event.apiUrl}/resources  (embedded store)`);
      for (const m of event.machines) console.log(`simulated meter    ${m.id.padEnd(10)} Redfish at ${m.url}/redfish/v1/Chassis/1`);
      console.log('collector          polling the rack every 1 s through the redfish adapter');
      break;
    case 'warmup':
      console.log(`\nwarming up for ${event.seconds} s so the first step has samples before it starts...`);
      break;
    case 'step':
      if (tty) process.stdout.write('\n');
      console.log(`[${event.index}/${event.total}] ${event.scenario} / ${event.step}: load peak ${event.peakWatts} W for ${event.seconds} s`);
      break;
    case 'power': {
      const line = `      [${bar(event.elapsedS / event.seconds)}] ${event.elapsedS.toFixed(0).padStart(2)} s  rack ${event.rackWatts.toFixed(0).padStart(4)} W`;
      if (tty) process.stdout.write(`\r${line}`);
      else console.log(line);
      break;
    }
    case 'waiting-report':
      if (tty) process.stdout.write('\n');
      console.log('\nwaiting for the collector to deliver the last samples, then asking the API for the report...');
      break;
    case 'written':
      console.log(`\nreport written to ${event.files.join(' and ')}`);
      break;
  }
}

async function main(): Promise<number> {
  let opts: ReturnType<typeof parse>;
  try {
    opts = parse();
  } catch (err) {
    console.error((err as Error).message);
    console.error(HELP);
    return 2;
  }
  if (opts === undefined) {
    console.log(HELP);
    return 0;
  }
  const abort = new AbortController();
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    abort.abort(new Error('interrupted'));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let run;
  try {
    run = await runDemo({ ...opts, signal: abort.signal, onEvent: show });
  } catch (err) {
    if (interrupted) {
      console.log('\ninterrupted; everything stopped.');
      return 0;
    }
    console.error(`demo failed: ${(err as Error).message}`);
    return 1;
  }
  console.log(`\nEnergy per scenario, step and equipment (measured by the API vs the simulated profile's exact integral)\n`);
  console.log(formatComparisonTable(run.rows));
  const ok = run.maxDeviationPct <= 0.5;
  console.log(`\nlargest step deviation: ${run.maxDeviationPct.toFixed(3)} % (${ok ? 'within' : 'OUTSIDE'} the 0.5 % bound)`);
  if (opts.exit || interrupted) {
    await run.close();
    // No links here: they would point at an API that is gone.
    console.log(
      interrupted
        ? '\ninterrupted; everything stopped.'
        : '\nDone: the API has stopped (--exit). Run without --exit to keep it up with its Swagger UI (/resources/doc/) and dashboard (/).',
    );
    return ok ? 0 : 1;
  }
  console.log(`\nSwagger UI   ${run.swaggerUrl}`);
  console.log(`dashboard    ${run.dashboardUrl}`);
  console.log('\nThe API keeps running; press Ctrl-C to stop everything.');
  await new Promise<void>((res) => {
    if (abort.signal.aborted) res();
    else abort.signal.addEventListener('abort', () => res(), { once: true });
  });
  console.log('\nstopping...');
  await run.close();
  console.log('stopped.');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
