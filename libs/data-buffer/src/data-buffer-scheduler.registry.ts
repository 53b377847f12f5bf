import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { SchedulerRegistry } from '@nestjs/schedule';

type CronJob = ReturnType<SchedulerRegistry['getCronJob']>;
type AnyCronJob = Parameters<SchedulerRegistry['addCronJob']>[1];

/**
 * The `SchedulerRegistry` the module provides so that buffers work without the app importing
 * `ScheduleModule`. When the app does import `ScheduleModule.forRoot()`, every call is passed
 * to the app's own registry, so there is one view of the timers whichever instance
 * `app.get(SchedulerRegistry)` or a provider happens to receive, and the buffers' lane timers
 * sit beside the app's own jobs.
 */
@Injectable()
export class DataBufferSchedulerRegistry extends SchedulerRegistry {
  private primary: SchedulerRegistry | undefined;

  constructor(private readonly moduleRef: ModuleRef) {
    super();
  }

  /** The app's own registry when there is one, else this one. Looked up once all providers exist. */
  private target(): SchedulerRegistry | undefined {
    if (this.primary === undefined) {
      const all = this.moduleRef.get(SchedulerRegistry, { strict: false, each: true }) as SchedulerRegistry[];
      const others = all.filter((registry) => !(registry instanceof DataBufferSchedulerRegistry));
      this.primary = others.length > 0 ? others[0] : this;
    }
    return this.primary === this ? undefined : this.primary;
  }

  override doesExist(type: 'cron' | 'timeout' | 'interval', name: string): boolean {
    return this.target()?.doesExist(type, name) ?? super.doesExist(type, name);
  }

  override getCronJob(name: string): CronJob {
    const target = this.target();
    return target ? target.getCronJob(name) : super.getCronJob(name);
  }

  override getInterval(name: string): any {
    const target = this.target();
    return target ? target.getInterval(name) : super.getInterval(name);
  }

  override getTimeout(name: string): any {
    const target = this.target();
    return target ? target.getTimeout(name) : super.getTimeout(name);
  }

  override addCronJob(name: string, job: AnyCronJob): void {
    const target = this.target();
    return target ? target.addCronJob(name, job) : super.addCronJob(name, job);
  }

  override addInterval<T = any>(name: string, intervalId: T): void {
    const target = this.target();
    return target ? target.addInterval(name, intervalId) : super.addInterval(name, intervalId);
  }

  override addTimeout<T = any>(name: string, timeoutId: T): void {
    const target = this.target();
    return target ? target.addTimeout(name, timeoutId) : super.addTimeout(name, timeoutId);
  }

  override getCronJobs(): Map<string, AnyCronJob> {
    return this.target()?.getCronJobs() ?? super.getCronJobs();
  }

  override deleteCronJob(name: string): void {
    const target = this.target();
    return target ? target.deleteCronJob(name) : super.deleteCronJob(name);
  }

  override getIntervals(): string[] {
    return this.target()?.getIntervals() ?? super.getIntervals();
  }

  override deleteInterval(name: string): void {
    const target = this.target();
    return target ? target.deleteInterval(name) : super.deleteInterval(name);
  }

  override getTimeouts(): string[] {
    return this.target()?.getTimeouts() ?? super.getTimeouts();
  }

  override deleteTimeout(name: string): void {
    const target = this.target();
    return target ? target.deleteTimeout(name) : super.deleteTimeout(name);
  }
}
