import { Catch, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { BufferClosedError, BufferFullError, DataBufferError, FlushFailedError } from 'nestjs-data-buffer';

/**
 * Turns the buffer's errors into HTTP answers: full -> 503 with `Retry-After`, closed (shutting
 * down) -> 503, a confirmed write whose batch failed -> 503 (the batch is in the dead-letter file).
 */
@Catch(DataBufferError)
export class DataBufferExceptionFilter implements ExceptionFilter<DataBufferError> {
  private readonly logger = new Logger(DataBufferExceptionFilter.name);

  constructor(private readonly retryAfterSeconds: number) {}

  catch(error: DataBufferError, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    let status: number = HttpStatus.SERVICE_UNAVAILABLE;
    let message: string;
    if (error instanceof BufferFullError) {
      res.setHeader('Retry-After', String(this.retryAfterSeconds));
      message = `buffer "${error.buffer}" is full, retry later`;
    } else if (error instanceof BufferClosedError) {
      message = 'the service is shutting down';
    } else if (error instanceof FlushFailedError) {
      message = 'the event could not be stored; it was kept in the dead-letter file';
    } else {
      status = HttpStatus.INTERNAL_SERVER_ERROR;
      message = 'internal server error';
      this.logger.error(error.message, error.stack);
    }
    res.status(status).json({
      statusCode: status,
      error: status === HttpStatus.SERVICE_UNAVAILABLE ? 'Service Unavailable' : 'Internal Server Error',
      message,
    });
  }
}
