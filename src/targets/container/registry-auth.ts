/**
 * Credentials for pushing an image, found as the docker CLI finds them: the `auths` of
 * `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`), which `docker login` writes when no
 * credential store is set. The Engine API never reads that file itself (a client sends the
 * credentials with each push), so without this a registry that asks for credentials refuses every
 * push berth makes. Credential stores and helpers (`credsStore`, `credHelpers`) are not run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../core/errors.js';

export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string }>;
}

/** The registry part of an image name (`registry.example.com/ml/app:1` → `registry.example.com`), or Docker Hub's. */
export function registryHost(image: string): string {
  const first = image.split('/')[0] ?? '';
  const isHost = image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  return isHost ? first : 'docker.io';
}

/** `https://host:5000/v1/` and `host:5000` name the same registry in config.json. */
function hostOf(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//, '').split('/')[0] ?? '';
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
}

/** The credentials config.json holds for the image's registry, or undefined when it holds none. */
export function registryAuthFor(
  image: string,
  env: NodeJS.ProcessEnv = process.env,
): RegistryAuth | undefined {
  const file = dockerConfigPath(env);
  if (!existsSync(file)) return undefined;
  let config: DockerConfig;
  try {
    config = JSON.parse(readFileSync(file, 'utf8')) as DockerConfig;
  } catch (error) {
    throw new BerthError('INVALID_SPEC', `${file}: not JSON (${(error as Error).message})`);
  }
  const host = registryHost(image);
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (hostOf(key) !== host) continue;
    let { username, password } = entry;
    if (entry.auth !== undefined && entry.auth !== '') {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0)
        throw new BerthError('INVALID_SPEC', `${file}: auths.${key}.auth is not base64 of user:password`);
      [username, password] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
    }
    if (username === undefined || password === undefined) continue;
    return { username, password, serveraddress: key };
  }
  return undefined;
}
