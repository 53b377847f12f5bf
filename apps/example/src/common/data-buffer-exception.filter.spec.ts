import type { ArgumentsHost } from '@nestjs/common';
import { BufferClosedError, BufferFullError, DataBufferError, FlushFailedError } from 'nestjs-data-buffer';
import { DataBufferExceptionFilter } from './data-buffer-exception.filter';

/** Runs the filter on `error` and returns what it sent. */
function respond(error: DataBufferError): { status: number; headers: Record<string, string>; body: { message: string } } {
  const sent = { status: 0, headers: {} as Record<string, string>, body: { message: '' } };
  const res = {
    setHeader: (name: string, value: string) => (sent.headers[name] = value),
    status(code: number) {
      sent.status = code;
      return this;
    },
    json: (body: { message: string }) => (sent.body = body),
  };
  const host = { switchToHttp: () => ({ getResponse: () => res }) } as unknown as ArgumentsHost;
  new DataBufferExceptionFilter(7).catch(error, host);
  return sent;
}

describe('DataBufferExceptionFilter', () => {
  it('answers 503 with Retry-After when the buffer is full', () => {
    const sent = respond(new BufferFullError('events', 100));
    expect(sent.status).toBe(503);
    expect(sent.headers['Retry-After']).toBe('7');
    expect(sent.body.message).toBe('buffer "events" is full, retry later');
  });

  it('answers 503 without Retry-After once the buffer is closed for shutdown', () => {
    const sent = respond(new BufferClosedError('events'));
    expect(sent.status).toBe(503);
    expect(sent.headers).toEqual({});
    expect(sent.body.message).toBe('the service is shutting down');
  });

  it("answers 503 when a confirmed write's batch failed, without the database's error text", () => {
    const sent = respond(new FlushFailedError('events', new Error('duplicate key (user_id)=(alice)'), 4));
    expect(sent.status).toBe(503);
    expect(JSON.stringify(sent.body)).not.toContain('alice');
  });

  it('answers 500 for any other buffer error', () => {
    expect(respond(new DataBufferError('something else', 'events')).status).toBe(500);
  });
});
