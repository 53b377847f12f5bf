import { Body, Controller, Get, HttpCode, HttpStatus, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ListQueryDto } from '../common/list-query.dto';
import { CreateEventDto } from './dto/create-event.dto';
import { CreateEventsBatchDto } from './dto/create-events-batch.dto';
import { TrackQueryDto } from './dto/events-query.dto';
import { EventsRepository, type StoredEvent } from './events.repository';
import { EventsService, type TrackOutcome } from './events.service';

@Controller('events')
export class EventsController {
  constructor(
    private readonly events: EventsService,
    private readonly repository: EventsRepository,
  ) {}

  /** 202 once buffered; with `?confirm=true`, 201 once stored. The body carries the event's id. */
  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  async create(
    @Body() dto: CreateEventDto,
    @Query() query: TrackQueryDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<{ status: TrackOutcome; id: string }> {
    const result = await this.events.track(dto, query.confirm === 'true');
    if (result.status === 'stored') res.status(HttpStatus.CREATED);
    return result;
  }

  /** Up to 1000 events, all buffered or none (503 when they do not fit); the ids in the events' order. */
  @Post('batch')
  @HttpCode(HttpStatus.ACCEPTED)
  async createMany(
    @Body() dto: CreateEventsBatchDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<{ status: TrackOutcome; count: number; ids: string[] }> {
    const { status, ids } = await this.events.trackMany(dto.events);
    if (status === 'stored') res.status(HttpStatus.CREATED);
    return { status, count: ids.length, ids };
  }

  /** How many events are stored, and the latest ones. */
  @Get()
  async list(@Query() query: ListQueryDto): Promise<{ count: number; events: StoredEvent[] }> {
    const limit = query.limit ?? 20;
    const [count, events] = await Promise.all([this.repository.count(), this.repository.latest(limit)]);
    return { count, events };
  }
}
