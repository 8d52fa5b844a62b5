import type { Command } from 'commander';
import { BerthError } from '../../core/errors.js';
import type { DeploymentView } from '../../core/specs/index.js';
import type { CliContext } from '../context.js';
import { printJson, printTable } from '../output.js';
import { describeDeployment, openEndpoints, printWarnings } from './endpoint-shared.js';

/** A deployment as `--json` asks: the JSON document, or the human description. */
function printDeployment(context: CliContext, deployment: DeploymentView, json: boolean | undefined): void {
  if (json === true) printJson(context.io, deployment);
  else context.io.stdout.write(describeDeployment(deployment));
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new BerthError('BAD_INPUT', `--lines must be a whole number, not ${value}`);
  return parsed;
}

export function registerDeploymentCommands(program: Command, context: CliContext): void {
  const deployment = program
    .command('deployment')
    .description('create, update, show, delete deployments behind an endpoint, and read their logs');

  deployment
    .command('create')
    .description('deploy a model (+ optional scoring script) behind an endpoint; waits until healthy')
    .requiredOption('-f, --file <file>', 'deployment YAML (Azure ML managedOnlineDeployment shape)')
    .option('-n, --name <name>', 'deployment name (overrides the file)')
    .option('-e, --endpoint-name <name>', 'endpoint name (overrides the file)')
    .option('--all-traffic', 'give it 100% of live traffic once healthy')
    .option(
      '-s, --set <key=value>',
      "change a field of the file's spec (dotted path, e.g. target=dev-docker); repeat for several",
      collect,
      [],
    )
    .option('--dry-run', 'kubernetes targets: write the manifests to --output, apply nothing')
    .option('--output <dir>', 'with --dry-run: the folder the manifests are written to')
    .option('--json', 'print the deployment as JSON')
    .action(
      async (options: {
        set: string[];
        file: string;
        name?: string;
        endpointName?: string;
        allTraffic?: boolean;
        dryRun?: boolean;
        output?: string;
        json?: boolean;
      }) => {
        if (options.dryRun === true || options.output !== undefined) {
          // Loaded on use: the Kubernetes client is heavy, and every other command goes without it.
          const { dryRunManifests } = await import('./deployment-dry-run.js');
          await dryRunManifests(context, options);
          return;
        }
        const endpoints = await openEndpoints(context);
        const result = await endpoints.createDeployment({
          file: options.file,
          name: options.name,
          endpointName: options.endpointName,
          allTraffic: options.allTraffic === true,
          set: options.set,
        });
        printWarnings(context, result.warnings, result.messages);
        printDeployment(context, result.deployment, options.json);
      },
    );

  deployment
    .command('list')
    .description("list an endpoint's deployments")
    .requiredOption('-e, --endpoint-name <name>', 'endpoint name')
    .option('--json', 'print a JSON array of deployments')
    .action(async (options: { endpointName: string; json?: boolean }) => {
      const list = await (await openEndpoints(context)).listDeployments(options.endpointName);
      if (options.json) {
        printJson(context.io, list);
        return;
      }
      printTable(
        context.io,
        ['NAME', 'STATE', 'MODEL', 'TARGET', 'INSTANCES', 'TRAFFIC'],
        list.map((d) => [d.name, d.state, d.model, d.target, String(d.instanceCount), `${d.traffic}%`]),
      );
    });

  deployment
    .command('show')
    .description('state, reason, replicas and spec of a deployment')
    .argument('<name>', 'deployment name')
    .requiredOption('-e, --endpoint-name <name>', 'endpoint name')
    .option('--json', 'print the deployment as JSON')
    .action(async (name: string, options: { endpointName: string; json?: boolean }) => {
      const found = await (await openEndpoints(context)).getDeployment(options.endpointName, name);
      printDeployment(context, found, options.json);
    });

  deployment
    .command('update')
    .description('rolling update: new replicas are ready before old ones drain (no failed request)')
    .argument('<name>', 'deployment name')
    .requiredOption('-e, --endpoint-name <name>', 'endpoint name')
    .option(
      '-s, --set <key=value>',
      'change a field, dotted paths (e.g. instance_count=3); repeat for several',
      collect,
      [],
    )
    .option('-f, --file <file>', 'a new deployment YAML')
    .option('--json', 'print the deployment as JSON')
    .action(
      async (
        name: string,
        options: { endpointName: string; set: string[]; file?: string; json?: boolean },
      ) => {
        const result = await (
          await openEndpoints(context)
        ).updateDeployment(options.endpointName, name, {
          set: options.set,
          file: options.file,
        });
        printWarnings(context, result.warnings, result.messages);
        printDeployment(context, result.deployment, options.json);
      },
    );

  deployment
    .command('delete')
    .description('delete a deployment; refused while it takes live or mirrored traffic')
    .argument('<name>', 'deployment name')
    .requiredOption('-e, --endpoint-name <name>', 'endpoint name')
    .action(async (name: string, options: { endpointName: string }) => {
      await (await openEndpoints(context)).deleteDeployment(options.endpointName, name);
      context.io.stdout.write(`deleted deployment ${options.endpointName}/${name}\n`);
    });

  deployment
    .command('logs')
    .description("print the replicas' output")
    .argument('<name>', 'deployment name')
    .requiredOption('-e, --endpoint-name <name>', 'endpoint name')
    .option('--lines <count>', 'last lines to print', positiveInteger, 100)
    .option('--follow', 'keep printing new lines until interrupted')
    .option('--json', 'print one JSON object per line')
    .action(
      async (
        name: string,
        options: { endpointName: string; lines: number; follow?: boolean; json?: boolean },
      ) => {
        const abort = new AbortController();
        const stop = () => abort.abort();
        process.once('SIGINT', stop);
        try {
          const lines = (await openEndpoints(context)).deploymentLogs(options.endpointName, name, {
            lines: options.lines,
            follow: options.follow === true,
            signal: abort.signal,
          });
          for await (const line of lines) {
            context.io.stdout.write(
              options.json ? `${JSON.stringify(line)}\n` : `[${line.replica}] ${line.text}\n`,
            );
          }
        } catch (error) {
          if (!abort.signal.aborted) throw error;
        } finally {
          process.off('SIGINT', stop);
        }
      },
    );
}
