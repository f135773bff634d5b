// Starts a local recording API, runs the Jest suite with only NODE_NAME and ENERGY_RECORDER_API_URL set, then
// prints what was stored, using the SDK's own client. Needs `npm run build` in packages/sdk and packages/api-server.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApiServer } from '@energyrecorder/api-server';
import { EnergyRecorder, formatReportTable } from '@energyrecorder/sdk';

const here = dirname(fileURLToPath(import.meta.url));
const jestBin = createRequire(import.meta.url).resolve('jest/bin/jest');

const api = createApiServer({ port: 0, host: '127.0.0.1' });
const apiUrl = `${await api.listen()}/resources`;
try {
  const env = { ...process.env, NODE_NAME: 'example-pod', ENERGY_RECORDER_API_URL: apiUrl };
  const code = await new Promise((resolve) => {
    const child = execFile(process.execPath, [jestBin, '--ci'], { cwd: here, env }, (err) => resolve(err ? 1 : 0));
    child.stdout.pipe(process.stdout);
    child.stderr.pipe(process.stderr);
  });
  if (code !== 0) throw new Error('the Jest suite failed');

  const recorder = new EnergyRecorder({ environment: 'example-pod', apiUrl });
  const { sessions } = (await recorder.sessions()) ?? { sessions: [] };
  for (const s of sessions) console.log(`${s.scenario}: ${s.steps.map((st) => st.step).join(' -> ')}`);
  const report = await recorder.report({ waitMs: 0 });
  // No collector runs in this example, so the report has steps but no equipment.
  if (report !== null) console.log(formatReportTable(report));
  if (sessions.length !== 1 || sessions[0].steps.length !== 3) throw new Error('expected one session with three steps');
} finally {
  await api.close();
}
