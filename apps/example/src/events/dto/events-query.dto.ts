import { IsIn, IsOptional } from 'class-validator';

/** Query of `POST /events`: `?confirm=true` waits until the event is stored. */
export class TrackQueryDto {
  @IsOptional()
  @IsIn(['true', 'false'], { message: 'confirm must be true or false' })
  confirm?: 'true' | 'false';
}
