import { resolve } from 'node:path';
import { ConfigError, loadConfig } from './config';
import { createServer } from './server';

/** `axon serve`: loads the configuration, starts the server and stops it cleanly on SIGTERM/SIGINT. */
export async function serve(overrides: Record<string, unknown> = {}): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ env: process.env, overrides });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  let server: Awaited<ReturnType<typeof createServer>>;
  try {
    server = await createServer(config);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const address = await server.listen();
  const dataDir = resolve(config.dataDir);
  server.logger.info({ address, dataDir }, `Axon is listening on ${address} (data in ${dataDir})`);
  const stop = (signal: string) => {
    server.logger.info({ signal }, 'shutting down');
    server.shutdown().then(
      () => process.exit(0),
      (error) => {
        server.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
