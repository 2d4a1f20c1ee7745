/** The option table in Markdown, generated from OPTIONS, for the README (a test keeps the two equal). */
import { OPTIONS, OPTION_NAMES, envName, fileKey, flagName } from './options.js';

export function optionTableMarkdown(): string {
  const rows = OPTION_NAMES.map((name) => {
    const spec = OPTIONS[name];
    const kind = spec.kind as { show(v: unknown): string; syntax: string };
    return `| \`${fileKey(name)}\` | \`--${flagName(name)}\` | \`${envName(name)}\` | ${kind.show(spec.default)} | ${spec.unit} | ${spec.describe}${spec.reloadable ? '' : ' *Restart to change.*'} |`;
  });
  return ['| file key | flag | environment | default | unit | meaning |', '|---|---|---|---|---|---|', ...rows].join('\n');
}
