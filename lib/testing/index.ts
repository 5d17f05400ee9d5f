export * from './memory-device';
export * from './memfs-inode';
export * from './memfs-alloc';
export * from './memfs-ops';
export * from './memfs';
export * from '../dax/invalidate-lock';
export * from './memfs-file';
export * from './strict-device';
