import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import * as source from 'nestjs-data-buffer';

const ROOT = join(__dirname, '..');
const LIB = join(ROOT, 'libs/data-buffer');

const SUBPATHS = ['./terminus', './opentelemetry', './testing'];

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/** The library as it is published: `npm run build:lib` output plus libs/data-buffer/package.json. */
describe('the built nestjs-data-buffer package', () => {
  beforeAll(async () => {
    await promisify(execFile)('npm', ['run', 'build:lib'], { cwd: ROOT, timeout: 120_000 });
  }, 150_000);

  it('has JavaScript and type declarations for every entry point named in package.json', () => {
    const pkg = JSON.parse(readFileSync(join(LIB, 'package.json'), 'utf8'));
    expect(Object.keys(pkg.exports)).toEqual(['.', ...SUBPATHS, './package.json']);
    for (const entry of [pkg.exports['.'], ...SUBPATHS.map((subpath) => pkg.exports[subpath])]) {
      expect(existsSync(join(LIB, entry.default))).toBe(true);
      expect(existsSync(join(LIB, entry.types))).toBe(true);
    }
    for (const subpath of SUBPATHS) {
      expect(pkg.typesVersions['*'][subpath.slice(2)]).toEqual([pkg.exports[subpath].types.slice(2)]);
    }
    expect(existsSync(join(LIB, pkg.main))).toBe(true);
    expect(existsSync(join(LIB, pkg.types))).toBe(true);
  });

  it('loads the opentelemetry and testing entries', () => {
    const otel = require(join(LIB, 'dist/opentelemetry/index.js'));
    expect(typeof otel.DataBufferOpenTelemetryModule).toBe('function');
    expect(typeof otel.instrumentDataBuffers).toBe('function');
    const testing = require(join(LIB, 'dist/testing/index.js'));
    expect(typeof testing.DataBufferTestingModule).toBe('function');
    expect(typeof testing.createFlushContext).toBe('function');
  });

  it('keeps OpenTelemetry and the testing module out of the main entry', () => {
    const mainFiles = filesUnder(join(LIB, 'dist')).filter((f) => f.endsWith('.js') && !/[/\\](opentelemetry|testing|terminus)[/\\]/.test(f));
    for (const file of mainFiles) {
      const source = readFileSync(file, 'utf8');
      expect([relative(LIB, file), source.includes('@opentelemetry/')]).toEqual([relative(LIB, file), false]);
      expect([relative(LIB, file), /require\("\.\/(opentelemetry|testing)/.test(source)]).toEqual([relative(LIB, file), false]);
    }
  });

  it('carries the MIT LICENSE of the repository', () => {
    const license = readFileSync(join(LIB, 'LICENSE'), 'utf8');
    expect(license).toEqual(readFileSync(join(ROOT, 'LICENSE'), 'utf8'));
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} nestjs-data-buffer contributors\n/);
    expect(JSON.parse(readFileSync(join(LIB, 'package.json'), 'utf8')).license).toBe('MIT');
  });

  it('has source maps that carry the sources they point at', () => {
    const maps = filesUnder(join(LIB, 'dist')).filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(20);
    for (const mapFile of maps) {
      const map = JSON.parse(readFileSync(mapFile, 'utf8'));
      expect(map.sources).toHaveLength(1);
      const source = resolve(dirname(mapFile), map.sourceRoot ?? '', map.sources[0]);
      // The source is inlined, so a debugger needs no src/ next to dist/ (src/ is not published).
      expect([relative(LIB, mapFile), map.sourcesContent?.[0]]).toEqual([relative(LIB, mapFile), readFileSync(source, 'utf8')]);
      expect(readFileSync(mapFile.replace(/\.map$/, ''), 'utf8')).toContain(`//# sourceMappingURL=${mapFile.split(/[/\\]/).pop()}`);
    }
  });

  it('packs the build, README and LICENSE, and no sources or specs', async () => {
    const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', './libs/data-buffer'], { cwd: ROOT, timeout: 60_000 });
    const [packed] = JSON.parse(stdout);
    const files: string[] = packed.files.map((f: { path: string }) => f.path);
    expect(packed.name).toBe('nestjs-data-buffer');
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.js.map', 'dist/opentelemetry/index.js', 'dist/testing/index.d.ts']));
    expect(files.filter((f) => !f.startsWith('dist/') && !['LICENSE', 'README.md', 'package.json'].includes(f))).toEqual([]);
    expect(files.filter((f) => /\.spec\.|\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
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

  it('declares Nest as peer dependencies, terminus and the OpenTelemetry API as optional ones, and nothing at run time', () => {
    const pkg = JSON.parse(readFileSync(join(LIB, 'package.json'), 'utf8'));
    expect(pkg.name).toBe('nestjs-data-buffer');
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(Object.keys(pkg.peerDependencies)).toEqual(
      expect.arrayContaining(['@nestjs/common', '@nestjs/core', '@nestjs/schedule', '@nestjs/terminus', '@opentelemetry/api']),
    );
    expect(pkg.peerDependencies['@opentelemetry/api']).toBe('^1.9.0');
    expect(pkg.peerDependenciesMeta['@nestjs/terminus']).toEqual({ optional: true });
    expect(pkg.peerDependenciesMeta['@opentelemetry/api']).toEqual({ optional: true });
  });
});
