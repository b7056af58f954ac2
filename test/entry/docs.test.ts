/**
 * Docs in the editor: every action and crate the package exports has TSDoc with a summary and an
 * `@example` (what an editor shows on hover), read from the sources with the TypeScript compiler as an
 * editor reads them. The examples are then type-checked against the package, so one that would not
 * compile in a project file fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import ts from 'typescript';

const root = join(import.meta.dirname, '../..');
const index = join(root, 'src/index.ts');

const options: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  strict: true,
  noEmit: true,
  skipLibCheck: true,
};

test('every exported action and crate has TSDoc with a summary and an example that type-checks', () => {
  const program = ts.createProgram([index], options);
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(index)!;
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(file)!);
  const missing: string[] = [];
  const examples: Array<{ name: string; code: string }> = [];
  let checked = 0;
  for (const e of exports) {
    const s = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
    const decl = s.declarations?.[0];
    if (!decl) continue;
    const where = relative(join(root, 'src'), decl.getSourceFile().fileName);
    if (!/^(actions|crates)\//.test(where)) continue;
    // Runtime names only: functions and constants (types document themselves through their members).
    if (!(s.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Variable))) continue;
    checked++;
    const summary = ts.displayPartsToString(s.getDocumentationComment(checker)).trim();
    const tags = s.getJsDocTags(checker).filter((t) => t.name === 'example');
    if (!summary || tags.length === 0) missing.push(`${e.name} (${where}): ${!summary ? 'no summary' : 'no @example'}`);
    for (const t of tags) {
      const code = /```ts\n([\s\S]*?)```/.exec(ts.displayPartsToString(t.text))?.[1];
      if (code === undefined) missing.push(`${e.name} (${where}): the @example has no \`\`\`ts block`);
      else examples.push({ name: e.name, code });
    }
  }
  assert.ok(checked > 60, `only ${checked} actions and crates found: is the export list read right?`);
  // Every example in its own function, with every runtime export of the package in scope.
  const names = exports
    .filter((e) => (e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e).flags & ts.SymbolFlags.Value)
    .map((e) => e.name);
  const dir = mkdtempSync(join(tmpdir(), 'pallet-examples-'));
  try {
    const file = join(dir, 'examples.mts');
    writeFileSync(
      file,
      [
        `import { ${names.join(', ')} } from ${JSON.stringify(index.replace(/\.ts$/, '.js'))};`,
        'declare const privateKeyText: string;',
        ...examples.map((x, i) => `export async function example${i}_${x.name}(): Promise<void> {\n${x.code}\n}`),
      ].join('\n'),
    );
    const p = ts.createProgram([file], options);
    const errors = ts
      .getPreEmitDiagnostics(p)
      .filter((d) => d.file?.fileName === file)
      .map((d) => {
        const line = d.file!.getLineAndCharacterOfPosition(d.start!).line;
        const fn = d
          .file!.text.split('\n')
          .slice(0, line + 1)
          .reverse()
          .find((l) => l.startsWith('export async function'));
        return `${fn?.replace(/^export async function example\d+_(\w+).*/, '$1')}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
      });
    assert.deepEqual(errors, [], 'examples that do not type-check');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(missing.length, 0, `TSDoc missing:\n${missing.join('\n')}`);
});
