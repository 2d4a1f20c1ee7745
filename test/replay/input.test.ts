import { maillogDomains, parentWalk, parseReplayLine } from '../../src/replay/input';
import { LatencyRecorder, figuresDelta, parsePrometheus, serverFigures } from '../../src/replay/stats';

describe('replay input', () => {
  test("sendmail's walk: the full name, then each parent, then '.'", () => {
    expect(parentWalk('a.b.example.com')).toEqual(['a.b.example.com', '.b.example.com', '.example.com', '.com', '.']);
  });

  test('recipient domains from to= only: several recipients, each once; not from=, ctladdr=, msgid or relay', () => {
    const from =
      'Nov 25 10:00:01 mx sendmail[123]: 5APA01: from=<Alice@Example.ORG>, size=1234, class=0, nrcpts=2, msgid=<abc@mail.example.org>, proto=ESMTP, daemon=MTA, relay=client.example.net [192.0.2.5]';
    const to =
      'Nov 25 10:00:02 mx sendmail[124]: 5APA01: to=<bob@a.example.com>,<carol@b.example.net>,<eve@A.Example.com>, ctladdr=<root@mx.example.org> (0/0), delay=00:00:01, xdelay=00:00:01, mailer=esmtp, pri=121234, relay=mx.a.example.com. [192.0.2.7], dsn=2.0.0, stat=Sent (ok)';
    expect(maillogDomains(from)).toEqual([]);
    expect(maillogDomains(to)).toEqual(['a.example.com', 'b.example.net']);
    expect(maillogDomains('... to=dave@[192.0.2.1], delay=0')).toEqual([]);
    const postfix =
      'Nov 25 10:00:03 mx postfix/smtp[99]: 4XyZ: to=<frank@c.example.org>, relay=mx.c.example.org[192.0.2.9]:25, delay=0.4, dsn=2.0.0, status=sent (250 ok)';
    expect(maillogDomains(postfix)).toEqual(['c.example.org']);
  });

  test('line kinds: a log line with recipients, a log line without (skipped), KEY, MAP KEY, comments', () => {
    const chains = (line: string) => parseReplayLine(line, 'mailertable');
    expect(chains('example.com')).toEqual({ kind: 'chains', chains: [{ map: 'mailertable', keys: ['example.com'] }] });
    expect(chains('transport user@example.com')).toEqual({ kind: 'chains', chains: [{ map: 'transport', keys: ['user@example.com'] }] });
    expect(chains('# comment')).toEqual({ kind: 'chains', chains: [] });
    expect(chains('   ')).toEqual({ kind: 'chains', chains: [] });
    expect(chains('x sendmail[1]: q: to=<u@a.test>, stat=Sent')).toEqual({ kind: 'chains', chains: [{ map: 'mailertable', keys: ['a.test', '.test', '.'] }] });
    for (const line of [
      'Nov 25 10:00:00 mx sendmail[12]: starting daemon (8.17.1.9): SMTP+queueing@00:30:00',
      'Nov 25 10:00:01 mx sendmail[13]: 5APA01: from=<a@b.example>, size=1, class=0, nrcpts=1',
      'Nov 25 10:00:01 mx sm-mta[13]: 5APA01: from=<>, size=1, class=0, nrcpts=1, relay=localhost [127.0.0.1]',
      '2026-11-25T10:00:01.123456+00:00 mx postfix/smtpd[7]: connect from unknown[192.0.2.1]',
      'Nov 25 10:00:02 mx sendmail[13]: 5APA01: done',
      // Neither KEY nor MAP KEY: it used to be asked as map "garbage", key "line with no recipient".
      'garbage line with no recipient',
    ]) {
      expect(chains(line)).toEqual({ kind: 'skipped' });
    }
  });
});

describe('replay figures', () => {
  test('nearest-rank percentiles', () => {
    const r = new LatencyRecorder();
    for (let i = 1; i <= 2000; i++) r.add(i);
    expect(r.summary()).toEqual({ p50: 1000, p95: 1900, p99: 1980, max: 2000 });
    expect(new LatencyRecorder().summary()).toEqual({ p50: 0, p95: 0, p99: 0, max: 0 });
  });

  test('Prometheus text and the server figures taken from it', () => {
    const before = serverFigures('mx4map_lookups_total{map="mailertable",answer="OK",reason="cname-mx"} 2\nmx4map_dns_queries_total{rcode="NOERROR"} 6\n');
    const after = serverFigures(
      '# HELP x\nmx4map_lookups_total{map="mailertable",answer="OK",reason="cname-mx"} 5\nmx4map_lookups_total{map="transport",answer="NOTFOUND",reason="nxdomain"} 1\nmx4map_dns_queries_total{rcode="NOERROR"} 8\nmx4map_cache_hits_total{cache="decisions"} 3\nmx4map_cache_misses_total{cache="decisions"} 1\n',
    );
    expect(figuresDelta(before, after)).toEqual({
      lookups: 4,
      dnsQueries: 2,
      decisionHits: 3,
      decisionMisses: 1,
      byReason: { 'OK cname-mx': 3, 'NOTFOUND nxdomain': 1 },
    });
    expect(parsePrometheus('a{b="c \\"q\\""} 1')).toEqual([['a', { b: 'c \\"q\\"' }, 1]]);
  });
});
