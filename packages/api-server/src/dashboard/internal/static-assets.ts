import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';

/** One file of the built dashboard, held in memory (the whole bundle is a few hundred kB). */
export interface StaticAsset {
  body: Buffer;
  contentType: string;
  etag: string;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

const MAX_FILES = 200;
const MAX_DEPTH = 4;

/**
 * Loads every file under `dir` into a map keyed by its `/`-separated relative path. Requests are answered only
 * from this map, so no request path ever reaches the file system (no traversal, no symlink surprises).
 */
export function loadStaticAssets(dir: string): Map<string, StaticAsset> {
  const assets = new Map<string, StaticAsset>();
  if (!existsSync(dir)) return assets;
  const walk = (current: string, depth: number): void => {
    if (depth > MAX_DEPTH) return;
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      if (assets.size >= MAX_FILES) return;
      const full = join(current, entry.name);
      if (entry.isDirectory()) {
        walk(full, depth + 1);
      } else if (entry.isFile() && statSync(full).size < 16 * 1024 * 1024) {
        const type = CONTENT_TYPES[extname(entry.name).toLowerCase()];
        if (type === undefined) continue;
        const body = readFileSync(full);
        const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
        assets.set(relative(dir, full).split(sep).join('/'), { body, contentType: type, etag });
      }
    }
  };
  walk(dir, 0);
  return assets;
}

/** Where the build puts the dashboard, seen from the bundled `dist/*.js` or from `src/dashboard/*.ts`. */
export function defaultAssetsDirCandidates(): string[] {
  return [join(__dirname, 'dashboard'), join(__dirname, '..', '..', 'dist', 'dashboard')];
}
