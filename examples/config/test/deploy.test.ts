import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { builtinAdapters } from '@energyrecorder/adapters';
import { parseWebappSettings } from '@energyrecorder/api-server';
import { parseCollectorConfigText } from '@energyrecorder/collector';
import { createAdapterRegistry } from '@energyrecorder/core';

// Docker cannot run on the build machine, so this checks what can be checked without it: every file the
// layout mounts exists and loads through the real schemas, and every image and unit starts a program that
// the published package really ships.
const root = join(__dirname, '..', '..', '..');
const deploy = join(root, 'deploy');
const read = (p: string): string => readFileSync(join(deploy, p), 'utf8');
const binsOf = (pkg: string): string[] =>
  Object.keys((JSON.parse(readFileSync(join(root, 'packages', pkg, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin);

interface ComposeService {
  image?: string;
  build?: { dockerfile: string };
  volumes?: string[];
}

describe('deploy/', () => {
  const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };

  it('runs two API replicas behind nginx, InfluxDB 1.8, Mosquitto and one collector per environment', () => {
    const s = compose.services;
    expect(Object.keys(s).sort()).toEqual(['api-1', 'api-2', 'collector-pod-1', 'collector-pod-2', 'influxdb', 'lb', 'mosquitto']);
    expect(s['influxdb']?.image).toBe('influxdb:1.8');
    expect(read('nginx/nginx.conf')).toMatch(/server api-1:8888[^;]*;\s*server api-2:8888/);
  });

  it('mounts only files that exist and that load through the real schemas', () => {
    const registry = createAdapterRegistry([...builtinAdapters]);
    for (const svc of Object.values(compose.services)) {
      for (const v of svc.volumes ?? []) {
        const [src = '', dst = ''] = v.split(':');
        if (!src.startsWith('./')) continue;
        const file = join(deploy, src);
        expect({ file, exists: existsSync(file) }).toEqual({ file, exists: true });
        if (dst.endsWith('webapp-settings.yaml')) expect(() => parseWebappSettings(parseYaml(readFileSync(file, 'utf8')), src)).not.toThrow();
        if (dst.endsWith('collector-settings.yaml')) expect(() => parseCollectorConfigText(readFileSync(file, 'utf8'), registry, src)).not.toThrow();
      }
    }
  });

  it('gives each collector its own environment when there are several', () => {
    const envs = ['collector-pod-1.yaml', 'collector-pod-2.yaml'].map(
      (f) => (parseYaml(read(join('config', f))) as { PODS: Array<{ environment: string }> }).PODS.map((p) => p.environment),
    );
    expect(envs).toEqual([['pod-1'], ['pod-2']]);
  });

  it('builds every image from the published package at a pinned version and starts a shipped program', () => {
    const images: Record<string, string> = { 'api-server': 'api-server', collector: 'collector', 'yocto-redfish': 'yocto-redfish' };
    for (const [file, pkg] of Object.entries(images)) {
      const text = read(join('docker', `${file}.Dockerfile`));
      expect(text).toContain(`npm install -g --omit=dev --no-audit --no-fund "@energyrecorder/${pkg}@\${VERSION}"`);
      expect(text).not.toMatch(/git clone|curl|wget/);
      const entry = /ENTRYPOINT \["([^"]+)"/.exec(text)?.[1];
      expect(binsOf(pkg)).toContain(entry);
    }
  });

  it('has a systemd unit per server that checks its config before starting a shipped program', () => {
    const units = readdirSync(join(deploy, 'systemd'));
    expect(units.sort()).toEqual(['energyrecorder-api.service', 'energyrecorder-collector@.service', 'yocto-redfish.service']);
    const bins = [...binsOf('api-server'), ...binsOf('collector'), ...binsOf('yocto-redfish')];
    for (const u of units) {
      const text = read(join('systemd', u));
      const start = /^ExecStart=\/usr\/bin\/env (\S+)/m.exec(text)?.[1];
      expect(bins).toContain(start);
      expect(text).toMatch(new RegExp(`^ExecStartPre=/usr/bin/env ${start} .*--check-config$`, 'm'));
    }
  });
});
