import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** Query of the list endpoints: `?limit=20`, 0 to 1000. */
export class ListQueryDto {
  /** Digits only become a number; anything else stays a string and fails `IsInt`. */
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' && /^\d{1,7}$/.test(value) ? Number(value) : value))
  @IsInt({ message: 'limit must be a whole number' })
  @Min(0)
  @Max(1000)
  limit?: number;
}
