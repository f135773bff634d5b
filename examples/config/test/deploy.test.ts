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
  build?: { context?: string; dockerfile: string };
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

  // The packages are not on npm yet: each image builds its package and the workspaces it depends on from the
  // repository (the build context is the repository root) and installs the packed tarballs in one npm command,
  // the only way npm resolves their exact-version dependencies on each other without the registry.
  it('builds every image from the repository sources and installs the packed workspaces it needs in one command', () => {
    const depsOf = (pkg: string): string[] =>
      Object.keys((JSON.parse(readFileSync(join(root, 'packages', pkg, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {})
        .filter((d) => d.startsWith('@energyrecorder/'))
        .map((d) => d.slice('@energyrecorder/'.length));
    const closure = (pkg: string, seen = new Set<string>()): Set<string> => {
      if (!seen.has(pkg)) {
        seen.add(pkg);
        for (const d of depsOf(pkg)) closure(d, seen);
      }
      return seen;
    };
    for (const [service, svc] of Object.entries(compose.services)) {
      if (svc.build === undefined) continue;
      expect({ service, context: svc.build.context }).toEqual({ service, context: '..' });
      expect({ service, exists: existsSync(join(root, svc.build.dockerfile)) }).toEqual({ service, exists: true });
    }
    for (const pkg of ['api-server', 'collector', 'yocto-redfish']) {
      const file = join('docker', `${pkg}.Dockerfile`);
      // Comments may name the published package as the alternative; the instructions must not use it.
      const text = read(file)
        .split('\n')
        .filter((l) => !l.trimStart().startsWith('#'))
        .join('\n');
      const needed = [...closure(pkg)].sort();
      expect(text).toMatch(/^FROM node:20\S* AS build$/m);
      expect(text).toMatch(/^RUN npm ci\b/m);
      expect(text).toContain(`turbo run build --filter=@energyrecorder/${pkg}...`);
      expect({ file, packed: [...text.matchAll(/-w packages\/([\w-]+)/g)].map((m) => m[1]).sort() }).toEqual({ file, packed: needed });
      expect(text.match(/npm install -g /g)).toHaveLength(1);
      const install = /npm install -g (?:[^\n]*\\\n)*[^\n]*/.exec(text)?.[0] ?? '';
      expect({ file, installed: [...install.matchAll(/\/tmp\/pkgs\/energyrecorder-([\w-]+?)-\*\.tgz/g)].map((m) => m[1]).sort() }).toEqual({ file, installed: needed });
      expect(text).not.toMatch(/@energyrecorder\/[\w-]+@/);
      expect(text).not.toMatch(/git clone|curl|wget/);
      const entry = /ENTRYPOINT \["([^"]+)"/.exec(text)?.[1];
      expect(binsOf(pkg)).toContain(entry);
      expect(read(`${file}.dockerignore`)).toMatch(/^\*\*\/node_modules$/m);
    }
    // The settings' default BIND is 127.0.0.1:8889: the container must listen on all interfaces for EXPOSE 8889.
    expect(read(join('docker', 'yocto-redfish.Dockerfile'))).toMatch(/^ENTRYPOINT \["yocto-redfish", "--host", "0\.0\.0\.0"/m);
  });

  it('creates the users the systemd units run as', () => {
    const users = [...read(join('sysusers.d', 'energyrecorder.conf')).matchAll(/^u\s+(\S+)/gm)].map((m) => m[1]);
    for (const u of readdirSync(join(deploy, 'systemd'))) {
      const user = /^User=(\S+)$/m.exec(read(join('systemd', u)))?.[1];
      expect({ unit: u, user, created: users.includes(user) }).toEqual({ unit: u, user, created: true });
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
