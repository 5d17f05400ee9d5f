import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// Code, tests and documents cite docs/semantics.md by section (§4.3), invariant (invariant 21) and
// transition (T12). This keeps every such citation pointing at an anchor that exists, and keeps the
// specification inside the repository.

const root = join(__dirname, '..', '..');
const spec = join(root, 'docs', 'semantics.md');
const textExtensions = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.md', '.cc', '.h', '.json', '.sh', '.gyp']);

function textFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    if (d.isDirectory()) return textFiles(path);
    return d.isFile() && textExtensions.has(extname(d.name)) ? [path] : [];
  });
}

/** Every file the citations may live in; this file is left out because it spells the old names. */
function sources(dirs: readonly string[]): string[] {
  return dirs.flatMap((d) => textFiles(join(root, d))).filter((f) => f !== __filename);
}

function anchors(): Set<string> {
  return new Set([...readFileSync(spec, 'utf8').matchAll(/<a id="([^"]+)"><\/a>/g)].map((m) => m[1] ?? ''));
}

interface Citation {
  readonly where: string;
  readonly anchor: string;
}

const number = String.raw`\d+(?:\.\d+)?`;
const sectionRef = new RegExp(String.raw`§\s?(${number})(?:\s?[-–]\s?(${number}))?`, 'g');
const invariantRef = /\b[Ii]nvariants?\s+\(?(\d+(?:\s*(?:[-–,/]|and)\s*\d+)*)/g;
const transitionRef = /\bT(\d{1,2})\b/g;

/** The anchors that the citations in `text` point at: §4.3 → s4-3, invariant 21 → inv-21. */
function cited(text: string, withTransitions: boolean): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(sectionRef)) {
    for (const n of [m[1], m[2]]) if (n !== undefined) out.push(`s${n.replace('.', '-')}`);
  }
  for (const m of text.matchAll(invariantRef)) {
    for (const n of m[1]?.match(/\d+/g) ?? []) out.push(`inv-${n}`);
  }
  if (withTransitions) for (const m of text.matchAll(transitionRef)) out.push(`t${m[1]}`);
  return out;
}

function citations(): Citation[] {
  return sources(['lib', 'test', 'docs']).flatMap((file) => {
    const rel = relative(root, file);
    // T<n> is also an ordinary identifier (crc32c's tables): only the DAX layer and the documents use it.
    const withTransitions = rel.startsWith('lib/dax/') || rel.startsWith('test/dax/') || rel.startsWith('docs/');
    return readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, i) => cited(line, withTransitions).map((anchor) => ({ where: `${rel}:${i + 1}`, anchor })));
  });
}

describe('citations of docs/semantics.md', () => {
  it('every cited section, invariant and transition has an anchor in docs/semantics.md', () => {
    const known = anchors();
    const all = citations();
    expect(all.filter((c) => c.anchor.startsWith('inv-')).length).toBeGreaterThan(50);
    expect(all.filter((c) => c.anchor.startsWith('s')).length).toBeGreaterThan(50);
    expect(all.filter((c) => !known.has(c.anchor))).toEqual([]);
  });

  it('invariants are numbered 1..n without gaps', () => {
    const numbers = [...anchors()].filter((a) => a.startsWith('inv-')).map((a) => Number(a.slice(4)));
    numbers.sort((a, b) => a - b);
    expect(numbers).toEqual(numbers.map((_, i) => i + 1));
    expect(numbers.length).toBeGreaterThanOrEqual(38);
  });

  it('nothing refers outside the repository for the specification', () => {
    const outside = /\bSEMANTICS\b|\.\.\/shared\b|\/work\/shared\b/;
    const files = [...sources(['lib', 'test', 'docs', 'bench', 'scripts', 'native']), join(root, 'README.md'), join(root, 'package.json')];
    const offenders = files.filter((f) => outside.test(readFileSync(f, 'utf8'))).map((f) => relative(root, f));
    expect(offenders).toEqual([]);
  });
});
