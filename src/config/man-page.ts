/**
 * The mx4map(8) manual page in roff (man macros), generated from OPTIONS like the README's option table,
 * so the two never disagree. The package build writes it out; a test reads it back with man(1).
 */
import { OPTIONS, OPTION_NAMES, envName, fileKey, flagName } from './options.js';

/** Text made safe for roff: backslashes, leading dots and quotes, dashes that are hyphen-minus. */
function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/^([.'])/gm, '\\&$1');
}

export function manPage(version: string, date: string): string {
  const options = OPTION_NAMES.map((name) => {
    const spec = OPTIONS[name];
    const kind = spec.kind as { show(v: unknown): string; syntax: string };
    const restart = spec.reloadable ? '' : ' Restart to change.';
    return [
      '.TP',
      `.BR ${roff(fileKey(name))} " (" \\-\\-${roff(flagName(name))} ", " ${roff(envName(name))} )`,
      `${roff(spec.describe)}${restart}`,
      `Syntax: ${roff(kind.syntax)}; default: ${roff(kind.show(spec.default))}${spec.unit !== '-' ? ` (bare numbers: ${roff(spec.unit)})` : ''}.`,
    ].join('\n');
  });
  return `${[
    `.TH MX4MAP 8 "${date}" "mx4map ${roff(version)}" "System Administration"`,
    '.SH NAME',
    'mx4map \\- socketmap server routing mail for some domains over IPv4, for sendmail and Postfix',
    '.SH SYNOPSIS',
    '.B mx4map serve',
    '[\\fIoptions\\fR]',
    '.br',
    '.B mx4map lookup',
    '[\\fIoptions\\fR] \\fIdomain\\fR',
    '.br',
    '.B mx4map query',
    '[\\-\\-connect \\fIspec\\fR] [\\-\\-map \\fIname\\fR] \\fIkey\\fR...',
    '.br',
    '.B mx4map check\\-config',
    '[\\fIoptions\\fR]',
    '.br',
    '.B mx4map replay',
    '[\\-\\-connect \\fIspec\\fR] [\\-\\-http \\fIhost:port\\fR] \\fIfile\\fR|\\-',
    '.br',
    '.B mx4map export',
    '[\\-\\-http \\fIhost:port\\fR] [\\-\\-format mailertable|transport]',
    '.br',
    '.B mx4map learn',
    '[\\-\\-write \\fIfile\\fR] \\fIlog\\fR|\\-',
    '.SH DESCRIPTION',
    'sendmail asks its mailertable, and Postfix its transport table, how to route each recipient domain.',
    'For domains whose delivery over IPv6 fails \\(em an MX host that is a CNAME, or MX hosts without working',
    'IPv6 \\(em',
    '.B mx4map',
    'answers these lookups live over the socket map protocol with routes to the IPv4 addresses of their MX',
    'hosts (esmtp:[192.0.2.1]), and NOTFOUND for every other domain, so mail flows as it always did.',
    'When unsure it answers NOTFOUND.',
    'Domains that publish DANE or MTA\\-STS are not routed to IP literals (see',
    '.BR secure_domains ).',
    '.SH COMMANDS',
    '.TP',
    '.B serve',
    'Run the server. SIGHUP reloads the configuration; SIGTERM and SIGINT answer what is in flight and exit.',
    '.TP',
    '.B lookup',
    'Decide for one domain here, without a server, and print why (exit 0: answered OK, 1: NOTFOUND, 2: TEMP or an error).',
    '.TP',
    '.B query',
    'Ask a running server, as sendmail would (exit 0: all OK, 1: some NOTFOUND, 2: an error).',
    '.TP',
    '.B check\\-config',
    'Validate the configuration, including files, directories and the socket group, and print the effective',
    'values. "configuration OK" means serve will start with it.',
    '.TP',
    '.B replay',
    'Replay keys, or sendmail and Postfix log lines (their recipients), against a running server.',
    '.TP',
    '.B export',
    'Write the forced decisions of a running server as a static mailertable or transport map.',
    '.TP',
    '.B learn',
    'Read a sendmail or Postfix log and report the MX hosts that rejected mail sent over IPv6 because of our',
    'reverse DNS (no PTR, or one that does not resolve back), with their domains; \\-\\-write puts suggested',
    '.B strict_receivers',
    'patterns in a file (exit 0: some found, 1: none). It never changes the configuration.',
    '.SH OPTIONS',
    'Options come from flags, then MX4MAP_* environment variables, then the YAML file',
    '(\\-\\-config, MX4MAP_CONFIG, or /etc/mx4map/mx4map.yml), then defaults.',
    'Durations take a unit (500ms, 10s, 5m, 1h, 1d). List options are repeated flags.',
    ...options,
    '.SH FILES',
    '.TP',
    '.I /etc/mx4map/mx4map.yml',
    'The configuration: every key with its default.',
    '.TP',
    '.I /usr/share/doc/mx4map/',
    'The README and the configuration snippets for sendmail, Postfix and systemd.',
    '.SH EXIT STATUS',
    '0 on success; 2 for a usage or configuration error (one line on standard error); 70 for an internal error.',
    '.SH SEE ALSO',
    '.BR sendmail (8),',
    '.BR postfix (1),',
    '.BR transport (5),',
    '.BR socketmap_table (5)',
  ].join('\n')}\n`;
}
