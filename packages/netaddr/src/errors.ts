/**
 * Machine-readable reason of a {@link NetaddrError}, so API layers can map
 * errors to responses without parsing messages.
 */
export type NetaddrErrorCode =
  | 'invalid_ip'
  | 'invalid_cidr'
  | 'invalid_range'
  | 'invalid_mac'
  | 'invalid_argument'
  | 'version_mismatch'
  | 'already_allocated'
  | 'not_allocated'
  | 'invalid_state';

/** The only error type thrown by this package. */
export class NetaddrError extends Error {
  override readonly name = 'NetaddrError';

  constructor(
    readonly code: NetaddrErrorCode,
    message: string,
  ) {
    super(message);
  }
}
