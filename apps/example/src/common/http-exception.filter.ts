import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';

/**
 * Answers an `HttpException` as Nest does, and logs it: a 4xx is the client's mistake, logged at
 * warn in one line without a stack; a 5xx at error with its stack.
 */
@Catch(HttpException)
export class HttpExceptionFilter implements ExceptionFilter<HttpException> {
  private readonly logger = new Logger('Http');

  catch(exception: HttpException, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const status = exception.getStatus();
    const body = exception.getResponse();
    const line = `${req.method} ${req.originalUrl} ${status}: ${describe(body)}`;
    if (status >= 500) this.logger.error(line, exception.stack);
    else this.logger.warn(line);
    res.status(status).json(typeof body === 'string' ? { statusCode: status, message: body } : body);
  }
}

/** The message(s) of a Nest error body, on one line. */
export function describe(body: string | object): string {
  if (typeof body === 'string') return body;
  const message = (body as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : JSON.stringify(body);
}
