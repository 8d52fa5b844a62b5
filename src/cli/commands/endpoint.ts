import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { BerthError, type ErrorCode } from '../../core/errors.js';
import type { CliContext } from '../context.js';
import { printJson, printTable } from '../output.js';
import { describeEndpoint, openEndpoints, parsePercentList, printWarnings } from './endpoint-shared.js';

const statusCodes: Record<number, ErrorCode> = {
  400: 'BAD_INPUT',
  401: 'UNAUTHORIZED',
  403: 'UNAUTHORIZED',
  404: 'NOT_FOUND',
  408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_REQUESTS',
  501: 'NOT_IMPLEMENTED',
  503: 'NOT_READY',
  504: 'UPSTREAM_TIMEOUT',
};

/** The message of a scoring error body (`{"message"}` on Azure routes, `{"error"}` on v2). */
function errorMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown; error?: unknown };
    const message = parsed.message ?? parsed.error;
    if (typeof message === 'string') return message;
    if (typeof message === 'object' && message !== null && 'message' in message)
      return String(message.message);
  } catch {
    // not JSON: the body itself says it
  }
  return body.trim().slice(0, 500) || 'no message';
}

export function registerEndpointCommands(program: Command, context: CliContext): void {
  const endpoint = program
    .command('endpoint')
    .description(
      'create, show, update, invoke and delete endpoints (a stable URL with keys, splitting traffic)',
    );

  endpoint
    .command('create')
    .description('create an endpoint from a YAML file (Azure ML managedOnlineEndpoint shape) or just a name')
    .option('-f, --file <file>', 'endpoint YAML')
    .option('-n, --name <name>', 'endpoint name (overrides the file)')
    .option('--json', 'print the endpoint as JSON')
    .action(async (options: { file?: string; name?: string; json?: boolean }) => {
      const endpoints = await openEndpoints(context);
      const { endpoint: created, warnings } = await endpoints.create({
        file: options.file,
        name: options.name,
      });
      printWarnings(context, warnings);
      if (options.json) printJson(context.io, created);
      else context.io.stdout.write(`created endpoint ${created.name}: ${created.scoringUri}\n`);
    });

  endpoint
    .command('list')
    .description('list endpoints')
    .option('--json', 'print a JSON array of endpoints')
    .action(async (options: { json?: boolean }) => {
      const list = await (await openEndpoints(context)).list();
      if (options.json) {
        printJson(context.io, list);
        return;
      }
      if (list.length === 0) {
        context.io.stdout.write('no endpoints (see berth endpoint create --help)\n');
        return;
      }
      printTable(
        context.io,
        ['NAME', 'STATE', 'AUTH', 'DEPLOYMENTS', 'TRAFFIC', 'SCORING URI'],
        list.map((e) => [
          e.name,
          e.state,
          e.authMode,
          String(e.deployments.length),
          Object.entries(e.traffic)
            .map(([name, value]) => `${name}=${value}`)
            .join(','),
          e.scoringUri,
        ]),
      );
    });

  endpoint
    .command('show')
    .description('state, scoring URI, swagger URI, traffic, mirror and per-deployment health')
    .argument('<name>', 'endpoint name')
    .option('--json', 'print the endpoint as JSON')
    .action(async (name: string, options: { json?: boolean }) => {
      const found = await (await openEndpoints(context)).get(name);
      if (options.json) printJson(context.io, found);
      else describeEndpoint(context, found);
    });

  endpoint
    .command('update')
    .description('change the traffic split or the mirror (the map given replaces the old one)')
    .argument('<name>', 'endpoint name')
    .option('--traffic <split>', 'live traffic, e.g. blue=90,green=10 (must total 100, or 0)')
    .option(
      '--mirror-traffic <mirror>',
      'copy a share to one deployment, e.g. green=20 (responses discarded; green=0 stops)',
    )
    .option('-d, --description <text>', 'new description')
    .option('--json', 'print the endpoint as JSON')
    .action(
      async (
        name: string,
        options: { traffic?: string; mirrorTraffic?: string; description?: string; json?: boolean },
      ) => {
        if (
          options.traffic === undefined &&
          options.mirrorTraffic === undefined &&
          options.description === undefined
        ) {
          throw new BerthError(
            'BAD_INPUT',
            'nothing to update: give --traffic, --mirror-traffic or --description',
          );
        }
        const updated = await (
          await openEndpoints(context)
        ).update(name, {
          traffic: options.traffic === undefined ? undefined : parsePercentList(options.traffic, '--traffic'),
          mirror:
            options.mirrorTraffic === undefined
              ? undefined
              : parsePercentList(options.mirrorTraffic, '--mirror-traffic'),
          description: options.description,
        });
        if (options.json) printJson(context.io, updated);
        else describeEndpoint(context, updated);
      },
    );

  endpoint
    .command('delete')
    .description('delete an endpoint and every deployment behind it')
    .argument('<name>', 'endpoint name')
    .action(async (name: string) => {
      await (await openEndpoints(context)).delete(name);
      context.io.stdout.write(`deleted endpoint ${name}\n`);
    });

  endpoint
    .command('invoke')
    .description('send a request through the gateway with the endpoint key and print the answer')
    .argument('<name>', 'endpoint name')
    .requiredOption('-r, --request-file <file>', 'the request body (JSON)')
    .option('--deployment <name>', 'send to this deployment, whatever the traffic split says')
    .action(async (name: string, options: { requestFile: string; deployment?: string }) => {
      const body = await readFile(options.requestFile).catch(() => {
        throw new BerthError('PATH_NOT_FOUND', `cannot read the request file ${options.requestFile}`);
      });
      const answer = await (
        await openEndpoints(context)
      ).invoke(name, { body, deployment: options.deployment });
      if (answer.status >= 200 && answer.status < 300) {
        context.io.stdout.write(answer.body.endsWith('\n') ? answer.body : `${answer.body}\n`);
        return;
      }
      const code = statusCodes[answer.status] ?? (answer.status >= 500 ? 'RUN_FAILED' : 'BAD_INPUT');
      const from = answer.deployment === undefined ? '' : ` from deployment ${answer.deployment}`;
      throw new BerthError(code, `HTTP ${answer.status}${from}: ${errorMessage(answer.body)}`);
    });

  endpoint
    .command('get-credentials')
    .description("print the endpoint's primary and secondary keys")
    .argument('<name>', 'endpoint name')
    .option('--json', 'print {"primaryKey", "secondaryKey"}')
    .action(async (name: string, options: { json?: boolean }) => {
      const keys = await (await openEndpoints(context)).getCredentials(name);
      if (options.json) printJson(context.io, keys);
      else context.io.stdout.write(`primary:   ${keys.primaryKey}\nsecondary: ${keys.secondaryKey}\n`);
    });

  endpoint
    .command('regenerate-keys')
    .description('replace one key; the other keeps working while clients move over')
    .argument('<name>', 'endpoint name')
    .requiredOption('--key-type <type>', 'primary or secondary')
    .option('--json', 'print the new keys as JSON')
    .action(async (name: string, options: { keyType: string; json?: boolean }) => {
      if (options.keyType !== 'primary' && options.keyType !== 'secondary') {
        throw new BerthError('BAD_INPUT', `--key-type must be primary or secondary, not ${options.keyType}`);
      }
      const keys = await (await openEndpoints(context)).regenerateKeys(name, options.keyType);
      if (options.json) printJson(context.io, keys);
      else context.io.stdout.write(`regenerated the ${options.keyType} key of ${name}\n`);
    });
}
