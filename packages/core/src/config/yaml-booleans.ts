/**
 * The booleans of YAML 1.1 that YAML 1.2 reads as strings: `yes`/`no`/`on`/`off`. The original read its settings
 * with PyYAML (YAML 1.1), so `active: no` or `ALWAYS_RECORD: yes` in an existing file meant a boolean; passed to
 * the `yaml` package's `parse` as a custom tag (`{ customTags: [YAML_11_BOOLEANS] }`), plain (unquoted) scalars
 * of these forms resolve to booleans again, and everything else still follows YAML 1.2 (quoted "yes" stays a
 * string; `y` and `n` stay strings, as in PyYAML).
 */
export const YAML_11_BOOLEANS = Object.freeze({
  tag: 'tag:yaml.org,2002:bool',
  default: true as const,
  test: /^(?:[Yy]es|YES|[Nn]o|NO|[Oo]n|ON|[Oo]ff|OFF)$/,
  identify: (value: unknown): boolean => typeof value === 'boolean',
  resolve: (text: string): boolean => /^(?:[Yy]es|YES|[Oo]n|ON)$/.test(text),
});
