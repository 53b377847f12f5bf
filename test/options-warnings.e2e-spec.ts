import { DataBufferModule } from 'nestjs-data-buffer';
import { EventsHandler, RecordingSink, useBufferTestApp } from './support/buffer-test.utils';

describe('options that contradict each other', () => {
  const testApp = useBufferTestApp();
  const warnings = () => testApp.logs.entries.filter((e) => e.level === 'warn' && e.context === 'DataBuffer').map((e) => e.message);

  it('warns at bootstrap when maxSize is above capacity, naming the buffer and both options', async () => {
    await testApp.startEvents({ maxSize: 500, capacity: 100 });
    expect(warnings()).toEqual(['Buffer "events": maxSize (500) is above capacity (100): a batch can never reach maxSize']);
  });

  it('warns when forRoot defaults and the buffer options together contradict each other', async () => {
    await testApp.start({
      imports: [DataBufferModule.forRoot({ defaults: { capacity: 50 } }), DataBufferModule.forFeature({ name: 'events', maxSize: 60 })],
      providers: [RecordingSink, EventsHandler],
    });
    expect(warnings()).toEqual([expect.stringMatching(/^Buffer "events": maxSize \(60\) is above capacity \(50\)/)]);
  });

  it('says nothing for options that agree', async () => {
    await testApp.startEvents({ maxSize: 100, capacity: 100 });
    expect(warnings()).toEqual([]);
  });
});
