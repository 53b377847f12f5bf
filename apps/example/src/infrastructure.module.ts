import { Global, Module, type DynamicModule } from '@nestjs/common';
import { EXAMPLE_CONFIG, type ExampleConfig } from './config/example-config';
import { Database } from './database/database';
import { databaseProviders } from './database/database.providers';
import { DatabaseShutdownService } from './database/database-shutdown.service';
import { DeadLetterService } from './dead-letter/dead-letter.service';

/** The configuration, the database and the dead-letter files, available to every module. */
@Global()
@Module({})
export class InfrastructureModule {
  static forRoot(config: ExampleConfig, database?: Database): DynamicModule {
    return {
      module: InfrastructureModule,
      providers: [
        { provide: EXAMPLE_CONFIG, useValue: config },
        ...databaseProviders(database),
        DatabaseShutdownService,
        DeadLetterService,
      ],
      exports: [EXAMPLE_CONFIG, Database, DeadLetterService],
    };
  }
}
