import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { BUFFER_HANDLER_METADATA, ON_FLUSH_ERROR_METADATA, ON_FLUSH_METADATA } from '../data-buffer.constants';
import { getBufferToken } from '../data-buffer.utils';
import { BufferHandler, InjectBuffer, OnFlush, OnFlushError } from './index';

describe('decorators', () => {
  describe('@BufferHandler(name)', () => {
    it('writes the buffer name on the class', () => {
      @BufferHandler('events')
      class EventsHandler {}

      expect(Reflect.getMetadata(BUFFER_HANDLER_METADATA, EventsHandler)).toBe('events');
    });

    it('leaves undecorated classes alone', () => {
      @BufferHandler('events')
      class EventsHandler {}
      class Other {}

      expect(Reflect.getMetadata(BUFFER_HANDLER_METADATA, EventsHandler)).toBe('events');
      expect(Reflect.getMetadata(BUFFER_HANDLER_METADATA, Other)).toBeUndefined();
    });

    it('keeps the class usable as an ordinary provider', () => {
      @BufferHandler('events')
      class EventsHandler {
        constructor(readonly label = 'x') {}
      }

      expect(new EventsHandler('y').label).toBe('y');
    });
  });

  describe('@OnFlush() and @OnFlushError()', () => {
    class Handler {
      @OnFlush()
      save(items: number[]) {
        return items.length;
      }

      @OnFlushError()
      deadLetter(error: unknown) {
        return String(error);
      }

      plain() {
        return 'plain';
      }
    }

    it('mark only their own method', () => {
      const proto = Handler.prototype;
      expect(Reflect.getMetadata(ON_FLUSH_METADATA, proto.save)).toBe(true);
      expect(Reflect.getMetadata(ON_FLUSH_ERROR_METADATA, proto.save)).toBeUndefined();
      expect(Reflect.getMetadata(ON_FLUSH_ERROR_METADATA, proto.deadLetter)).toBe(true);
      expect(Reflect.getMetadata(ON_FLUSH_METADATA, proto.deadLetter)).toBeUndefined();
      expect(Reflect.getMetadata(ON_FLUSH_METADATA, proto.plain)).toBeUndefined();
      expect(Reflect.getMetadata(ON_FLUSH_ERROR_METADATA, proto.plain)).toBeUndefined();
    });

    it('do not change what the methods do', () => {
      const handler = new Handler();
      expect(handler.save([1, 2, 3])).toBe(3);
      expect(handler.deadLetter('boom')).toBe('boom');
    });
  });

  describe('@InjectBuffer(name)', () => {
    it('injects the provider registered under getBufferToken(name), as constructor parameter and property', async () => {
      const events = { name: 'events' };
      const audit = { name: 'audit' };

      @Injectable()
      class EventsService {
        @InjectBuffer('audit')
        readonly audit!: unknown;

        constructor(@InjectBuffer('events') readonly events: unknown) {}
      }

      const moduleRef = await Test.createTestingModule({
        providers: [
          EventsService,
          { provide: getBufferToken('events'), useValue: events },
          { provide: getBufferToken('audit'), useValue: audit },
        ],
      }).compile();

      const service = moduleRef.get(EventsService);
      expect(service.events).toBe(events);
      expect(service.audit).toBe(audit);
      await moduleRef.close();
    });
  });

  describe('getBufferToken(name)', () => {
    it('is stable per name and distinct across names', () => {
      expect(getBufferToken('events')).toBe(getBufferToken('events'));
      expect(getBufferToken('events')).not.toBe(getBufferToken('audit'));
      expect(getBufferToken('events')).not.toBe('events');
    });
  });
});
