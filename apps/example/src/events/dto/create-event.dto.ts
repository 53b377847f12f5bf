import { IsNotEmpty, IsObject, IsOptional, IsString, IsUUID, Length, MaxLength } from 'class-validator';
import { IsStorableJson, IsStorableText, IsZonedDateTime } from '../../common/validation/storable.decorators';
import { PAYLOAD_MAX_BYTES, PAYLOAD_MAX_DEPTH } from '../events.constants';

/** Body of `POST /events` (and one element of `POST /events/batch`, and of a broker message). */
export class CreateEventDto {
  /**
   * The event's id, a UUID. Optional: the server makes one when it is missing. Sending the same id
   * twice stores the event once, so a client that retries after a lost answer creates no duplicate.
   */
  @IsOptional()
  @IsUUID('all')
  id?: string;

  /** What happened, e.g. `signup` or `checkout.completed`. */
  @IsString()
  @Length(1, 64)
  @IsStorableText()
  type: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(256)
  @IsStorableText()
  userId: string;

  /** Any JSON object, at most `PAYLOAD_MAX_DEPTH` levels deep and `PAYLOAD_MAX_BYTES` bytes. */
  @IsOptional()
  @IsObject()
  @IsStorableJson({ maxDepth: PAYLOAD_MAX_DEPTH, maxBytes: PAYLOAD_MAX_BYTES })
  payload?: Record<string, unknown>;

  /** ISO 8601 date-time with a time zone; defaults to the time the event is received. */
  @IsOptional()
  @IsZonedDateTime()
  occurredAt?: string;
}
