// `npm test`: every suite that can run on this machine, then one closing line with the totals.
//   1. unit + native (vitest, on the host)
//   2. native again under AddressSanitizer/UBSan, when the sanitizer build exists (`npm run build:asan`)
//   3. the package as a user installs it: npm pack, then an offline install with every compiler hidden
//   4. the real-pmem suite inside a QEMU guest, when the guest can run here (it says why when it cannot)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const results = join(root, '.cache', 'results');
rmSync(results, { recursive: true, force: true });
mkdirSync(results, { recursive: true });
const env = { ...process.env, PMEMDAX_RESULTS_DIR: results };

function run(label, command, args) {
  process.stdout.write(`\n== ${label}\n`);
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit', env });
  return r.status ?? 1;
}

const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const statuses = [];
statuses.push(run('unit and native suites', process.execPath, [vitest, 'run', '--project', 'unit', '--project', 'native',
  '--reporter=default', '--reporter=json', `--outputFile.json=${join(results, 'host.json')}`]));
const asanAddon = join(root, process.env.PMEMDAX_ADDON_DIR ?? join('build-asan', 'Debug'), 'pmemdax.node');
if (existsSync(asanAddon)) {
  statuses.push(run('native suite under AddressSanitizer/UBSan', process.execPath, [join(root, 'scripts', 'test-asan.mjs')]));
} else {
  process.stdout.write('\n== native suite under AddressSanitizer/UBSan\nasan suite skipped: the sanitizer addon is not built here (`npm run build:asan` builds it; CI does)\n');
}
statuses.push(run('package suite (npm pack, install offline with no compiler)', process.execPath, [vitest, 'run', '--project', 'package',
  '--reporter=default', '--reporter=json', `--outputFile.json=${join(results, 'package.json')}`]));
statuses.push(run('real-pmem suite in a QEMU guest', process.execPath, [join(root, 'scripts', 'test-pmem.mjs')]));

// The log's tail is often all there is to read (CI): name every failure there, with its message's first lines.
const MESSAGE_LINES = 6;

function failureLines(suite, report) {
  const lines = [];
  const excerpt = (message) => message.split('\n').filter((l) => l.trim() !== '').slice(0, MESSAGE_LINES).map((l) => `      ${l}`);
  for (const file of report.testResults ?? []) {
    const where = relative(root, file.name);
    const failedTests = (file.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const test of failedTests) {
      lines.push(`  FAIL [${suite}] ${where} > ${test.fullName}`);
      for (const message of test.failureMessages ?? []) lines.push(...excerpt(message));
    }
    // A file that failed outside any test (a syntax error, a hook, an import) has a message and no failed test.
    if (file.status === 'failed' && failedTests.length === 0) {
      lines.push(`  FAIL [${suite}] ${where} (outside any test)`);
      lines.push(...excerpt(file.message || 'no message'));
    }
  }
  return lines;
}

// Each suite leaves a vitest JSON report in PMEMDAX_RESULTS_DIR; add them up.
let passed = 0, failed = 0, skipped = 0;
const failures = [];
for (const [suite, name] of [['host', 'host.json'], ['asan', 'asan.json'], ['package', 'package.json'], ['pmem', 'pmem.json']]) {
  const file = join(results, name);
  if (!existsSync(file)) continue;
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + (report.numTodoTests ?? 0);
  failures.push(...failureLines(suite, report));
}
const ok = statuses.every((s) => s === 0);
if (!ok && failed === 0) failed = statuses.filter((s) => s !== 0).length;  // a suite that died before reporting
if (failures.length > 0) process.stdout.write(`\nFailed:\n${failures.join('\n')}\n`);
process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exit(ok ? 0 : 1);
