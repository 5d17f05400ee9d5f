/**
 * Milliseconds of CPU this process has used (user + system). Speed bounds in tests measure this, not the
 * wall clock: on a shared machine other processes stretch wall time without the code getting slower.
 */
export function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
