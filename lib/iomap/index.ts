export * from './constants';
export * from './errno';
export * from './types';
export * from './iter';
export * from './seek';
export * from './fiemap';
export * from './bmap';
export * from './swapfile';
