import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { loadConfig } from './config/example-config';
import { configureApp } from './configure-app';

async function bootstrap(): Promise<void> {
  const config = loadConfig();
  // bodyParser: false: configureApp installs the app's own JSON-only parser.
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(config), { bodyParser: false });
  configureApp(app, config);
  // On SIGTERM/SIGINT: stop the HTTP server, flush every buffer into the database, close it, exit 0.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  await (config.host ? app.listen(config.port, config.host) : app.listen(config.port));
  const mode = config.directInsert ? 'direct-insert mode (no buffering)' : 'buffered mode';
  Logger.log(`listening on ${await app.getUrl()} in ${mode}`, 'Bootstrap');
}

bootstrap().catch((error: unknown) => {
  Logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error), 'Bootstrap');
  process.exit(1);
});
