/**
 * Stable codes so the agent can map failures to status reasons without parsing messages.
 * `INVALID_*`: a name, id or address refused before it reached a command;
 * `COMMAND_FAILED`: a command exited non-zero or timed out; `BAD_OUTPUT`: a tool printed
 * something we could not parse.
 */
export type DataplaneErrorCode =
  'DATAPLANE.INVALID_NAME' | 'DATAPLANE.INVALID_ADDRESS' | 'DATAPLANE.INVALID_CONFIG' | 'DATAPLANE.COMMAND_FAILED' | 'DATAPLANE.BAD_OUTPUT';

export class DataplaneError extends Error {
  override readonly name = 'DataplaneError';

  constructor(
    readonly code: DataplaneErrorCode,
    message: string,
    /** what the command printed on stderr, when a command failed */
    readonly output?: string,
  ) {
    super(message);
  }
}
