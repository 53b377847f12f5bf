/** The injection token of the buffer named `name`. */
export function getBufferToken(name: string): string {
  return `DataBuffer:${name}`;
}

/** The injection token of the options of the buffer named `name`. */
export function getBufferOptionsToken(name: string): string {
  return `DataBufferOptions:${name}`;
}
