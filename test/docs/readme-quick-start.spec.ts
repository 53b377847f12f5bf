import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const ROOT = join(__dirname, '../..');

/**
 * The `compilerOptions` of the tsconfig.json that `nest new` writes (@nestjs/schematics 11.1,
 * application template; `noImplicitAny`, `strictBindCallApply` and `noFallthroughCasesInSwitch`
 * follow `--strict`). `isolatedModules` with `emitDecoratorMetadata` is what makes a type in a
 * decorated signature need `import type` (TS1272).
 */
const nestNewCompilerOptions = (strict: boolean) => ({
  module: 'nodenext',
  moduleResolution: 'nodenext',
  resolvePackageJsonExports: true,
  esModuleInterop: true,
  isolatedModules: true,
  declaration: true,
  removeComments: true,
  emitDecoratorMetadata: true,
  experimentalDecorators: true,
  allowSyntheticDefaultImports: true,
  target: 'ES2023',
  sourceMap: true,
  outDir: './dist',
  baseUrl: './',
  incremental: true,
  skipLibCheck: true,
  strictNullChecks: true,
  forceConsistentCasingInFileNames: true,
  noImplicitAny: strict,
  strictBindCallApply: strict,
  noFallthroughCasesInSwitch: strict,
});

/** The first ```ts block after `heading` in README.md. */
function readmeBlock(heading: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "${heading}"`);
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(start));
  if (!block) throw new Error(`README.md has no ts block after "${heading}"`);
  return block[1];
}

/**
 * Type-checks `source` as `src/app.module.ts` of a project made by `nest new` (the file is
 * virtual, placed in the repository so that node_modules resolve), with `nestjs-data-buffer`
 * resolved to the library's source. Returns the diagnostics as `TS<code>: <message>` lines.
 */
function compileAsNestNewProject(source: string, strict: boolean): string[] {
  const projectDir = join(ROOT, 'nest-new-project');
  const fileName = join(projectDir, 'src/app.module.ts');
  // Type-checking only: no emit, so no incremental build info either.
  const { incremental: _incremental, ...compilerOptions } = nestNewCompilerOptions(strict);
  const { options, errors } = ts.convertCompilerOptionsFromJson(
    {
      ...compilerOptions,
      noEmit: true,
      paths: {
        'nestjs-data-buffer': [join(ROOT, 'libs/data-buffer/src/index.ts')],
        'nestjs-data-buffer/*': [join(ROOT, 'libs/data-buffer/src/*/index.ts')],
      },
    },
    projectDir,
  );
  expect(errors).toEqual([]);
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) =>
    name === fileName ? ts.createSourceFile(name, source, languageVersion, true) : getSourceFile(name, languageVersion, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === fileName || fileExists(name);
  const program = ts.createProgram([fileName], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .map((d) => `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}${d.file ? ` (${d.file.fileName})` : ''}`);
}

describe("the README's quick start in a project made by `nest new`", () => {
  const quickStart = readmeBlock('## Quick start');

  it.each([false, true])('compiles with its tsconfig (strict: %s)', (strict) => {
    expect(compileAsNestNewProject(quickStart, strict)).toEqual([]);
  });

  it('is what this test compiles: a type in a decorated signature without `import type` fails there', () => {
    const withoutImportType = quickStart.replace(/import type \{ ([^}]*FlushContext[^}]*) \} from 'nestjs-data-buffer';/, "import { $1 } from 'nestjs-data-buffer';");
    expect(withoutImportType).not.toEqual(quickStart);
    const diagnostics = compileAsNestNewProject(withoutImportType, false);
    expect(diagnostics).toEqual([expect.stringMatching(/^TS1272: /), expect.stringMatching(/^TS1272: /)]); // onFlush and onFlushError
  });

  it('rejects a DataBufferHandler whose onFlush takes other items than the buffer holds', () => {
    const mistyped = `${quickStart}
@BufferHandler('events')
export class MistypedHandler implements DataBufferHandler<EventRecord> {
  @OnFlush()
  async onFlush(items: number[]) { return items.length; }
}
`;
    expect(compileAsNestNewProject(mistyped, false)).toEqual([expect.stringMatching(/^TS2416: Property 'onFlush' in type 'MistypedHandler'/)]);
  });
});
