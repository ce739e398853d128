// Test certificates made with openssl the way Redis's utils/gen-test-certs.sh makes them:
// a CA, a server-only, a client-only and a generic certificate it signed, plus a client
// certificate from another CA (which a server trusting only the first must refuse).
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { scratchDir } from "./scratch.js";

export const hasOpenssl = spawnSync("openssl", ["version"]).status === 0;

export interface Certs { dir: string; ca: string; server: string; serverKey: string; client: string; clientKey: string;
  redis: string; redisKey: string; rogue: string; rogueKey: string }

/** Redis's gen-test-certs.sh: a CA, server-only, client-only and generic certs; plus a client cert from another CA. */
export function makeCerts(): Certs {
  const dir = scratchDir("tls");
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  writeFileSync(join(dir, "openssl.cnf"),
    "[ server_cert ]\nkeyUsage = digitalSignature, keyEncipherment\nnsCertType = server\n" +
    "[ client_cert ]\nkeyUsage = digitalSignature, keyEncipherment\nnsCertType = client\n");
  const ca = (name: string) => {
    ssl("genrsa", "-out", `${name}.key`, "2048");
    ssl("req", "-x509", "-new", "-nodes", "-sha256", "-key", `${name}.key`, "-days", "30",
      "-subj", `/O=LatticeKV Test/CN=${name}`, "-out", `${name}.crt`);
  };
  const cert = (name: string, issuer: string, ext: string[]) => {
    ssl("genrsa", "-out", `${name}.key`, "2048");
    ssl("req", "-new", "-sha256", "-subj", `/O=LatticeKV Test/CN=${name}`, "-key", `${name}.key`, "-out", `${name}.csr`);
    ssl("x509", "-req", "-sha256", "-in", `${name}.csr`, "-CA", `${issuer}.crt`, "-CAkey", `${issuer}.key`,
      "-CAcreateserial", "-days", "30", ...ext, "-out", `${name}.crt`);
  };
  ca("ca");
  ca("rogue-ca");
  cert("server", "ca", ["-extfile", "openssl.cnf", "-extensions", "server_cert"]);
  cert("client", "ca", ["-extfile", "openssl.cnf", "-extensions", "client_cert"]);
  cert("redis", "ca", []);
  cert("rogue", "rogue-ca", ["-extfile", "openssl.cnf", "-extensions", "client_cert"]);
  const p = (f: string) => join(dir, f);
  return { dir, ca: p("ca.crt"), server: p("server.crt"), serverKey: p("server.key"), client: p("client.crt"),
    clientKey: p("client.key"), redis: p("redis.crt"), redisKey: p("redis.key"), rogue: p("rogue.crt"), rogueKey: p("rogue.key") };
}

