/**
 * One way to open the MQTT client, for the control plane and the devices alike: MQTT 5 (so a
 * request's correlation data and response topic travel with it), the CA file for an mqtts broker,
 * and a client id that names who connects.
 */
import { readFileSync } from 'node:fs';
import { connect, connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { BerthError } from '../../core/errors.js';

export interface BrokerOptions {
  broker: string;
  caFile: string | undefined;
  clientId: string;
  /** Milliseconds between reconnect attempts; 0: never reconnect. */
  reconnectPeriodMs: number;
  will?: { topic: string; payload: string; retain: boolean };
}

function clientOptions(options: BrokerOptions): IClientOptions {
  let ca: Buffer | undefined;
  if (options.caFile !== undefined) {
    try {
      ca = readFileSync(options.caFile);
    } catch (error) {
      throw new BerthError('PATH_UNREADABLE', `cannot read the broker's CA file ${options.caFile}`, {
        cause: error,
      });
    }
  }
  return {
    protocolVersion: 5,
    clientId: options.clientId,
    clean: true,
    connectTimeout: 10_000,
    reconnectPeriod: options.reconnectPeriodMs,
    ...(ca === undefined ? {} : { ca }),
    ...(options.will === undefined
      ? {}
      : {
          will: {
            topic: options.will.topic,
            payload: Buffer.from(options.will.payload),
            qos: 1,
            retain: options.will.retain,
          },
        }),
  };
}

/**
 * Small messages go out at once: with Nagle's algorithm on, a QoS 1 publish waits for the ack of
 * the one before it, and loopback round trips grow to tens of milliseconds.
 */
export function sendImmediately(client: MqttClient): void {
  const stream = client.stream as { setNoDelay?: (noDelay: boolean) => void } | undefined;
  stream?.setNoDelay?.(true);
}

/** Connects once, or rejects with NOT_READY naming the broker (the control plane's use). */
export async function connectBroker(options: BrokerOptions): Promise<MqttClient> {
  try {
    const client = await connectAsync(
      options.broker,
      { ...clientOptions(options), reconnectPeriod: 0 },
      false,
    );
    sendImmediately(client);
    return client;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new BerthError('NOT_READY', `cannot reach the MQTT broker ${options.broker}: ${message}`, {
      cause: error,
    });
  }
}

/** A client that keeps reconnecting in the background (the device's use): it never throws. */
export function openBroker(options: BrokerOptions): MqttClient {
  const client = connect(options.broker, clientOptions(options));
  client.on('connect', () => sendImmediately(client));
  return client;
}
