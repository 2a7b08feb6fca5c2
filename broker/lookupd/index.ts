/** The bundled nsqlookupd. */
export { startLookupd, type LookupdHandle } from './server.ts';
export {
  LOOKUPD_FLAGS,
  LOOKUPD_VERSION,
  LookupdOptionsSchema,
  resolveLookupdOptions,
  type LookupdFlag,
  type LookupdFlagKind,
  type LookupdOptions,
  type LookupdOptionsInput,
} from './options.ts';
export { LookupdError, LookupdErrorCode } from './errors.ts';
