export { Pool } from './pool';
export { PoolFile } from './file';
export * from './types';
export type { PoolDevice, PoolDeviceFacts } from './device';
