import { Reflector } from '@nestjs/core';
import { DataBufferMetadataAccessor } from './data-buffer-metadata.accessor';
import { BufferHandler, OnFlush, OnFlushError } from './decorators';

@BufferHandler('events')
class EventsHandler {
  @OnFlush()
  save() {}

  @OnFlushError()
  deadLetter() {}

  helper() {}
}

class PlainService {
  save() {}
}

describe('DataBufferMetadataAccessor', () => {
  const accessor = new DataBufferMetadataAccessor(new Reflector());

  it('reads the buffer name of a @BufferHandler class', () => {
    expect(accessor.getHandlerBuffer(EventsHandler)).toBe('events');
  });

  it('returns undefined for a class that is not a handler', () => {
    expect(accessor.getHandlerBuffer(PlainService)).toBeUndefined();
  });

  it('tells @OnFlush methods from the others', () => {
    expect(accessor.isOnFlush(EventsHandler.prototype.save)).toBe(true);
    expect(accessor.isOnFlush(EventsHandler.prototype.deadLetter)).toBe(false);
    expect(accessor.isOnFlush(EventsHandler.prototype.helper)).toBe(false);
    expect(accessor.isOnFlush(PlainService.prototype.save)).toBe(false);
  });

  it('tells @OnFlushError methods from the others', () => {
    expect(accessor.isOnFlushError(EventsHandler.prototype.deadLetter)).toBe(true);
    expect(accessor.isOnFlushError(EventsHandler.prototype.save)).toBe(false);
    expect(accessor.isOnFlushError(EventsHandler.prototype.helper)).toBe(false);
  });

  it('reads metadata per class: two handlers of different buffers do not mix', () => {
    @BufferHandler('audit')
    class AuditHandler {
      @OnFlush()
      save() {}
    }

    expect(accessor.getHandlerBuffer(AuditHandler)).toBe('audit');
    expect(accessor.getHandlerBuffer(EventsHandler)).toBe('events');
  });
});
