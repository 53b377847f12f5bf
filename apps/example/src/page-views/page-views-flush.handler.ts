import { BufferHandler, OnFlush, OnFlushError, type FlushContext } from 'nestjs-data-buffer';
import { DeadLetterService } from '../dead-letter/dead-letter.service';
import type { PageView } from './page-view.interface';
import { PAGE_VIEWS_BUFFER } from './page-views.constants';
import { PageViewsRepository } from './page-views.repository';

/**
 * The buffer is keyed by path, so a batch holds the views of one page (`ctx.key`): a thousand views
 * of `/pricing` become one `views = views + 1000`.
 */
@BufferHandler(PAGE_VIEWS_BUFFER)
export class PageViewsFlushHandler {
  constructor(
    private readonly repository: PageViewsRepository,
    private readonly deadLetter: DeadLetterService,
  ) {}

  @OnFlush()
  async save(views: PageView[], ctx: FlushContext): Promise<void> {
    ctx.signal.throwIfAborted();
    const counts = new Map<string, number>();
    for (const view of views) counts.set(view.path, (counts.get(view.path) ?? 0) + 1);
    await this.repository.addViews(counts, ctx.batchId);
  }

  @OnFlushError()
  async toDeadLetter(error: unknown, views: PageView[], ctx: FlushContext): Promise<void> {
    await this.deadLetter.write(error, views, ctx);
  }
}
