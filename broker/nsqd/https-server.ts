/**
 * The HTTPS listener (`--https-address`, served only with `--tls-cert` and `--tls-key`) and nsqd's
 * answer on plain HTTP when `--tls-required=true`: 403 with `{"message": "TLS_REQUIRED", "https_port": N}`
 * (`httpServer.ServeHTTP` in `nsqd/http.go`, bytes as nsqd writes them). `tcp-https` leaves HTTP open.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { BrokerTls } from './tls-context.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** The plain-HTTP handler: the API itself, or the TLS_REQUIRED refusal. */
export function plainHttpHandler(api: Handler, tlsRequired: boolean, httpsPort: () => number): Handler {
  if (!tlsRequired) return api;
  return (req, res) => {
    req.resume();
    res.writeHead(403, { 'X-NSQ-Content-Type': 'nsq; version=1.0', 'Content-Type': 'application/json; charset=utf-8' });
    res.end(`{"message": "TLS_REQUIRED", "https_port": ${httpsPort()}}`);
  };
}

/** An HTTPS server for the API with the broker's certificate and client-certificate policy. */
export function createHttpsServer(tls: BrokerTls, api: Handler): Server {
  const server = createServer(tls.serverOptions, api);
  server.on('tlsClientError', () => {
    /* a failed handshake concerns that client only */
  });
  return server;
}
