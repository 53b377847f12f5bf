/**
 * OpenTelemetry's batch processors, fed the bench items directly (onEmit / onEnd), exporting to
 * the same async handler as every other contender (a no-op exporter around it).
 */
import { BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface OtelConfig {
  maxExportBatchSize: number;
  scheduledDelayMillis: number;
  maxQueueSize: number;
  exportTimeoutMillis?: number;
}

/** An exporter that hands each batch to `handler` and reports success when it resolves. */
class HandlerExporter {
  constructor(private readonly handler: (items: unknown[]) => Promise<void>) {}
  export(items: unknown[], done: (result: { code: number; error?: Error }) => void): void {
    this.handler(items).then(
      () => done({ code: 0 }),
      (error: Error) => done({ code: 1, error }),
    );
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

export type LogProcessor = BatchLogRecordProcessor;
export type SpanProcessor = BatchSpanProcessor;

export function createLogProcessor(
  config: OtelConfig,
  handler: (items: unknown[]) => Promise<void>,
): BatchLogRecordProcessor {
  return new BatchLogRecordProcessor({ exporter: new HandlerExporter(handler) as never, ...config });
}

export function createSpanProcessor(
  config: OtelConfig,
  handler: (items: unknown[]) => Promise<void>,
): BatchSpanProcessor {
  return new BatchSpanProcessor(new HandlerExporter(handler) as never, config);
}

/** items queued in the processor, not yet handed to the exporter (reads a private field) */
export function queuedLogs(processor: BatchLogRecordProcessor): number {
  return (processor as unknown as { _finishedLogRecords: unknown[] })._finishedLogRecords.length;
}

export function queuedSpans(processor: BatchSpanProcessor): number {
  return (processor as unknown as { _finishedSpans: unknown[] })._finishedSpans.length;
}
