import { registerDecorator, type ValidationArguments, type ValidationOptions } from 'class-validator';
import { jsonProblem, unstorableText } from './json-limits';

/** A string the database can store as it is: no NUL character, no unpaired surrogate. */
export function IsStorableText(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isStorableText',
      target: target.constructor,
      propertyName: propertyName as string,
      options,
      validator: {
        validate: (value: unknown) => typeof value !== 'string' || unstorableText(value) === undefined,
        defaultMessage: (args: ValidationArguments) =>
          `${args.property} must not contain ${unstorableText(args.value as string)}`,
      },
    });
}

/** Limits of {@link IsStorableJson}. */
export interface JsonLimits {
  /** Most levels of objects and arrays, the value itself included. */
  maxDepth: number;
  /** Most UTF-8 bytes of the value written as JSON. */
  maxBytes: number;
}

/** A JSON value within the depth and size limits, whose keys and strings are all {@link IsStorableText}. */
export function IsStorableJson(limits: JsonLimits, options?: ValidationOptions): PropertyDecorator {
  const problemOf = (value: unknown): string | undefined => {
    const problem = jsonProblem(value, limits);
    if (problem) return problem;
    const bytes = Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
    return bytes > limits.maxBytes ? `is larger than ${limits.maxBytes} bytes as JSON (${bytes})` : undefined;
  };
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isStorableJson',
      target: target.constructor,
      propertyName: propertyName as string,
      options,
      validator: {
        validate: (value: unknown) => value === undefined || value === null || problemOf(value) === undefined,
        defaultMessage: (args: ValidationArguments) => `${args.property} ${problemOf(args.value)}`,
      },
    });
}

/**
 * An ISO 8601 date-time with a time zone (`Z` or an offset), e.g. `2024-05-01T12:00:00Z` or
 * `2024-05-01T14:00:00.123+02:00`; no week dates, ordinal dates, bare dates or local times.
 */
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.\d{1,6})?)?(?:Z|[+-](?:0\d|1[0-4])(?::?[0-5]\d)?)$/;

/** Whether `value` is an ISO 8601 date-time with a time zone naming a day that exists (no February 30). */
export function isZonedDateTime(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const match = DATE_TIME.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** See {@link isZonedDateTime}. */
export function IsZonedDateTime(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isZonedDateTime',
      target: target.constructor,
      propertyName: propertyName as string,
      options,
      validator: {
        validate: (value: unknown) => isZonedDateTime(value),
        defaultMessage: (args: ValidationArguments) =>
          `${args.property} must be an ISO 8601 date-time with a time zone, e.g. 2024-05-01T12:00:00Z`,
      },
    });
}
