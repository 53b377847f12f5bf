export * from './buffer-options';
export * from './buffer-options.interface';
export * from './buffer-scheduler.interface';
export * from './buffer-stats.interface';
export * from './data-buffer';
export * from './default-scheduler';
export * from './flush-context.interface';
