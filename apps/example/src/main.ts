import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { CustomStrategy } from '@nestjs/microservices';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { CONNECT_FAILED, CONSUMING } from './broker/broker.messages';
import { EventsBrokerServer } from './broker/events-broker.server';
import { loadConfig } from './config/example-config';
import { configureApp } from './configure-app';

async function bootstrap(): Promise<void> {
  const config = loadConfig();
  // bodyParser: false: configureApp installs the app's own JSON-only parser.
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(config), { bodyParser: false });
  configureApp(app, config);
  // On SIGTERM/SIGINT: stop the HTTP server, flush every buffer into the database, close it, exit 0.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  if (config.amqpUrl) {
    // Also consume the events queue. Not awaited: HTTP serves while the broker is unreachable, and
    // amqp-connection-manager keeps trying to connect. init() first, so the buffers run when the
    // first message comes.
    app.connectMicroservice<CustomStrategy>({ strategy: app.get(EventsBrokerServer) });
    await app.init();
    app
      .startAllMicroservices()
      .then(() => Logger.log(CONSUMING(config.amqpQueue, config.amqpPrefetch), 'Broker'))
      .catch((error: unknown) => Logger.error(CONNECT_FAILED(error instanceof Error ? error.message : String(error)), 'Broker'));
  }
  await (config.host ? app.listen(config.port, config.host) : app.listen(config.port));
  const mode = config.directInsert ? 'direct-insert mode (no buffering)' : 'buffered mode';
  Logger.log(`listening on ${await app.getUrl()} in ${mode}`, 'Bootstrap');
}

bootstrap().catch((error: unknown) => {
  Logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error), 'Bootstrap');
  process.exit(1);
});
