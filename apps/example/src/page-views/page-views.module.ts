import { Module } from '@nestjs/common';
import { DataBufferModule } from 'nestjs-data-buffer';
import { EXAMPLE_CONFIG, type ExampleConfig } from '../config/example-config';
import { PAGE_VIEWS_BUFFER, PAGE_VIEWS_COALESCE } from './page-views.constants';
import { PageViewsController } from './page-views.controller';
import { PageViewsFlushHandler } from './page-views-flush.handler';
import { PageViewsRepository } from './page-views.repository';

/** `POST /page-views`: a coalescing buffer (one count per path) whose batches become one counter upsert each. */
@Module({
  imports: [
    DataBufferModule.forFeatureAsync({
      name: PAGE_VIEWS_BUFFER,
      inject: [EXAMPLE_CONFIG],
      useFactory: (config: ExampleConfig) => ({ ...config.pageViews, coalesce: PAGE_VIEWS_COALESCE }),
    }),
  ],
  controllers: [PageViewsController],
  providers: [PageViewsRepository, PageViewsFlushHandler],
})
export class PageViewsModule {}
