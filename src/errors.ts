/**
 * Every error mx4map raises on purpose, each with a stable `code` to match on. Messages name the option,
 * file or input to fix; the CLI prints them as one line, without a stack trace.
 */
export type ErrorCode =
  | 'MX4MAP_CONFIG' // a configuration value, file or environment variable is wrong
  | 'MX4MAP_ENDPOINT' // a listen/connect spec cannot be parsed
  | 'MX4MAP_LISTEN' // a listener could not be opened
  | 'MX4MAP_CLIENT'; // the query client could not talk to a server

export class Mx4mapError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'Mx4mapError';
  }
}

export class ConfigError extends Mx4mapError {
  constructor(message: string) {
    super('MX4MAP_CONFIG', message);
    this.name = 'ConfigError';
  }
}

export class EndpointError extends Mx4mapError {
  constructor(message: string) {
    super('MX4MAP_ENDPOINT', message);
    this.name = 'EndpointError';
  }
}

export class ListenError extends Mx4mapError {
  constructor(message: string) {
    super('MX4MAP_LISTEN', message);
    this.name = 'ListenError';
  }
}

export class ClientError extends Mx4mapError {
  constructor(message: string) {
    super('MX4MAP_CLIENT', message);
    this.name = 'ClientError';
  }
}
