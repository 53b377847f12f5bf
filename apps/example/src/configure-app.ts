import { ValidationPipe } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DataBufferExceptionFilter } from './common/data-buffer-exception.filter';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { jsonBody } from './common/json-body.middleware';
import type { ExampleConfig } from './config/example-config';
import { PAYLOAD_MAX_DEPTH } from './events/events.constants';

/**
 * A body's depth: `{"events":[{"payload": ...}]}` puts an event's payload 3 levels down, so a batch
 * whose payloads are at their depth limit still parses, and anything deeper is refused unparsed.
 */
const BODY_MAX_DEPTH = PAYLOAD_MAX_DEPTH + 3;

/**
 * What `main.ts` and the e2e tests both apply to the app: the JSON-only body parser with its limits,
 * validation, error mapping. Create the app with `{ bodyParser: false }` (Nest's own parsers would
 * otherwise come after this one; they would then skip the parsed bodies, but take form-encoded ones).
 */
export function configureApp(app: NestExpressApplication, config: ExampleConfig): NestExpressApplication {
  // 1000 events with payloads do not fit express' default of 100 kB.
  app.use(jsonBody({ limit: '5mb', maxDepth: BODY_MAX_DEPTH }));
  app.useGlobalPipes(
    new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }),
  );
  app.useGlobalFilters(new HttpExceptionFilter(), new DataBufferExceptionFilter(config.retryAfterSeconds));
  return app;
}
