import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { CreateEventDto } from '../events/dto/create-event.dto';
import { ID_REQUIRED, NOT_AN_OBJECT } from './broker.messages';

/** A broker message's event: a {@link CreateEventDto} whose `id` the publisher set. */
export type BrokerEvent = CreateEventDto & { id: string };

/** The event of a broker message, or why it is refused (and the id it claimed, for the log). */
export type BrokerEventCheck = { event: BrokerEvent } | { problems: string[]; id?: string };

/**
 * Validates the `data` of a broker message exactly like the body of `POST /events` (same DTO,
 * whitelist, unknown fields refused), and requires `id`: a redelivered message must carry the same
 * id as its first delivery, or deduplication by event id could not work.
 */
export function readBrokerEvent(data: unknown): BrokerEventCheck {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return { problems: [NOT_AN_OBJECT] };
  const claimed = (data as { id?: unknown }).id;
  const id = typeof claimed === 'string' ? claimed.slice(0, 64) : undefined;
  const dto = plainToInstance(CreateEventDto, data);
  const problems = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true }).flatMap(constraintsOf);
  if (claimed === undefined) problems.unshift(ID_REQUIRED);
  return problems.length > 0 ? { problems, id } : { event: dto as BrokerEvent };
}

function constraintsOf(error: ValidationError): string[] {
  return [...Object.values(error.constraints ?? {}), ...(error.children ?? []).flatMap(constraintsOf)];
}
