import { Logger, type Provider } from '@nestjs/common';
import { EXAMPLE_CONFIG, type ExampleConfig } from '../config/example-config';
import { Database } from './database';
import { PgliteDatabase } from './pglite.database';
import { PostgresDatabase } from './postgres.database';
import { PRUNE_SQL, SCHEMA_SQL } from './schema';

/** Whether the app closes the database at shutdown (false when a test hands in its own). */
export const OWNS_DATABASE = Symbol('OWNS_DATABASE');

/** Opens PostgreSQL when `databaseUrl` is set, PGlite otherwise, and creates the schema. */
export async function openDatabase(config: ExampleConfig): Promise<Database> {
  const db = config.databaseUrl
    ? await PostgresDatabase.open(config.databaseUrl, config.databaseSchema, {
        queryTimeout: config.databaseQueryTimeout,
        connectTimeout: config.databaseConnectTimeout,
      })
    : await PgliteDatabase.open(config.pgliteDir);
  try {
    await db.exec(SCHEMA_SQL);
    await db.exec(PRUNE_SQL);
  } catch (error) {
    await db.close();
    throw error;
  }
  return db;
}

/** Provides `Database`: the given one, or one opened from the config. */
export function databaseProviders(database?: Database): Provider[] {
  return [
    database
      ? { provide: Database, useValue: database }
      : {
          provide: Database,
          inject: [EXAMPLE_CONFIG],
          useFactory: async (config: ExampleConfig) => {
            const db = await openDatabase(config);
            new Logger('Database').log(
              db.kind === 'postgres'
                ? `using PostgreSQL (schema ${config.databaseSchema})`
                : `using PGlite in ${config.pgliteDir}`,
            );
            return db;
          },
        },
    { provide: OWNS_DATABASE, useValue: database === undefined },
  ];
}
