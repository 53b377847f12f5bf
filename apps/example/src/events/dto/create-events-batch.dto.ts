import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, ValidateNested } from 'class-validator';
import { MAX_EVENTS_PER_REQUEST } from '../events.constants';
import { CreateEventDto } from './create-event.dto';

/** Body of `POST /events/batch`: `{ "events": [ ... ] }`, 1 to 1000 events. */
export class CreateEventsBatchDto {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_EVENTS_PER_REQUEST)
  @ValidateNested({ each: true })
  @Type(() => CreateEventDto)
  events: CreateEventDto[];
}
