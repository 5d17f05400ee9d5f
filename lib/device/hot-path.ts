import { native, type NativeDevice, type NativeHotPath } from '../native';

/**
 * The per-record calls of one device: closures over the environment's shared native functions and the
 * device's handle. Closures are ordinary garbage; native functions made per device each left a record
 * that only the next turn of the event loop freed. The handle is a bare pointer: keep the result private
 * to the owner of `device`, as Device does, so that it never outlives the native device.
 */
export function bindHotPath(device: NativeDevice): NativeHotPath {
  const fns = native.NativeDevice.hotPath;
  const handle = device.hot();
  return {
    flush: (offset, length) => fns.flush(handle, offset, length),
    drain: () => fns.drain(handle),
    persist: (offset, length) => fns.persist(handle, offset, length),
    persistRanges: (pairs) => fns.persistRanges(handle, pairs),
    copy: (offset, src, flags) => fns.copy(handle, offset, src, flags),
    move: (dst, src, length, flags) => fns.move(handle, dst, src, length, flags),
    fill: (offset, value, length, flags) => fns.fill(handle, offset, value, length, flags),
    copySafe: (offset, target) => fns.copySafe(handle, offset, target),
  };
}
