import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { InjectBuffer, type DataBuffer } from 'nestjs-data-buffer';
import { EXAMPLE_CONFIG, type ExampleConfig } from '../config/example-config';
import type { CreateEventDto } from './dto/create-event.dto';
import type { EventRecord } from './event-record.interface';
import { EVENTS_BUFFER } from './events.constants';
import { EventsRepository } from './events.repository';

/** `accepted`: buffered, will be stored within the buffer's interval. `stored`: in the database. */
export type TrackOutcome = 'accepted' | 'stored';

/** Takes events in: into the buffer (default), or straight into the database in direct-insert mode. */
@Injectable()
export class EventsService {
  constructor(
    @InjectBuffer(EVENTS_BUFFER) private readonly buffer: DataBuffer<EventRecord>,
    private readonly repository: EventsRepository,
    @Inject(EXAMPLE_CONFIG) private readonly config: ExampleConfig,
  ) {}

  /**
   * Buffers one event and returns at once; with `confirm`, waits until its batch is in the database.
   * Throws `BufferFullError` / `BufferClosedError` (mapped to 503) when the buffer cannot take it.
   */
  async track(dto: CreateEventDto, confirm = false): Promise<{ status: TrackOutcome; id: string }> {
    const record = toRecord(dto, new Date().toISOString());
    return { status: await this.store(record, confirm), id: record.id };
  }

  /** Buffers all the events or, when they do not all fit, none of them. */
  async trackMany(dtos: readonly CreateEventDto[]): Promise<{ status: TrackOutcome; ids: string[] }> {
    const receivedAt = new Date().toISOString();
    const records = dtos.map((dto) => toRecord(dto, receivedAt));
    const ids = records.map((record) => record.id);
    if (this.config.directInsert) {
      await this.repository.insertMany(records);
      return { status: 'stored', ids };
    }
    this.buffer.insertMany(records);
    return { status: 'accepted', ids };
  }

  /**
   * Stores one event and resolves once it is in the database or, when its batch could not be
   * written, in the dead-letter file (then it rejects with `FlushFailedError`). A broker consumer
   * acknowledges its message when this settles.
   */
  async commit(dto: CreateEventDto): Promise<EventRecord> {
    const record = toRecord(dto, new Date().toISOString());
    await this.store(record, true);
    return record;
  }

  private async store(record: EventRecord, confirm: boolean): Promise<TrackOutcome> {
    if (this.config.directInsert) {
      await this.repository.insertMany([record]);
      return 'stored';
    }
    if (confirm) {
      await this.buffer.commit(record);
      return 'stored';
    }
    this.buffer.insert(record);
    return 'accepted';
  }
}

function toRecord(dto: CreateEventDto, receivedAt: string): EventRecord {
  return {
    id: dto.id?.toLowerCase() ?? randomUUID(),
    type: dto.type,
    userId: dto.userId,
    payload: dto.payload ?? null,
    occurredAt: dto.occurredAt ?? receivedAt,
    receivedAt,
  };
}
