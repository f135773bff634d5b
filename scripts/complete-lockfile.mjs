// The npm registry reachable from our build machines serves only the platform packages of linux-x64, so
// `npm install` leaves the other platforms' optional binaries (@swc/core-darwin-arm64, @rollup/rollup-win32-*...)
// out of package-lock.json, and `npm ci` then refuses the lock as out of sync. This adds the missing optional
// entries, marked with the os/cpu/libc their names state, so `npm ci` skips them on every other platform.
// Run it after any `npm install` that changes the lock: `node scripts/complete-lockfile.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;

const OS = ['darwin', 'linux', 'win32', 'android', 'freebsd', 'openbsd', 'netbsd', 'sunos', 'aix', 'openharmony'];
const CPU = ['arm64', 'x64', 'ia32', 'arm', 'ppc64', 'ppc64le', 's390x', 'riscv64', 'loong64', 'mips64el', 'wasm32'];

function platformOf(name) {
  const base = name.split('/').pop() ?? name;
  const parts = base.split('-');
  const os = OS.find((o) => parts.includes(o) || (o === 'win32' && parts.includes('windows')));
  let cpu = CPU.find((c) => parts.includes(c));
  if (cpu === undefined && parts.includes('64') && (parts.includes('darwin') || parts.includes('linux') || parts.includes('windows'))) cpu = 'x64';
  if (cpu === undefined && parts.includes('arm64')) cpu = 'arm64';
  const libc = parts.includes('musl') ? ['musl'] : parts.includes('gnu') && os === 'linux' ? ['glibc'] : undefined;
  return { os: os === undefined ? undefined : [os], cpu: cpu === undefined ? undefined : [cpu], libc };
}

let added = 0;
for (const [path, meta] of Object.entries(packages)) {
  const optional = meta.optionalDependencies;
  if (optional === undefined) continue;
  const prefix = path === '' ? 'node_modules/' : `${path}/node_modules/`;
  for (const [dep, range] of Object.entries(optional)) {
    if (packages[`${prefix}${dep}`] !== undefined || packages[`node_modules/${dep}`] !== undefined) continue;
    const { os, cpu, libc } = platformOf(dep);
    if (os === undefined && cpu === undefined) continue;
    const version = String(range).replace(/^[\^~=]/, '');
    packages[`node_modules/${dep}`] = {
      version,
      ...(cpu ? { cpu } : {}),
      dev: meta.dev === true ? true : undefined,
      ...(libc ? { libc } : {}),
      license: undefined,
      optional: true,
      ...(os ? { os } : {}),
    };
    added++;
  }
}
const sorted = Object.fromEntries(
  Object.entries(packages)
    .sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => [k, JSON.parse(JSON.stringify(v))]),
);
lock.packages = sorted;
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} optional platform entries`);
