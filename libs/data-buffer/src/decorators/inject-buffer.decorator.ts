import { Inject } from '@nestjs/common';
import { getBufferToken } from '../data-buffer.utils';

/** Injects the buffer registered as `name`: `@InjectBuffer('events') events: DataBuffer<Event>`. */
export const InjectBuffer = (name: string): PropertyDecorator & ParameterDecorator => Inject(getBufferToken(name));
