// CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO (Redis 7.0's networking.c
// clientCommand): option parsing and Redis's error strings; the tracking itself is
// src/server/tracking.ts.
import type { CommandTable } from "./table.js";
import type { CommandContext } from "./context.js";
import { ERR, parseInteger } from "./context.js";
import { trackingOf } from "../server/tracking.js";

function clientTracking(ctx: CommandContext): void {
  const { server, client, argv, reply } = ctx;
  let redirect = 0n;
  const opts = { bcast: false, optin: false, optout: false, noloop: false };
  const prefixes: Buffer[] = [];
  for (let j = 3; j < argv.length; j++) {
    const opt = argv[j].toString("latin1").toLowerCase();
    const moreargs = argv.length - 1 - j > 0;
    if (opt === "redirect" && moreargs) {
      j++;
      if (redirect !== 0n) return reply.error("A client can only redirect to a single other client");
      const id = parseInteger(argv[j]);
      if (id === null) return reply.error(ERR.notInteger);
      redirect = id;
      // The client must exist now, even if it may go away later.
      if (id > BigInt(Number.MAX_SAFE_INTEGER) || id < 1n || !server.clients.has(Number(id))) {
        return reply.error("The client ID you want redirect to does not exist");
      }
    } else if (opt === "bcast") {
      opts.bcast = true;
    } else if (opt === "optin") {
      opts.optin = true;
    } else if (opt === "optout") {
      opts.optout = true;
    } else if (opt === "noloop") {
      opts.noloop = true;
    } else if (opt === "prefix" && moreargs) {
      j++;
      prefixes.push(argv[j]);
    } else {
      return reply.error(ERR.syntax);
    }
  }
  const tracking = trackingOf(server);
  const mode = argv[2].toString("latin1").toLowerCase();
  if (mode === "on") {
    const st = tracking.stateOf(client);
    if (!opts.bcast && prefixes.length) return reply.error("PREFIX option requires BCAST mode to be enabled");
    if (st?.on && st.bcast !== opts.bcast) {
      return reply.error("You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.");
    }
    if (opts.bcast && (opts.optin || opts.optout)) return reply.error("OPTIN and OPTOUT are not compatible with BCAST");
    if (opts.optin && opts.optout) return reply.error("You can't specify both OPTIN mode and OPTOUT mode");
    if (st?.on && ((opts.optin && st.optout) || (opts.optout && st.optin))) {
      return reply.error("You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.");
    }
    if (opts.bcast) {
      const collision = tracking.prefixCollision(client, prefixes);
      if (collision !== null) return reply.error(collision);
    }
    tracking.enable(client, Number(redirect), opts, prefixes);
  } else if (mode === "off") {
    tracking.disable(client);
  } else {
    return reply.error(ERR.syntax);
  }
  reply.ok();
}

function clientCaching(ctx: CommandContext): void {
  const { server, client, argv, reply } = ctx;
  const st = trackingOf(server).stateOf(client);
  if (!st?.on) {
    return reply.error("CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled");
  }
  const opt = argv[2].toString("latin1").toLowerCase();
  if (opt === "yes") {
    if (!st.optin) return reply.error("CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
  } else if (opt === "no") {
    if (!st.optout) return reply.error("CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
  } else {
    return reply.error(ERR.syntax);
  }
  st.caching = true;
  reply.ok();
}

function clientTrackingInfo(ctx: CommandContext): void {
  const { server, client, reply } = ctx;
  const st = trackingOf(server).stateOf(client);
  const on = st?.on ?? false;
  const flags = [on ? "on" : "off"];
  if (st?.on) {
    if (st.bcast) flags.push("bcast");
    if (st.optin) {
      flags.push("optin");
      if (st.caching) flags.push("caching-yes");
    }
    if (st.optout) {
      flags.push("optout");
      if (st.caching) flags.push("caching-no");
    }
    if (st.noloop) flags.push("noloop");
    if (st.brokenRedirect) flags.push("broken_redirect");
  }
  reply.mapLen(3);
  reply.bulk("flags");
  reply.setLen(flags.length);
  for (const f of flags) reply.bulk(f);
  reply.bulk("redirect");
  reply.integer(on ? st!.redirect : -1);
  reply.bulk("prefixes");
  const prefixes = st ? [...st.prefixes].sort() : [];
  reply.arrayLen(prefixes.length);
  for (const p of prefixes) reply.bulk(Buffer.from(p, "latin1"));
}

export function registerTrackingCommands(t: CommandTable): void {
  t.define("client|tracking", clientTracking);
  t.define("client|caching", clientCaching);
  t.define("client|getredir", ({ server, client, reply }) => {
    const st = trackingOf(server).stateOf(client);
    reply.integer(st?.on ? st.redirect : -1);
  });
  t.define("client|trackinginfo", clientTrackingInfo);
}
