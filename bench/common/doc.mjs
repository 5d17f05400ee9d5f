// doc.mjs -- replaces one generated section of docs/benchmark.md, leaving the rest of the file as it is.
// Sections sit after the primitives benchmark's notes marker, which `npm run bench` keeps verbatim.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** Writes `body` between `<!-- ${id}:begin -->` and `<!-- ${id}:end -->`, appending the pair if absent. */
export function writeSection(docPath, id, body) {
  const begin = `<!-- ${id}:begin -->`;
  const end = `<!-- ${id}:end -->`;
  const text = existsSync(docPath) ? readFileSync(docPath, 'utf8') : '';
  const block = `${begin}\n\n${body.trim()}\n\n${end}`;
  const at = text.indexOf(begin);
  const until = text.indexOf(end, at);
  const next =
    at >= 0 && until > at
      ? text.slice(0, at) + block + text.slice(until + end.length)
      : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(docPath, next.endsWith('\n') ? next : `${next}\n`);
}
