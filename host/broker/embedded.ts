// The embedded broker: aedes (MQTT 3.1.1) on a TCP port, with per-identity authentication and
// the qedge topic ACLs. Without an auth config it runs open (development only) and says so.
import { Aedes, type Client } from "aedes";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { Authenticator, canPublish, canSubscribe, type BrokerAuthConfig, type Identity } from "./auth.js";

export interface BrokerOptions {
  /** 0 picks a free port. Default 1883. */
  port?: number;
  host?: string;
  /** null / undefined: open broker (any client, any topic). */
  auth?: BrokerAuthConfig | null;
  log?: (line: string) => void;
}

export interface BrokerStats {
  connects: number;
  publishesIn: number;
  deniedPublishes: number;
  deniedSubscribes: number;
  authFailures: number;
  clients: number;
}

export interface EmbeddedBroker {
  readonly url: string;
  readonly port: number;
  readonly host: string;
  stats(): BrokerStats;
  /** Drops every connection and all broker state (sessions, retained), then listens again on the same port. */
  restart(downMs?: number): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_PORT = 1883;

export async function startBroker(opts: BrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = opts.host ?? "127.0.0.1";
  const auth = opts.auth ? new Authenticator(opts.auth) : null;
  const identities = new WeakMap<Client, Identity>();
  const stats: BrokerStats = { connects: 0, publishesIn: 0, deniedPublishes: 0, deniedSubscribes: 0, authFailures: 0, clients: 0 };
  const log = opts.log ?? (() => {});
  if (!auth) log("broker: no users configured: open to any client (development mode)");

  let aedes: Aedes;
  let server: Server;
  const sockets = new Set<Socket>();

  function makeAedes(): Aedes {
    const a = new Aedes({
      maxClientsIdLength: 128,
      drainTimeout: 30_000,
      concurrency: 1000,
      queueLimit: 1000,
      authenticate(client, username, password, done) {
        if (!auth) return done(null, true);
        const who = auth.check(username, password);
        if (!who) {
          stats.authFailures++;
          const err = Object.assign(new Error("bad user name or password"), { returnCode: 4 });
          return done(err as never, null);
        }
        if (who.role === "device" && client.id !== who.username) {
          stats.authFailures++;
          const err = Object.assign(new Error(`device ${who.username} must use its name as client id`), { returnCode: 2 });
          return done(err as never, null);
        }
        identities.set(client, who);
        done(null, true);
      },
      authorizePublish(client, packet, done) {
        if (packet.topic.startsWith("$SYS")) return done(new Error("$SYS is reserved"));
        if (!auth || !client) return done(null);
        const who = identities.get(client);
        if (!who || !canPublish(who, packet.topic)) {
          stats.deniedPublishes++;
          log(`broker: denied publish by ${who?.username ?? client.id} to ${packet.topic}`);
          return done(new Error(`not authorized to publish to ${packet.topic}`));
        }
        done(null);
      },
      authorizeSubscribe(client, sub, done) {
        if (!auth) return done(null, sub);
        const who = identities.get(client);
        if (!who || !canSubscribe(who, sub.topic)) {
          stats.deniedSubscribes++;
          log(`broker: denied subscription by ${who?.username ?? client.id} to ${sub.topic}`);
          return done(null, null);
        }
        done(null, sub);
      },
    });
    a.on("client", () => { stats.connects++; stats.clients++; });
    a.on("clientDisconnect", () => { stats.clients--; });
    a.on("publish", (_p, client) => { if (client) stats.publishesIn++; });
    return a;
  }

  async function listen(port: number): Promise<number> {
    aedes = makeAedes();
    await aedes.listen();
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      aedes.handle(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => { server.off("error", reject); resolve(); });
    });
    return (server.address() as AddressInfo).port;
  }

  async function shutdown(): Promise<void> {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    sockets.clear();
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await closed;
  }

  const port = await listen(opts.port ?? DEFAULT_PORT);
  let closed = false;
  return {
    url: `mqtt://${host}:${port}`,
    port,
    host,
    stats: () => ({ ...stats }),
    async restart(downMs = 200) {
      await shutdown();
      stats.clients = 0;
      await new Promise((r) => setTimeout(r, downMs));
      await listen(port);
      log(`broker: restarted on ${host}:${port}`);
    },
    async close() {
      if (closed) return;
      closed = true;
      await shutdown();
    },
  };
}
