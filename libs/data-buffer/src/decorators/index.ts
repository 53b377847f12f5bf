export * from './buffer-handler.decorator';
export * from './inject-buffer.decorator';
export * from './on-flush-error.decorator';
export * from './on-flush.decorator';
