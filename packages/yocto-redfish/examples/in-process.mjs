// Starts the Redfish service in-process with a simulated stepped meter and reads it once.
// Run after `npx tsup`: node examples/in-process.mjs
import { createRedfishService, SimulatedMeter } from '../dist/index.js';

const service = createRedfishService({
  meters: [{ id: 'sim', name: 'Simulated server', meter: new SimulatedMeter({ profile: 'steps:100@10s,300@10s' }) }],
});
const url = await service.listen();
const power = await (await fetch(`${url}/redfish/v1/Chassis/sim/Power`)).json();
console.log('PowerConsumedWatts =', power.PowerControl[0].PowerConsumedWatts);
await service.close();
