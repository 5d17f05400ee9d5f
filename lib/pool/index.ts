export { Pool } from './pool';
export { PoolFile } from './file';
export * from './types';
