/**
 * Power units with their value in watts: what the `/report` route integrates and what the live stream converts,
 * so the live chart shows what the report counts (`test/dashboard/dashboard-server.int.test.ts` checks both on a
 * `kW` meter).
 */
export const WATTS_PER_UNIT: Readonly<Record<string, number>> = Object.freeze({ W: 1, kW: 1e3, mW: 1e-3, MW: 1e6 });
