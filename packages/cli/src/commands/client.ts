import type { Command } from 'commander';
import type { Grant, Injection, SecretType, SecretValue } from '@latchkey/sdk';
import { clientFor, output, readSecret, UsageError, type ClientOptions } from '../io.js';

const iso = (d: Date | null) => (d ? d.toISOString() : '-');
const collect = (v: string, prev: string[] = []) => [...prev, v];
const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UsageError(`${name} must be an integer`);
  return n;
};

/** Parses the stdin/prompt text into the value shape of `type` (JSON for basic and multi-field custom). */
function parseValue(type: SecretType | undefined, raw: string, isJson: boolean): SecretValue {
  if (raw.length === 0) throw new UsageError('The secret value is empty.');
  if (isJson || type === 'basic') {
    try {
      return JSON.parse(raw) as SecretValue;
    } catch {
      throw new UsageError('The value is not valid JSON (basic values are {"username":"…","password":"…"}).');
    }
  }
  return raw;
}

function grantLine(g: Grant): string {
  return `${g.grantId}  ${g.status.padEnd(7)}  ${g.principal.type.padEnd(6)}  ${g.managedSecretId ?? '-'}  expires ${iso(g.expiresAt)}${g.label ? `  ${g.label}` : ''}`;
}

/** Registers `secrets`, `grants`, `keys` and `audit`: commands that call a running server through the SDK. */
export function registerClientCommands(program: Command): void {
  const withClient = (c: Command) =>
    c
      .option('--url <url>', 'server base URL (default LATCHKEY_URL or http://127.0.0.1:7070)')
      .option('--json', 'JSON output');

  const secrets = program.command('secrets').description('Managed secrets (write-only credentials)');
  withClient(
    secrets
      .command('create')
      .description('Store a credential; the value is read from stdin or a hidden prompt, never from argv')
      .requiredOption('--slug <slug>', 'unique name within the app')
      .option('--type <type>', 'bearer | api_key | basic | custom')
      .option('--template <id>', 'provider template id (e.g. stripe, openai)')
      .option('--name <name>', 'display name')
      .option('--allowed-host <host>', 'host the credential may be sent to (repeatable)', collect)
      .option('--header <name>', 'api_key: header to inject')
      .option('--format <format>', 'api_key: header value format containing {token}')
      .option('--value-json', 'the value read is JSON (custom multi-field values)'),
  ).action(
    async (
      opts: ClientOptions & {
        slug: string;
        type?: SecretType;
        template?: string;
        name?: string;
        allowedHost?: string[];
        header?: string;
        format?: string;
        valueJson?: boolean;
      },
    ) => {
      const app = await clientFor(opts);
      const value = parseValue(opts.type, await readSecret('Secret value: '), Boolean(opts.valueJson));
      const injection: Injection | undefined = opts.header
        ? { header: opts.header, ...(opts.format ? { format: opts.format } : {}) }
        : undefined;
      const s = await app.managedSecrets.create({
        slug: opts.slug,
        value,
        ...(opts.type ? { type: opts.type } : {}),
        ...(opts.template ? { templateId: opts.template } : {}),
        ...(opts.name ? { name: opts.name } : {}),
        ...(opts.allowedHost ? { allowedHosts: opts.allowedHost } : {}),
        ...(injection ? { injection } : {}),
      });
      output(
        opts,
        s,
        () =>
          `Stored ${s.id} (${s.type}, fingerprint ${s.fingerprint}, version ${s.version}) for ${s.allowedHosts.join(', ')}`,
      );
    },
  );
  withClient(
    secrets
      .command('list')
      .description('List managed secrets (metadata only)')
      .option('--limit <n>', 'page size', int('limit'))
      .option('--offset <n>', 'offset', int('offset')),
  ).action(async (opts: ClientOptions & { limit?: number; offset?: number }) => {
    const app = await clientFor(opts);
    const page = await app.managedSecrets.list({
      ...(opts.limit ? { limit: opts.limit } : {}),
      ...(opts.offset ? { offset: opts.offset } : {}),
    });
    output(
      opts,
      page,
      () =>
        page.managedSecrets
          .map((s) => `${s.id}  ${s.slug.padEnd(20)}  ${s.type.padEnd(8)}  v${s.version}  ${s.fingerprint}`)
          .join('\n') || 'No managed secrets.',
    );
  });
  withClient(
    secrets
      .command('rotate')
      .description('Replace the value in place (ids and grants stay valid); value from stdin or a prompt')
      .argument('<id>', 'managed secret id')
      .option('--value-json', 'the value read is JSON'),
  ).action(async (id: string, opts: ClientOptions & { valueJson?: boolean }) => {
    const app = await clientFor(opts);
    const current = await app.managedSecrets.get(id);
    const value = parseValue(current.type, await readSecret('New secret value: '), Boolean(opts.valueJson));
    const s = await app.managedSecrets.rotate(id, value);
    output(opts, s, () => `Rotated ${s.id}: version ${s.version}, fingerprint ${s.fingerprint}`);
  });
  withClient(
    secrets
      .command('delete')
      .description('Delete a secret and revoke its grants')
      .argument('<id>', 'managed secret id'),
  ).action(async (id: string, opts: ClientOptions) => {
    const app = await clientFor(opts);
    const r = await app.managedSecrets.delete(id);
    output(opts, r, () => `Deleted ${id}; revoked ${r.revokedGrants} grant(s).`);
  });

  const grants = program.command('grants').description('Grants: credential × principal × policy');
  withClient(
    grants
      .command('issue')
      .description('Issue a grant on a managed secret')
      .argument('<secret-id>', 'managed secret id')
      .option('--principal <type>', 'system | agent', 'system')
      .option('--agent-id <id>', 'agent id for an agent principal')
      .option('--label <label>', 'label')
      .option('--ttl <seconds>', 'default TTL in seconds', int('ttl'))
      .option('--max-ttl <seconds>', 'maximum TTL in seconds', int('max-ttl'))
      .option('--expires-at <iso>', 'absolute expiry (ISO-8601)'),
  ).action(
    async (
      secretId: string,
      opts: ClientOptions & {
        principal: string;
        agentId?: string;
        label?: string;
        ttl?: number;
        maxTtl?: number;
        expiresAt?: string;
      },
    ) => {
      const app = await clientFor(opts);
      if (opts.principal !== 'system' && opts.principal !== 'agent')
        throw new UsageError('--principal must be system or agent.');
      const principal =
        opts.principal === 'agent'
          ? { type: 'agent' as const, ...(opts.agentId ? { agentId: opts.agentId } : {}) }
          : { type: 'system' as const };
      const g = await app.createManagedSecretGrant(secretId, {
        principal,
        ...(opts.label ? { label: opts.label } : {}),
        grantPolicy: {
          ...(opts.ttl ? { defaultTtlSeconds: opts.ttl } : {}),
          ...(opts.maxTtl ? { maxTtlSeconds: opts.maxTtl } : {}),
          ...(opts.expiresAt ? { expiresAt: opts.expiresAt } : {}),
        },
      });
      output(opts, g, () => `Issued grant ${g.grantId} (expires ${iso(g.expiresAt)})`);
    },
  );
  withClient(
    grants
      .command('list')
      .description('List grants')
      .option('--status <s>', 'active | expired | revoked')
      .option('--secret <id>', 'managed secret id')
      .option('--limit <n>', 'page size', int('limit'))
      .option('--offset <n>', 'offset', int('offset')),
  ).action(
    async (
      opts: ClientOptions & {
        status?: 'active' | 'expired' | 'revoked';
        secret?: string;
        limit?: number;
        offset?: number;
      },
    ) => {
      const app = await clientFor(opts);
      const page = await app.listGrants({
        ...(opts.status ? { status: opts.status } : {}),
        ...(opts.secret ? { managedSecretId: opts.secret } : {}),
        ...(opts.limit ? { limit: opts.limit } : {}),
        ...(opts.offset ? { offset: opts.offset } : {}),
      });
      output(opts, page, () => page.grants.map(grantLine).join('\n') || 'No grants.');
    },
  );
  withClient(
    grants
      .command('revoke')
      .description('Revoke a grant')
      .argument('<grant-id>', 'grant id')
      .option('--reason <reason>', 'reason (audited)'),
  ).action(async (grantId: string, opts: ClientOptions & { reason?: string }) => {
    const app = await clientFor(opts);
    const g = await app.revokeGrant(grantId, opts.reason ? { reason: opts.reason } : {});
    output(opts, g, () => `Revoked ${grantId}`);
  });

  const keys = program.command('keys').description('App API keys');
  withClient(
    keys
      .command('mint')
      .description('Mint an app key; the key is printed once')
      .requiredOption('--scope <scope>', 'scope (repeatable), e.g. proxy:execute', collect)
      .option('--name <name>', 'label')
      .option('--expires-at <iso>', 'expiry (ISO-8601)')
      .option('--signed-only', 'refuse bearer use of this key'),
  ).action(
    async (opts: ClientOptions & { scope: string[]; name?: string; expiresAt?: string; signedOnly?: boolean }) => {
      const app = await clientFor(opts);
      const r = await app.keys.mint({
        scopes: opts.scope,
        ...(opts.name ? { name: opts.name } : {}),
        ...(opts.expiresAt ? { expiresAt: opts.expiresAt } : {}),
        ...(opts.signedOnly ? { signedOnly: true } : {}),
      });
      output(
        opts,
        { key: r.key, api_key: r.apiKey },
        () => `Key ${r.key.keyId} (${r.key.scopes.join(' ')}):\n  ${r.apiKey}\nShown once: store it now.`,
      );
    },
  );
  withClient(
    keys
      .command('list')
      .description('List keys (metadata only)')
      .option('--limit <n>', 'page size', int('limit'))
      .option('--offset <n>', 'offset', int('offset')),
  ).action(async (opts: ClientOptions & { limit?: number; offset?: number }) => {
    const app = await clientFor(opts);
    const page = await app.keys.list({
      ...(opts.limit ? { limit: opts.limit } : {}),
      ...(opts.offset ? { offset: opts.offset } : {}),
    });
    output(
      opts,
      page,
      () =>
        page.keys.map((k) => `${k.keyId}  ${k.keyPrefix}…  ${k.status.padEnd(8)}  ${k.scopes.join(' ')}`).join('\n') ||
        'No keys.',
    );
  });
  withClient(keys.command('revoke').description('Revoke a key').argument('<key-id>', 'key id')).action(
    async (keyId: string, opts: ClientOptions) => {
      const app = await clientFor(opts);
      const k = await app.keys.revoke(keyId);
      output(opts, k, () => `Revoked ${k.keyId}`);
    },
  );

  const audit = program.command('audit').description('Audit trail');
  withClient(
    audit
      .command('tail')
      .description('Show the newest audit events')
      .option('--limit <n>', 'how many (default 20)', int('limit'))
      .option('--event <name>', 'filter by event')
      .option('--follow', 'keep printing new events'),
  ).action(async (opts: ClientOptions & { limit?: number; event?: string; follow?: boolean }) => {
    const app = await clientFor(opts);
    const page = await app.audit.list({ limit: opts.limit ?? 20, ...(opts.event ? { event: opts.event } : {}) });
    const line = (e: (typeof page.events)[number]) =>
      `${e.ts.toISOString()}  ${e.event.padEnd(24)}  ${e.outcome.padEnd(7)}  ${e.actor.keyPrefix ?? e.actor.caller ?? '-'}  ${e.grantId ?? ''}${e.statusCode ? `  ${e.statusCode}` : ''}${e.errorCode ? `  ${e.errorCode}` : ''}`;
    const events = [...page.events].reverse();
    if (opts.json) for (const e of events) process.stdout.write(`${JSON.stringify(e)}\n`);
    else for (const e of events) process.stdout.write(`${line(e)}\n`);
    if (!opts.follow) return;
    let last = page.events[0]?.seq ?? 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      const newer = (await app.audit.list({ limit: 500, ...(opts.event ? { event: opts.event } : {}) })).events
        .filter((e) => e.seq > last)
        .reverse();
      for (const e of newer) process.stdout.write(opts.json ? `${JSON.stringify(e)}\n` : `${line(e)}\n`);
      if (newer.length) last = newer[newer.length - 1]!.seq;
    }
  });
  withClient(audit.command('verify').description('Verify the audit hash chains; exits 1 on a broken chain')).action(
    async (opts: ClientOptions) => {
      const app = await clientFor(opts);
      const r = await app.audit.verify();
      output(opts, r, () =>
        [
          ...r.chains.map((c) => `chain ${c.replicaId}: ${c.events} events, head ${c.headHash ?? '-'}`),
          r.ok
            ? 'OK: every chain verifies.'
            : `BROKEN: chain ${r.firstBroken?.replicaId} at ${r.firstBroken?.seq}: ${r.firstBroken?.reason}`,
        ].join('\n'),
      );
      if (!r.ok) process.exitCode = 1;
    },
  );
}
