import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as source from 'nestjs-data-buffer';

const ROOT = join(__dirname, '..');
const LIB = join(ROOT, 'libs/data-buffer');

/** The library as it is published: `npm run build:lib` output plus libs/data-buffer/package.json. */
describe('the built nestjs-data-buffer package', () => {
  beforeAll(async () => {
    await promisify(execFile)(process.execPath, [require.resolve('@nestjs/cli/bin/nest.js'), 'build', 'data-buffer'], {
      cwd: ROOT,
      timeout: 120_000,
    });
  }, 150_000);

  it('has JavaScript and type declarations for both entry points named in package.json', () => {
    const pkg = JSON.parse(readFileSync(join(LIB, 'package.json'), 'utf8'));
    for (const entry of [pkg.exports['.'], pkg.exports['./terminus']]) {
      expect(existsSync(join(LIB, entry.default))).toBe(true);
      expect(existsSync(join(LIB, entry.types))).toBe(true);
    }
    expect(existsSync(join(LIB, pkg.main))).toBe(true);
    expect(existsSync(join(LIB, pkg.types))).toBe(true);
  });

  it('exports from its main entry exactly what the source entry exports, and no spec files', () => {
    const built = require(join(LIB, 'dist/index.js'));
    expect(Object.keys(built).sort()).toEqual(Object.keys(source).sort());
    expect(existsSync(join(LIB, 'dist/engine/data-buffer.spec.js'))).toBe(false);
  });

  it('keeps terminus out of the main entry and in its own', () => {
    const main = readFileSync(join(LIB, 'dist/index.js'), 'utf8');
    expect(main).not.toContain('terminus');
    const terminus = require(join(LIB, 'dist/terminus/index.js'));
    expect(typeof terminus.DataBufferHealthIndicator).toBe('function');
  });

  it('declares Nest as peer dependencies, terminus as an optional one, and nothing at run time', () => {
    const pkg = JSON.parse(readFileSync(join(LIB, 'package.json'), 'utf8'));
    expect(pkg.name).toBe('nestjs-data-buffer');
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(Object.keys(pkg.peerDependencies)).toEqual(
      expect.arrayContaining(['@nestjs/common', '@nestjs/core', '@nestjs/schedule', '@nestjs/terminus']),
    );
    expect(pkg.peerDependenciesMeta['@nestjs/terminus']).toEqual({ optional: true });
  });
});
