import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { DataBufferRegistry } from '../index';
import type { DataBufferHealthCheckOptions, DataBufferHealthDetails } from './data-buffer-health-options.interface';

const DEFAULT_MAX_FILL_RATIO = 0.9;

/**
 * Terminus health indicator for the registered data buffers: down when a buffer is filled past
 * `maxFillRatio` of its capacity or when its most recent flush ended in `@OnFlushError`.
 */
@Injectable()
export class DataBufferHealthIndicator {
  constructor(
    private readonly registry: DataBufferRegistry,
    private readonly healthIndicatorService: HealthIndicatorService,
  ) {}

  /** Checks the buffers (all, or `options.buffers`) and returns terminus' result under `key`. */
  checkBuffers<const Key extends string>(
    key: Key,
    options: DataBufferHealthCheckOptions = {},
  ): HealthIndicatorResult<Key> {
    const maxFillRatio = options.maxFillRatio ?? DEFAULT_MAX_FILL_RATIO;
    if (typeof maxFillRatio !== 'number' || !(maxFillRatio > 0 && maxFillRatio <= 1)) {
      throw new RangeError(`maxFillRatio must be a number in (0, 1], got ${String(maxFillRatio)}`);
    }
    const indicator = this.healthIndicatorService.check(key);
    const buffers: Record<string, DataBufferHealthDetails> = {};
    const problems: string[] = [];

    const names = options.buffers ?? this.registry.getAll().map((buffer) => buffer.name);
    for (const name of names) {
      if (!this.registry.has(name)) {
        problems.push(`${name}: no such buffer is registered`);
        continue;
      }
      const buffer = this.registry.get(name);
      const stats = buffer.stats();
      buffers[name] = {
        pending: stats.pending,
        inFlight: stats.inFlight,
        capacity: stats.capacity,
        failed: stats.failed,
        dropped: stats.dropped,
        lastFlushAt: stats.lastFlushAt,
      };
      const held = stats.pending + stats.inFlight;
      if (held >= maxFillRatio * stats.capacity) {
        problems.push(`${name}: holds ${held} of ${stats.capacity} items (max fill ratio ${maxFillRatio})`);
      }
      if (buffer.lastFlushFailed) {
        // The error's message is left out on purpose: a sink's error can quote the items it refused.
        problems.push(`${name}: its most recent flush failed`);
      }
    }

    return problems.length === 0
      ? indicator.up({ buffers })
      : indicator.down({ buffers, message: problems.join('; ') });
  }
}
