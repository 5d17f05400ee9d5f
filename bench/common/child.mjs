// child.mjs -- what went wrong in a benchmark's child process, in one line for a table cell.

/** The thrown error's first line from a failed child's stderr (Node prints the source line above it). */
export function childError(r) {
  const text = r.stderr || '';
  const line = /^(?:\w*Error|Error \[\w+\])(?::| ).*$/m.exec(text)?.[0];
  return line ?? (r.signal ? `killed by ${r.signal}` : `exit ${r.status}`);
}
