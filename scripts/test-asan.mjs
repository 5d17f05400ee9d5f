// test-asan -- runs the native test suite against the ASan/UBSan addon built by `npm run build:asan`.
// Exits non-zero when a test fails or when any process of the run wrote a sanitizer report, even if
// the test that caused it passed. ASan reports of every process (vitest workers and the children the
// tests start) go to files through log_path. UBSan ignores log_path when it shares the process with the
// ASan runtime (GCC 12), so its reports are found on the stderr that the run shares; a child whose
// stderr a test captures still dies on its first report (-fno-sanitize-recover) and fails that test.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const addonDir = resolve(root, process.env.PMEMDAX_ADDON_DIR ?? 'build-asan/Debug');

function fail(message) {
  process.stderr.write(`test-asan: ${message}\n`);
  process.exit(2);
}

if (!existsSync(join(addonDir, 'pmemdax.node'))) {
  fail(`no pmemdax.node in ${addonDir}; run \`npm run build:asan\` first`);
}

// The runtimes must come first in the initial library list because node itself is not instrumented.
function runtime(name) {
  const r = spawnSync(process.env.CC ?? 'gcc', [`-print-file-name=${name}`], { encoding: 'utf8' });
  const path = r.status === 0 ? r.stdout.trim() : '';
  if (!path.startsWith('/') || !existsSync(path)) fail(`cannot find ${name} (gcc -print-file-name=${name})`);
  return path;
}
const preload = [runtime('libasan.so'), runtime('libubsan.so')];

const logs = mkdtempSync(join(tmpdir(), 'pmemdax-asan-'));
const asanOptions = [
  // V8 and Node keep allocations alive until exit by design; leaks are not what this run looks for.
  'detect_leaks=0',
  // The addon chains its own SIGBUS/SIGSEGV handlers (poison, write traps) and V8 uses SIGSEGV for
  // WebAssembly bounds; ASan must leave those signals to them.
  'handle_segv=0',
  'handle_sigbus=0',
  'allow_user_segv_handler=1',
  // Node starts many threads and maps large reservations; these keep ASan from rejecting either.
  'detect_stack_use_after_return=0',
  'abort_on_error=0',
  `log_path=${join(logs, 'asan')}`,
];
const ubsanOptions = ['halt_on_error=1', 'print_stacktrace=1'];

const env = {
  ...process.env,
  PMEMDAX_ADDON_DIR: addonDir,
  LD_PRELOAD: [...preload, process.env.LD_PRELOAD].filter(Boolean).join(' '),
  ASAN_OPTIONS: asanOptions.join(':'),
  UBSAN_OPTIONS: ubsanOptions.join(':'),
};

const require = createRequire(import.meta.url);
const vitest = join(dirname(require.resolve('vitest/package.json')), 'vitest.mjs');
// Under `npm test`, PMEMDAX_RESULTS_DIR collects each suite's vitest report for the closing totals.
const resultsDir = process.env.PMEMDAX_RESULTS_DIR;
const reporters = resultsDir
  ? ['--reporter=default', '--reporter=json', `--outputFile.json=${join(resultsDir, 'asan.json')}`]
  : [];
// Suites that start processes step after step (the CLI's commands, open/create races, kills, 126 readers):
// under the sanitizers each start of node costs seconds, and they reach no native code that the other
// suites do not. They took 11 of this run's 21 minutes; the host run has them.
const processHeavy = [
  'test/cli/pool.native.test.ts',
  'test/pool/open-create-race.native.test.ts',
  'test/pool/crash-kill.native.test.ts',
  'test/pool/readers/many-readers.native.test.ts',
].flatMap((f) => ['--exclude', f]);
const child = spawn(process.execPath, [vitest, 'run', '--project', 'native', ...processHeavy, ...reporters, ...process.argv.slice(2)], {
  cwd: root,
  env,
  stdio: ['inherit', 'inherit', 'pipe'],
});
// Matched per line; a report line can arrive split across chunks, so the unfinished line is kept.
const ubsanLine = /: runtime error: /;
let ubsanReports = 0;
let partial = '';
child.stderr.on('data', (chunk) => {
  process.stderr.write(chunk);
  const lines = (partial + chunk.toString('utf8')).split('\n');
  partial = lines.pop() ?? '';
  for (const line of lines) if (ubsanLine.test(line)) ubsanReports++;
});
const [status, error] = await new Promise((done) => {
  child.on('error', (err) => done([null, err]));
  child.on('close', (code) => done([code, null]));
});
if (ubsanLine.test(partial)) ubsanReports++;

const reports = readdirSync(logs).sort();
for (const name of reports) {
  process.stderr.write(`\n==== sanitizer report ${name} ====\n${readFileSync(join(logs, name), 'utf8')}`);
}
rmSync(logs, { recursive: true, force: true });

if (error) fail(`could not start vitest: ${error.message}`);
if (reports.length > 0 || ubsanReports > 0) {
  process.stderr.write(`test-asan: ${reports.length} ASan report file(s), ${ubsanReports} UBSan report(s)\n`);
  process.exit(1);
}
process.exit(status ?? 1);
