import { BufferHandler, OnFlush, OnFlushError, type FlushContext } from 'nestjs-data-buffer';
import { DeadLetterService } from '../dead-letter/dead-letter.service';
import type { PageView } from './page-view.interface';
import { PAGE_VIEWS_BUFFER } from './page-views.constants';
import { PageViewsRepository } from './page-views.repository';

/**
 * The buffer coalesces by path, so a batch holds one count per path, for any number of paths: a
 * thousand views of `/pricing` and three of `/docs` become one upsert of two rows.
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
    await this.repository.addViews(new Map(views.map((view) => [view.path, view.views])), ctx.batchId);
  }

  @OnFlushError()
  async toDeadLetter(error: unknown, views: PageView[], ctx: FlushContext): Promise<void> {
    await this.deadLetter.write(error, views, ctx);
  }
}
