import { Module } from '@nestjs/common';
import { DataBufferModule } from 'nestjs-data-buffer';
import { EXAMPLE_CONFIG, type ExampleConfig } from '../config/example-config';
import { EVENTS_BUFFER } from './events.constants';
import { EventsController } from './events.controller';
import { EventsFlushHandler } from './events-flush.handler';
import { EventsRepository } from './events.repository';
import { EventsService } from './events.service';

/** `POST /events`: many small writes in, a few bulk INSERTs out; a refused event is isolated from its batch. */
@Module({
  imports: [
    DataBufferModule.forFeatureAsync({
      name: EVENTS_BUFFER,
      inject: [EXAMPLE_CONFIG],
      // splitOnFailure: one event the database refuses fails only itself; the rest of its batch is
      // written (halves retried without it, depth-first) and it alone goes to the dead-letter file.
      useFactory: (config: ExampleConfig) => ({ ...config.events, splitOnFailure: true }),
    }),
  ],
  controllers: [EventsController],
  providers: [EventsService, EventsRepository, EventsFlushHandler],
  exports: [EventsService],
})
export class EventsModule {}
