import './native-pglite';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoggerService, LogLevel } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from '../../apps/example/src/app.module';
import { loadConfig, type ExampleConfig } from '../../apps/example/src/config/example-config';
import { configureApp } from '../../apps/example/src/configure-app';
import type { Database } from '../../apps/example/src/database/database';
import { openDatabase } from '../../apps/example/src/database/database.providers';
import { uniqueSchema } from './test.utils';

/** A database the e2e suites run against: embedded PGlite always, PostgreSQL when TEST_DATABASE_URL is set. */
export interface DatabaseTarget {
  name: string;
  /** Config keys that select this database. */
  config(): Pick<ExampleConfig, 'databaseUrl' | 'databaseSchema' | 'pgliteDir'>;
}

export function databaseTargets(): DatabaseTarget[] {
  const targets: DatabaseTarget[] = [
    { name: 'PGlite', config: () => ({ databaseUrl: undefined, databaseSchema: 'public', pgliteDir: 'memory://' }) },
  ];
  const url = process.env.TEST_DATABASE_URL;
  if (url) {
    const schema = uniqueSchema('example_e2e');
    targets.push({ name: 'PostgreSQL', config: () => ({ databaseUrl: url, databaseSchema: schema, pgliteDir: 'memory://' }) });
  }
  return targets;
}

/** The app's default config with quiet, test-sized overrides. */
export function testConfig(overrides: Partial<ExampleConfig> = {}): ExampleConfig {
  const base = loadConfig({});
  return {
    ...base,
    port: 0,
    host: '127.0.0.1',
    events: { interval: 60_000, maxSize: 100, capacity: 10_000, partitions: 2 },
    pageViews: { interval: 60_000, maxSize: 100, capacity: 10_000, partitions: 2 },
    flushRetries: 0,
    retryDelay: 0,
    ...overrides,
  };
}

/** One database per suite: opened once, emptied between tests, dropped at the end. */
export class SuiteDatabase {
  db!: Database;
  private constructor(private readonly target: DatabaseTarget) {}

  static async open(target: DatabaseTarget): Promise<SuiteDatabase> {
    const suite = new SuiteDatabase(target);
    suite.db = await openDatabase({ ...testConfig(), ...target.config() });
    return suite;
  }

  async truncate(): Promise<void> {
    await this.db.exec('TRUNCATE events, page_views, page_view_batches RESTART IDENTITY');
  }

  async close(): Promise<void> {
    const { databaseUrl, databaseSchema } = this.target.config();
    if (databaseUrl) await this.db.exec(`DROP SCHEMA IF EXISTS ${databaseSchema} CASCADE`);
    await this.db.close();
  }
}

/** A running app (HTTP on 127.0.0.1, random port) on the suite's database, with its own data dir. */
export interface RunningApp {
  app: NestExpressApplication;
  url: string;
  config: ExampleConfig;
  close(): Promise<void>;
}

export async function startApp(
  target: DatabaseTarget,
  database: Database,
  overrides: Partial<ExampleConfig> = {},
  logger: LoggerService | LogLevel[] = ['fatal'],
): Promise<RunningApp> {
  const dataDir = await mkdtemp(join(tmpdir(), 'example-e2e-'));
  const config = testConfig({ ...target.config(), dataDir, ...overrides });
  const moduleRef = await Test.createTestingModule({
    imports: [AppModule.register(config, { database })],
  }).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ logger, bodyParser: false });
  configureApp(app, config);
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  return {
    app,
    url,
    config,
    close: async () => {
      await app.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
