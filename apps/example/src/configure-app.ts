import { ValidationPipe } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DataBufferExceptionFilter } from './common/data-buffer-exception.filter';
import type { ExampleConfig } from './config/example-config';

/** What `main.ts` and the e2e tests both apply to the app: body limit, validation, error mapping. */
export function configureApp(app: NestExpressApplication, config: ExampleConfig): NestExpressApplication {
  // 1000 events with payloads do not fit express' default of 100 kB.
  app.useBodyParser('json', { limit: '5mb' });
  app.useGlobalPipes(
    new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }),
  );
  app.useGlobalFilters(new DataBufferExceptionFilter(config.retryAfterSeconds));
  return app;
}
