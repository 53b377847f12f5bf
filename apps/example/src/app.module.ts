import { Module, type DynamicModule } from '@nestjs/common';
import { DataBufferModule } from 'nestjs-data-buffer';
import { BrokerModule } from './broker/broker.module';
import { loadConfig, type ExampleConfig } from './config/example-config';
import type { Database } from './database/database';
import { EventsModule } from './events/events.module';
import { HealthModule } from './health/health.module';
import { InfrastructureModule } from './infrastructure.module';
import { PageViewsModule } from './page-views/page-views.module';
import { StatsController } from './stats/stats.controller';

/** Options of {@link AppModule.register} besides the configuration. */
export interface AppModuleOptions {
  /** Use this database instead of opening one from the config; the app then leaves it open at shutdown. */
  database?: Database;
}

/** The event-ingestion service. `AppModule.register()` reads the environment; tests pass their own config. */
@Module({})
export class AppModule {
  static register(config: ExampleConfig = loadConfig(), options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      // The database module comes after the buffer modules on purpose: the buffers' two-step
      // shutdown delivers everything before any module's onApplicationShutdown closes it,
      // whatever the order of imports.
      imports: [
        DataBufferModule.forRoot({
          defaults: {
            retries: config.flushRetries,
            retryDelay: config.retryDelay,
            retryBackoff: 'exponential',
          },
          shutdownTimeout: config.shutdownTimeout,
        }),
        EventsModule,
        PageViewsModule,
        HealthModule,
        InfrastructureModule.forRoot(config, options.database),
        // The broker-fed path, only with AMQP_URL.
        ...(config.amqpUrl ? [BrokerModule.register({ ...config, amqpUrl: config.amqpUrl })] : []),
      ],
      controllers: [StatsController],
    };
  }
}
