// Every sniffer has the same small, pure signature (the sniproxy idea):
// bytes in → a parsed value, "need more bytes", or a typed error naming the byte offset.
// A sniffer never throws and never reads past `buf`.

export type SniffResult<T> =
  | { status: 'ok'; value: T; /** bytes of `buf` the parsed unit spans */ length: number }
  | { status: 'more' }
  | { status: 'error'; error: SniffError };

export type Sniffer<T> = (buf: Uint8Array) => SniffResult<T>;

export type SniffErrorCode =
  | 'not-this-protocol' // the bytes are valid input, just not this protocol
  | 'malformed' // claims to be this protocol but breaks its grammar
  | 'too-large'; // over a size cap

export class SniffError {
  constructor(
    readonly code: SniffErrorCode,
    /** byte offset in the input where the problem was found */
    readonly offset: number,
    readonly message: string,
    /** the protocol field at fault, e.g. 'request-line', 'headers', 'server_name' */
    readonly field?: string,
  ) {}
  toString(): string {
    return `${this.code} at byte ${this.offset}: ${this.message}`;
  }
}

export const more = { status: 'more' } as const;
export function fail(
  code: SniffErrorCode,
  offset: number,
  message: string,
  field?: string,
): { status: 'error'; error: SniffError } {
  return { status: 'error', error: new SniffError(code, offset, message, field) };
}
export function ok<T>(value: T, length: number): { status: 'ok'; value: T; length: number } {
  return { status: 'ok', value, length };
}
