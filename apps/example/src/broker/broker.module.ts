import { Module, type DynamicModule } from '@nestjs/common';
import type { ExampleConfig } from '../config/example-config';
import { EventsModule } from '../events/events.module';
import { EventsBrokerServer } from './events-broker.server';
import { EventsConsumer } from './events.consumer';

/**
 * The broker-fed path: events from the RabbitMQ queue `amqpQueue`, stored like `POST /events`
 * with `commit()`. Imported only when `AMQP_URL` is set; `main.ts` connects the app to
 * {@link EventsBrokerServer} as a hybrid microservice.
 */
@Module({})
export class BrokerModule {
  static register(config: ExampleConfig & { amqpUrl: string }): DynamicModule {
    return {
      module: BrokerModule,
      imports: [EventsModule],
      controllers: [EventsConsumer],
      providers: [
        {
          provide: EventsBrokerServer,
          useFactory: () =>
            new EventsBrokerServer({
              url: config.amqpUrl,
              queue: config.amqpQueue,
              prefetch: config.amqpPrefetch,
              drainTimeout: config.shutdownTimeout,
            }),
        },
      ],
      exports: [EventsBrokerServer],
    };
  }
}
