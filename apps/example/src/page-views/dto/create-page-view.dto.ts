import { IsString, Matches, MaxLength } from 'class-validator';
import { IsStorableText } from '../../common/validation/storable.decorators';

/** Body of `POST /page-views`. */
export class CreatePageViewDto {
  /** The page's path, e.g. `/pricing`. */
  @IsString()
  @MaxLength(2048)
  @Matches(/^\//, { message: 'path must start with "/"' })
  @IsStorableText()
  path: string;
}
