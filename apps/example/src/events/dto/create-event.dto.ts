import { IsISO8601, IsNotEmpty, IsObject, IsOptional, IsString, Length, MaxLength } from 'class-validator';

/** Body of `POST /events` (and one element of `POST /events/batch`). */
export class CreateEventDto {
  /** What happened, e.g. `signup` or `checkout.completed`. */
  @IsString()
  @Length(1, 64)
  type: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  userId: string;

  /** Any JSON object. */
  @IsOptional()
  @IsObject()
  payload?: Record<string, unknown>;

  /** ISO 8601 date-time; defaults to the time the event is received. */
  @IsOptional()
  @IsISO8601({ strict: true })
  occurredAt?: string;
}
