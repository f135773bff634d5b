import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/** Names a TypeScript file exports, read from its syntax (declarations and named re-exports). */
function exportedNames(file: string): Set<string> {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const names = new Set<string>();
  for (const node of source.statements) {
    if (ts.isExportDeclaration(node) && node.exportClause !== undefined && ts.isNamedExports(node.exportClause)) {
      for (const e of node.exportClause.elements) names.add(e.name.text);
    } else if (
      (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node) || ts.isFunctionDeclaration(node) || ts.isClassDeclaration(node)) &&
      node.name !== undefined &&
      ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) === true
    ) {
      names.add(node.name.text);
    }
  }
  return names;
}

const src = join(__dirname, '..', 'src');

describe('package entry (src/index.ts)', () => {
  it('exports every live stream message type declared in live-messages.ts when the README lists them as public', () => {
    const entry = exportedNames(join(src, 'index.ts'));
    const messages = [...exportedNames(join(src, 'dashboard', 'live-messages.ts'))];
    expect(messages).toEqual(expect.arrayContaining(['LivePowerMessage', 'LiveEnvironmentsMessage']));
    expect(messages.filter((name) => !entry.has(name))).toEqual([]);
    // The README's list of the stream's message types names only exported types.
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    const listed = /The stream's message types \(([^)]*)\)/.exec(readme)?.[1] ?? '';
    const names = [...listed.matchAll(/`(\w+)`/g)].map((m) => m[1] as string);
    expect(names.length).toBeGreaterThanOrEqual(5);
    expect(names.filter((name) => !entry.has(name))).toEqual([]);
  });
});
