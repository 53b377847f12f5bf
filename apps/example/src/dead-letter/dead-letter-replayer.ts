import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, rename } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Logger } from '@nestjs/common';
import type { EventRecord } from '../events/event-record.interface';
import { EVENTS_BUFFER } from '../events/events.constants';
import type { EventsRepository } from '../events/events.repository';
import type { PageView } from '../page-views/page-view.interface';
import { PAGE_VIEWS_BUFFER } from '../page-views/page-views.constants';
import type { PageViewsRepository } from '../page-views/page-views.repository';
import type { DeadLetterEntry } from './dead-letter.service';

/** Counts of one buffer's replay. */
export interface ReplayCounts {
  /** Dead-letter lines read. */
  lines: number;
  /** Items written now (events: rows; page views: the views of the batches applied now). */
  stored: number;
  /** Items that were already in the database (the batch had committed before it failed, or a replay ran). */
  alreadyStored: number;
  /** Items the database refused again; their lines are back in the buffer's dead-letter file. */
  failed: number;
}

/** What a replay did, per buffer; `files` are the dead-letter files it moved aside. */
export interface ReplayReport {
  buffers: Record<string, ReplayCounts>;
  files: string[];
}

/** Events per INSERT of a replay. */
const CHUNK = 1000;

/**
 * Re-inserts the dead-letter files through the app's own repositories. Each file is first moved into
 * `dead-letter/replaying/` (so the running app starts a new file for new failures), then replayed,
 * then moved into `dead-letter/replayed/`. Writes are idempotent (events by their id, page views by
 * their batch id), so replaying a file twice, or a file whose items were partly stored, adds nothing
 * twice; a replay cut short is finished by the next one (it picks up `replaying/` too).
 */
export class DeadLetterReplayer {
  private readonly logger = new Logger('Replay');
  private readonly replaying: string;
  private readonly replayed: string;

  constructor(
    private readonly dir: string,
    private readonly events: EventsRepository,
    private readonly pageViews: PageViewsRepository,
  ) {
    this.replaying = join(dir, 'replaying');
    this.replayed = join(dir, 'replayed');
  }

  async replay(): Promise<ReplayReport> {
    const report: ReplayReport = { buffers: {}, files: [] };
    for (const file of await this.claimFiles()) {
      const entries = await this.read(file);
      for (const [buffer, items] of entries) {
        const counts = (report.buffers[buffer] ??= { lines: 0, stored: 0, alreadyStored: 0, failed: 0 });
        counts.lines += items.length;
        const failed = await this.replayBuffer(buffer, items, counts);
        if (failed.length > 0) {
          counts.failed += failed.length;
          // Back where the app keeps its dead letters: the next replay tries them again.
          await appendFile(join(this.dir, `${buffer}.ndjson`), failed.map((entry) => JSON.stringify(entry) + '\n').join(''), 'utf8');
        }
      }
      const done = join(this.replayed, basename(file));
      await rename(file, done);
      report.files.push(done);
    }
    return report;
  }

  /** Moves `<buffer>.ndjson` into `replaying/`; returns those and any left there by a replay cut short. */
  private async claimFiles(): Promise<string[]> {
    await mkdir(this.replaying, { recursive: true });
    await mkdir(this.replayed, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    for (const name of await readdir(this.dir)) {
      if (!name.endsWith('.ndjson')) continue;
      await rename(join(this.dir, name), join(this.replaying, `${name.slice(0, -'.ndjson'.length)}-${stamp}.ndjson`));
    }
    return (await readdir(this.replaying)).filter((name) => name.endsWith('.ndjson')).sort().map((name) => join(this.replaying, name));
  }

  /** The file's entries grouped by buffer; a line that is not JSON is logged and skipped. */
  private async read(file: string): Promise<Map<string, DeadLetterEntry[]>> {
    const byBuffer = new Map<string, DeadLetterEntry[]>();
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      let entry: DeadLetterEntry;
      try {
        entry = JSON.parse(line) as DeadLetterEntry;
      } catch {
        this.logger.warn(`${basename(file)}:${i + 1} is not JSON; skipped`);
        return;
      }
      const list = byBuffer.get(entry.buffer) ?? [];
      list.push(entry);
      byBuffer.set(entry.buffer, list);
    });
    return byBuffer;
  }

  private replayBuffer(buffer: string, entries: DeadLetterEntry[], counts: ReplayCounts): Promise<DeadLetterEntry[]> {
    if (buffer === EVENTS_BUFFER) return this.replayEvents(entries, counts);
    if (buffer === PAGE_VIEWS_BUFFER) return this.replayPageViews(entries, counts);
    this.logger.warn(`${entries.length} line(s) of unknown buffer "${buffer}" kept`);
    return Promise.resolve(entries);
  }

  /** Inserts the events by chunks; a chunk the database refuses is tried event by event. Returns the refused. */
  private async replayEvents(entries: DeadLetterEntry[], counts: ReplayCounts): Promise<DeadLetterEntry[]> {
    const failed: DeadLetterEntry[] = [];
    for (let start = 0; start < entries.length; start += CHUNK) {
      const chunk = entries.slice(start, start + CHUNK);
      const items = chunk.map((entry) => entry.item as EventRecord);
      try {
        const stored = await this.events.insertMany(items, `replay-${randomUUID()}`);
        counts.stored += stored;
        counts.alreadyStored += items.length - stored;
        continue;
      } catch {
        // One refused event fails the whole statement: find it.
      }
      for (const entry of chunk) {
        try {
          const stored = await this.events.insertMany([entry.item as EventRecord], `replay-${randomUUID()}`);
          counts.stored += stored;
          counts.alreadyStored += 1 - stored;
        } catch (error) {
          this.logger.warn(`event ${(entry.item as EventRecord).id} refused: ${error instanceof Error ? error.message : String(error)}`);
          failed.push(entry);
        }
      }
    }
    return failed;
  }

  /** Applies each failed batch's views under its own batch id, so a batch that did commit adds nothing. */
  private async replayPageViews(entries: DeadLetterEntry[], counts: ReplayCounts): Promise<DeadLetterEntry[]> {
    const batches = new Map<string, DeadLetterEntry[]>();
    for (const entry of entries) {
      const list = batches.get(entry.batchId) ?? [];
      list.push(entry);
      batches.set(entry.batchId, list);
    }
    const failed: DeadLetterEntry[] = [];
    for (const [batchId, batch] of batches) {
      const views = new Map<string, number>();
      let total = 0;
      for (const { item } of batch) {
        // Lines written before page-views coalesced hold one view each (`{ path, at }`, no `views`).
        const view = item as Pick<PageView, 'path'> & Partial<Pick<PageView, 'views'>>;
        const n = view.views ?? 1;
        views.set(view.path, (views.get(view.path) ?? 0) + n);
        total += n;
      }
      try {
        const changed = await this.pageViews.addViews(views, batchId);
        if (changed > 0) counts.stored += total;
        else counts.alreadyStored += total;
      } catch (error) {
        this.logger.warn(`page-view batch ${batchId} refused: ${error instanceof Error ? error.message : String(error)}`);
        failed.push(...batch);
      }
    }
    return failed;
  }
}
