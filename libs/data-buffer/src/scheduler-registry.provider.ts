import { Module, type FactoryProvider } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';

/** Injection token of the app's own `SchedulerRegistry` (ScheduleModule's), or `null` when the app has none. */
export const APP_SCHEDULER_REGISTRY = 'data-buffer:app-scheduler-registry';

/**
 * Looks up the `SchedulerRegistry` that `ScheduleModule.forRoot()` exports, from a module that
 * provides none itself: the core module does not export its own, so the only one this lookup can
 * find is the app's. Nest creates that registry first, whatever the order of imports.
 */
@Module({
  providers: [
    {
      provide: APP_SCHEDULER_REGISTRY,
      useFactory: (registry?: SchedulerRegistry) => registry ?? null,
      inject: [{ token: SchedulerRegistry, optional: true }],
    },
  ],
  exports: [APP_SCHEDULER_REGISTRY],
})
export class AppSchedulerRegistryModule {}

/**
 * The `SchedulerRegistry` the buffers keep their lane timers in: the app's own instance when the
 * app imports `ScheduleModule`, so `app.get(SchedulerRegistry)` shows one registry whichever
 * provider of the token it finds; otherwise a registry of the module's own, so buffers work
 * without `ScheduleModule`. No subclass: every member is `@nestjs/schedule`'s.
 */
export const schedulerRegistryProvider: FactoryProvider<SchedulerRegistry> = {
  provide: SchedulerRegistry,
  useFactory: (appRegistry: SchedulerRegistry | null) => appRegistry ?? new SchedulerRegistry(),
  inject: [APP_SCHEDULER_REGISTRY],
};
