import {
  BadRequestException,
  Body,
  Controller,
  DefaultValuePipe,
  Get,
  HttpCode,
  HttpStatus,
  ParseBoolPipe,
  ParseIntPipe,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import type { Response } from 'express';
import { CreateEventDto } from './dto/create-event.dto';
import { CreateEventsBatchDto } from './dto/create-events-batch.dto';
import { EventsRepository, type StoredEvent } from './events.repository';
import { EventsService, type TrackOutcome } from './events.service';

@Controller('events')
export class EventsController {
  constructor(
    private readonly events: EventsService,
    private readonly repository: EventsRepository,
  ) {}

  /** 202 once buffered; with `?confirm=true`, 201 once stored. */
  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  async create(
    @Body() dto: CreateEventDto,
    @Res({ passthrough: true }) res: Response,
    @Query('confirm', new ParseBoolPipe({ optional: true })) confirm?: boolean,
  ): Promise<{ status: TrackOutcome }> {
    const status = await this.events.track(dto, confirm ?? false);
    if (status === 'stored') res.status(HttpStatus.CREATED);
    return { status };
  }

  /** Up to 1000 events, all buffered or none (503 when they do not fit). */
  @Post('batch')
  @HttpCode(HttpStatus.ACCEPTED)
  async createMany(
    @Body() dto: CreateEventsBatchDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<{ status: TrackOutcome; count: number }> {
    const status = await this.events.trackMany(dto.events);
    if (status === 'stored') res.status(HttpStatus.CREATED);
    return { status, count: dto.events.length };
  }

  /** How many events are stored, and the latest ones. */
  @Get()
  async list(
    @Query('limit', new DefaultValuePipe(20), ParseIntPipe) limit: number,
  ): Promise<{ count: number; events: StoredEvent[] }> {
    if (limit < 0 || limit > 1000) throw new BadRequestException('limit must be between 0 and 1000');
    const [count, events] = await Promise.all([this.repository.count(), this.repository.latest(limit)]);
    return { count, events };
  }
}
