import { Module } from '@nestjs/common';
import { DataBufferModule } from 'nestjs-data-buffer';
import { EXAMPLE_CONFIG, type ExampleConfig } from '../config/example-config';
import { EVENTS_BUFFER } from './events.constants';
import { EventsController } from './events.controller';
import { EventsFlushHandler } from './events-flush.handler';
import { EventsRepository } from './events.repository';
import { EventsService } from './events.service';

/** `POST /events`: many small writes in, a few bulk INSERTs out. */
@Module({
  imports: [
    DataBufferModule.forFeatureAsync({
      name: EVENTS_BUFFER,
      inject: [EXAMPLE_CONFIG],
      useFactory: (config: ExampleConfig) => ({ ...config.events }),
    }),
  ],
  controllers: [EventsController],
  providers: [EventsService, EventsRepository, EventsFlushHandler],
  exports: [EventsService],
})
export class EventsModule {}
