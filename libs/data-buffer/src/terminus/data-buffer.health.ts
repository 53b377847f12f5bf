import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { HEALTH_LAST_FLUSH_FAILED, HEALTH_TOO_FULL, HEALTH_UNKNOWN_BUFFER, INVALID_MAX_FILL_RATIO } from '../data-buffer.messages';
import { DataBufferRegistry } from '../data-buffer.registry';
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
      throw new RangeError(INVALID_MAX_FILL_RATIO(maxFillRatio));
    }
    const indicator = this.healthIndicatorService.check(key);
    const buffers: Record<string, DataBufferHealthDetails> = {};
    const problems: string[] = [];

    const names = options.buffers ?? this.registry.getAll().map((buffer) => buffer.name);
    for (const name of names) {
      if (!this.registry.has(name)) {
        problems.push(HEALTH_UNKNOWN_BUFFER(name));
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
        problems.push(HEALTH_TOO_FULL(name, held, stats.capacity, maxFillRatio));
      }
      if (buffer.lastFlushFailed) {
        problems.push(HEALTH_LAST_FLUSH_FAILED(name));
      }
    }

    return problems.length === 0
      ? indicator.up({ buffers })
      : indicator.down({ buffers, message: problems.join('; ') });
  }
}
