// json.mjs -- one run's results as plain JSON (run.mjs --json FILE), for a reader in another process: the
// pmem guest writes it to its share and bench/compare/guest.mjs renders it on the host.
import os from 'node:os';
import { mediumOf } from '../common/env.mjs';

export function runJson({ plan, config, dirs, workloads, contenders, runs, seconds }) {
  return {
    plan,
    date: new Date().toISOString(),
    node: process.version,
    kernel: os.release(),
    cpus: os.cpus().length,
    config,
    diskMedium: `${dirs.disk}: ${mediumOf(dirs.disk)}`,
    seconds,
    workloads: workloads.map(({ id, label }) => ({ id, label })),
    contenders: contenders.map((c) => {
      const run = runs.get(c.id);
      return {
        id: c.id,
        module: c.module,
        label: c.label,
        mediumLabel: c.mediumLabel,
        skipped: run.skipped ?? null,
        info: run.info,
        describe: run.describe,
        prepareMs: run.prepareMs ?? null,
        results: Object.fromEntries(run.results),
      };
    }),
  };
}
