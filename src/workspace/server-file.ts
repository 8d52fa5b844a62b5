/**
 * `<workspace>/server.json`: where the workspace's control plane listens, its pid and its token.
 * The server writes it (mode 0600: the token is a credential) once it listens and removes it when
 * it stops; the SDK and CLI read it to find the server, and start one when it is absent or stale.
 */
import { randomUUID } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

export const serverFileName = 'server.json';

export const serverFileSchema = z.object({
  pid: z.number().int().positive(),
  /** Base URL of the REST API, e.g. http://127.0.0.1:41234 */
  url: z.string(),
  /** Base URL of the endpoint gateway, e.g. http://127.0.0.1:41235 */
  gatewayUrl: z.string(),
  /** Sent as `Authorization: Bearer <token>` on every API call. */
  token: z.string().min(16),
  workspace: z.string(),
  startedAt: z.string(),
});

export type ServerFile = z.output<typeof serverFileSchema>;

export function serverFilePath(workspaceDir: string): string {
  return join(workspaceDir, serverFileName);
}

/** The recorded server, or undefined when there is no (readable, well-formed) file. */
export async function readServerFile(workspaceDir: string): Promise<ServerFile | undefined> {
  const text = await readFile(serverFilePath(workspaceDir), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const parsed = serverFileSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Written to a temporary name and renamed, so a reader never sees half a file. */
export async function writeServerFile(workspaceDir: string, file: ServerFile): Promise<void> {
  const path = serverFilePath(workspaceDir);
  const staging = `${path}.${randomUUID()}.tmp`;
  await writeFile(staging, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  await rename(staging, path);
}

/** Removes the file only when it still describes `pid` (a newer server may have replaced it). */
export async function removeServerFile(workspaceDir: string, pid: number): Promise<void> {
  const current = await readServerFile(workspaceDir);
  if (current === undefined || current.pid === pid) await rm(serverFilePath(workspaceDir), { force: true });
}
