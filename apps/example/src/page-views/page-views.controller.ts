import { Body, Controller, Get, HttpCode, HttpStatus, Post, Query } from '@nestjs/common';
import { InjectBuffer, type DataBuffer } from 'nestjs-data-buffer';
import { ListQueryDto } from '../common/list-query.dto';
import { CreatePageViewDto } from './dto/create-page-view.dto';
import type { PageView } from './page-view.interface';
import { PAGE_VIEWS_BUFFER } from './page-views.constants';
import { PageViewsRepository, type PageViewCount } from './page-views.repository';

@Controller('page-views')
export class PageViewsController {
  constructor(
    @InjectBuffer(PAGE_VIEWS_BUFFER) private readonly buffer: DataBuffer<PageView>,
    private readonly repository: PageViewsRepository,
  ) {}

  /** Counts one view of `path`; 202 once buffered (added to the path's pending count when it has one). */
  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  create(@Body() dto: CreatePageViewDto): { status: 'accepted' } {
    this.buffer.insert({ path: dto.path, views: 1 });
    return { status: 'accepted' };
  }

  /** The most viewed pages, as stored (views still in the buffer are not counted yet). */
  @Get()
  async top(@Query() query: ListQueryDto): Promise<PageViewCount[]> {
    return this.repository.top(query.limit ?? 20);
  }
}
