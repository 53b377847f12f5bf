import { HttpStatus, Logger } from '@nestjs/common';
import { json, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { jsonTextDepthExceeds } from './validation/json-limits';

/** Limits of the request bodies the app parses. */
export interface JsonBodyLimits {
  /** Most bytes of a body, as body-parser writes it (`'5mb'`). */
  limit: string;
  /** Most levels of objects and arrays in a body. */
  maxDepth: number;
}

const logger = new Logger('Http');

/** Whether the request carries a body (an empty one does not count). */
function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function refuse(req: Request, res: Response, status: number, message: string): void {
  logger.warn(`${req.method} ${req.originalUrl} ${status}: ${message}`);
  res.status(status).json({ statusCode: status, error: HttpStatus[status] ?? 'Error', message });
}

/**
 * The app's only body parser: a request that has a body must be `application/json` (415 otherwise,
 * so a form-encoded body is refused instead of half-parsed), within `limit` (413) and `maxDepth`
 * (400), and valid JSON (400). The nesting depth is read from the raw bytes before parsing, so a
 * body nested 10,000 deep never reaches a recursive step (class-transformer, the validators).
 * Every refusal is answered as JSON and logged at warn, without a stack.
 */
export function jsonBody(limits: JsonBodyLimits): RequestHandler {
  const depthError = Object.assign(new Error(`request body nests deeper than ${limits.maxDepth} levels`), {
    status: HttpStatus.BAD_REQUEST,
    type: 'entity.too.deep',
  });
  const parse = json({
    limit: limits.limit,
    verify: (_req, _res, raw) => {
      if (jsonTextDepthExceeds(raw, limits.maxDepth)) throw depthError;
    },
  });
  return function jsonParser(req: Request, res: Response, next: NextFunction): void {
    if (hasBody(req) && !req.is('application/json')) {
      refuse(req, res, HttpStatus.UNSUPPORTED_MEDIA_TYPE, `content-type must be application/json, got "${req.headers['content-type'] ?? ''}"`);
      return;
    }
    parse(req, res, (error?: unknown) => {
      if (error === undefined) return next();
      const { status, type } = error as { status?: number; type?: string };
      if (type === 'entity.too.large') refuse(req, res, HttpStatus.PAYLOAD_TOO_LARGE, `request body is larger than ${limits.limit}`);
      else if (type === 'entity.too.deep') refuse(req, res, HttpStatus.BAD_REQUEST, depthError.message);
      else if (type === 'entity.parse.failed') refuse(req, res, HttpStatus.BAD_REQUEST, 'request body is not valid JSON');
      else if (status !== undefined && status >= 400 && status < 500) refuse(req, res, status, (error as Error).message);
      else next(error);
    });
  };
}
