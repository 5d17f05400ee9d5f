import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

// The benchmarks are run by hand and in CI only as scripts: a renamed export breaks them silently
// (bench:compare once failed every case with "does not provide an export named 'MiB'"). Every named
// import between bench modules must name an export of the module it comes from; checked by importing
// the imported module only, so no benchmark runs.
const ROOT = resolve(__dirname, '../..');

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? modules(join(dir, e.name)) : e.name.endsWith('.mjs') ? [join(dir, e.name)] : [],
  );
}

const IMPORT = /import\s*\{([^}]*)\}\s*from\s*'(\.[^']*)'/g;

describe('bench modules', () => {
  const files = modules(join(ROOT, 'bench'));
  const edges = files.flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(IMPORT)].map((m) => ({
      file,
      target: resolve(dirname(file), m[2] as string),
      names: (m[1] as string).split(',').map((n) => n.trim().split(/\s+as\s+/)[0] as string).filter((n) => n.length > 0),
    })),
  );

  it('has imports to check', () => {
    expect(edges.length).toBeGreaterThan(20);
  });

  it.each(edges.map((e) => [`${relative(ROOT, e.file)} ← ${relative(ROOT, e.target)}`, e] as const))('%s: every imported name is exported', async (_name, e) => {
    const exported = Object.keys(await import(pathToFileURL(e.target).href));
    expect(e.names.filter((n) => !exported.includes(n))).toEqual([]);
  });
});
