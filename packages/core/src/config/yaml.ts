import type * as Yaml from 'yaml';

/**
 * The parts of the `yaml` package (v2) that {@link parseSettingsYaml} uses: pass `import * as YAML from 'yaml'`.
 * Taken as an argument, as core takes its dependencies, so that core's build does not carry a YAML parser of its
 * own and callers keep the one they already load.
 */
export type YamlModule = Pick<typeof Yaml, 'LineCounter' | 'isScalar' | 'parseDocument' | 'visit'>;

/** A settings file read by {@link parseSettingsYaml}: its value, and what is worth a warning in it. */
export interface SettingsYaml {
  /** The document as plain JS values (`null` for an empty file). */
  value: unknown;
  /** Repeated keys (naming the key and its lines) and the YAML parser's own warnings. */
  warnings: string[];
}

/**
 * Parses the text of a settings file (`collector-settings.yaml`, `webapp-settings.yaml`) as YAML 1.2 with the two
 * YAML 1.1 forms the original's PyYAML took that change what a file means:
 * - merge keys (`<<: *anchor`, `<<: [*a, *b]`), often used to share credentials between devices; keys written
 *   in the mapping win over merged ones, and earlier merged mappings over later ones, as in PyYAML;
 * - a key repeated in one mapping: the last value is kept, as PyYAML did, and each repetition is warned about.
 *
 * Scalars keep their YAML 1.2 meaning: `NO` stays the text it is (only boolean keys read `yes`/`no`/`on`/`off`,
 * see `configBoolean`) and `010` is ten, where YAML 1.1 read an octal eight.
 *
 * Throws the `yaml` package's `YAMLParseError` on a syntax error, as its `parse` does.
 */
export function parseSettingsYaml(text: string, yaml: YamlModule): SettingsYaml {
  const lineCounter = new yaml.LineCounter();
  const doc = yaml.parseDocument(text, { merge: true, uniqueKeys: false, lineCounter });
  const [error] = doc.errors;
  if (error !== undefined) throw error;
  const found: Array<{ line: number; text: string }> = doc.warnings.map((w) => ({
    line: w.linePos?.[0].line ?? 0,
    text: w.message.split('\n')[0] ?? w.message,
  }));
  yaml.visit(doc, {
    Map(_, map) {
      const firstLine = new Map<string, number>();
      for (const pair of map.items) {
        const key = pair.key;
        if (!yaml.isScalar(key)) continue;
        // What the key becomes in the JS object: `1` and `"1"` land on one property, so they collide too.
        const name = String(key.value);
        if (name === '<<') continue;
        const line = key.range === undefined || key.range === null ? 0 : lineCounter.linePos(key.range[0]).line;
        const first = firstLine.get(name);
        if (first === undefined) firstLine.set(name, line);
        else found.push({ line, text: `duplicate key "${name}" at line ${line} (first at line ${first}): the last value is used` });
      }
    },
  });
  // In file order: the walk meets a mapping before the mappings inside it.
  const warnings = found.sort((a, b) => a.line - b.line).map((w) => w.text);
  return { value: doc.toJS(), warnings };
}
