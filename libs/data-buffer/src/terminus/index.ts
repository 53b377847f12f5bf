export { DataBufferHealthIndicator } from './data-buffer.health';
export type { DataBufferHealthCheckOptions, DataBufferHealthDetails } from './data-buffer-health-options.interface';
