/**
 * One domain's evaluation, step by step: override → this host → MX → host facts → probes → the rule →
 * transport security → lifetime. No decision cache here (host facts and probe verdicts keep theirs); DNS,
 * the prober and the clock come in from outside, so each step can be driven alone.
 */
import type { DnsClient, QueryOutcome } from '../dns/client.js';
import type { RecordType } from '../dns/message.js';
import type { Prober } from '../probe/prober.js';
import type { Decision, Trigger } from './decision.js';
import type { HostReport, MxFacts, ProbeFact } from './facts.js';
import type { Evidence, EvidenceBook } from './evidence.js';
import type { HostDirectory } from './hosts.js';
import { intern, leave } from './intern.js';
import { limitMxHosts, resolveMx } from './mx.js';
import { type OverrideMatch, matchOverride } from './overrides.js';
import type { Policy } from './policy.js';
import { type ProtectionFacts, checkProtection } from './protection.js';
import { decide, dnsTriggers, probeTrigger, probesNeeded } from './rule.js';

export interface Evaluation {
  readonly domain: string;
  readonly override: 'never' | 'force' | undefined;
  readonly mx: MxFacts | undefined;
  readonly hosts: readonly HostReport[];
  readonly decision: Decision;
  /** How long the decision is cached. */
  readonly ttlMs: number;
  /** Addresses past max_addresses left out of the routes. */
  readonly routesDropped: number;
  readonly dnsQueries: number;
  readonly probesSent: number;
  readonly durationMs: number;
  /** The transport-security lookups made for a forced domain, and what they found. */
  readonly protection?: ProtectionFacts;
  /** Read from the fleet's shared cache, not evaluated here. */
  readonly shared?: boolean;
  /** The delivery-log evidence that forced it (ipv6-delivery-failed), with the time it has left. */
  readonly evidence?: { readonly evidence: Evidence; readonly remainingMs: number };
}

/** A decision read from the fleet, as an evaluation: nothing asked here, `ms` spent reading it. */
export function fleetEvaluation(domain: string, override: OverrideMatch, decision: Decision, ttlMs: number, ms: number): Evaluation {
  return { domain, override, mx: undefined, hosts: [], decision, ttlMs, routesDropped: 0, dnsQueries: 0, probesSent: 0, durationMs: ms, shared: true };
}

interface Tally {
  dnsQueries: number;
  probesSent: number;
}

/** The lookup's view of the DNS client: its queries counted, and none started after its deadline. */
function counting(dns: DnsClient, tally: Tally, until: number): DnsClient {
  return {
    query(name: string, type: RecordType): Promise<QueryOutcome> {
      tally.dnsQueries++;
      return dns.query(name, type, until);
    },
  };
}

export class Pipeline {
  constructor(
    private readonly policy: () => Policy,
    private readonly dns: DnsClient,
    private readonly hosts: HostDirectory,
    private readonly prober: Prober,
    private readonly evidence: EvidenceBook,
  ) {}

  /**
   * Runs the whole rule for one domain. `ahead`: a refresh before expiry, which asks again for host facts
   * and probe verdicts that are about to expire themselves. `known`: the domain's override, when the caller
   * has matched it already.
   */
  async evaluate(domain: string, ahead = false, known: OverrideMatch | 'unmatched' = 'unmatched'): Promise<Evaluation> {
    const started = performance.now();
    const tally: Tally = { dnsQueries: 0, probesSent: 0 };
    const { settings, overrides, locality } = this.policy();
    const override = known === 'unmatched' ? matchOverride(overrides, domain) : known;
    let evidence: Evaluation['evidence'];
    const finish = (
      mx: MxFacts | undefined,
      hosts: HostReport[],
      decision: Decision,
      ttlMs: number,
      routesDropped = 0,
      protection?: ProtectionFacts,
    ): Evaluation => ({
      domain,
      override,
      mx,
      hosts,
      decision,
      ttlMs,
      routesDropped,
      dnsQueries: tally.dnsQueries,
      probesSent: tally.probesSent,
      durationMs: Math.round(performance.now() - started),
      ...(protection ? { protection } : {}),
      ...(evidence ? { evidence } : {}),
    });
    if (override === 'never') return finish(undefined, [], leave('never'), 0);
    if (locality.isLocalDomain(domain)) return finish(undefined, [], leave('local'), 0);

    // Every DNS query and probe of this lookup must start before its deadline, or is not sent.
    const until = started + settings.deadlineMs;
    const dns = counting(this.dns, tally, until);
    const mx = limitMxHosts(await resolveMx(dns, domain), settings.maxMxHosts);
    const share = ahead ? settings.refreshAhead : 0;
    const facts = mx.kind === 'hosts' ? await Promise.all(mx.hosts.map((h) => this.hosts.get(h.name, dns, share))) : [];
    const forced = override === 'force';
    // The MTA's own log says IPv6 deliveries to this domain (or one of its MX hosts) fail: no probe can say otherwise.
    if (mx.kind === 'hosts' && settings.triggers.has('ipv6-delivery-failed'))
      evidence = await this.evidence.find(
        domain,
        mx.hosts.map((h) => h.name),
        settings.evidenceTtlMs,
      );
    const probing = mx.kind === 'hosts' && !evidence && probesNeeded(facts, forced, settings);
    // The lookup's probe budget goes to the most preferred hosts first (facts are in preference order).
    let budget = probing ? settings.maxProbes : 0;
    const planned = facts.map((host) => {
      const addresses = host.aaaa.kind === 'records' ? host.aaaa.addresses.slice(0, Math.min(settings.probesPerHost, budget)) : [];
      budget -= addresses.length;
      return addresses;
    });
    let probesMissed = false;
    const hosts: HostReport[] = await Promise.all(
      facts.map(async (host, i) => {
        const preference = mx.kind === 'hosts' ? mx.hosts[i].preference : 0;
        const probes = await this.probeHost(planned[i], tally, until, share);
        if (probes.length < planned[i].length) probesMissed = true;
        const triggers: Trigger[] = [...dnsTriggers(host, settings), ...probeTrigger(host, probes, settings)];
        if (evidence && host.a.kind === 'records') triggers.push('ipv6-delivery-failed');
        return { ...host, preference, probes, triggers };
      }),
    );
    const outcome = decide(mx, hosts, { forced, isOwn: (address) => locality.isOwn(address), maxAddresses: settings.maxAddresses });
    // A probe that could not run might have forced the domain: without it, no decision to keep for long.
    let decision: Decision =
      probesMissed && outcome.decision.action !== 'force-ipv4'
        ? { action: 'dns-failure', detail: 'IPv6 probes could not start before the deadline (probe_concurrency in use)' }
        : outcome.decision;
    // Forced by evidence: decided again when it expires, so a receiver that fixed its IPv6 gets IPv6 mail again.
    let ttl = evidence ? Math.min(outcome.ttl, evidence.remainingMs / 1000) : outcome.ttl;
    // Forced: does the domain publish transport security a literal route would drop? (Not asked under
    // `secure_domains: force`, nor for a force_ipv4 pattern written with `!`.)
    let protection: ProtectionFacts | undefined;
    if (decision.action === 'force-ipv4' && settings.secureDomains !== 'force' && !(forced && overrides.force.isMarked(domain))) {
      protection = await checkProtection(dns, domain, mx, facts, { dnssec: settings.dnssec, failureTtl: settings.failureTtlMs / 1000 });
      if (protection.found.length > 0) decision = { ...decision, protection: protection.found };
      ttl = Math.min(ttl, protection.ttl);
    }
    const ttlMs = decision.action === 'dns-failure' ? settings.failureTtlMs : Math.min(settings.maxTtlMs, Math.max(settings.minTtlMs, ttl * 1000));
    return finish(mx, hosts, intern(decision), ttlMs, outcome.routesDropped ?? 0, protection);
  }

  /** Probes `addresses`; those that could not start before `until` are left out of the result. */
  private async probeHost(addresses: readonly string[], tally: Tally, until: number, refreshShare: number): Promise<ProbeFact[]> {
    const facts = await Promise.all(
      addresses.map(async (address): Promise<ProbeFact | undefined> => {
        const verdict = await this.prober.check(address, until, refreshShare);
        if (!verdict) return undefined;
        if (!verdict.cached) tally.probesSent++;
        return { address, ok: verdict.ok, detail: verdict.detail, ms: verdict.ms, cached: verdict.cached, ttlMs: verdict.ttlMs };
      }),
    );
    return facts.filter((f): f is ProbeFact => f !== undefined);
  }
}
