import { Device } from '../../../lib';
import { Claims } from '../../../lib/pool/claims';

/** Does any open still hold a reader's claim on the pool at `path`? (Asked from an open of its own, as a writer asks.) */
export function claimsLeft(path: string): boolean {
  const d = Device.open(path, { readonly: true });
  try {
    return new Claims(d, 16).anyBefore();
  } finally {
    d.close();
  }
}
