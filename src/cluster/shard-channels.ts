// Shard channels follow their slot (Redis 7.0's removeChannelsInSlot): when a slot stops being
// served by this node's shard (its master and replicas: SETSLOT NODE after a migration, a
// newer owner's claim, CLUSTER DELSLOTS / RESET), every client subscribed here to a shard
// channel of that slot is unsubscribed from it and told so with a "sunsubscribe" push, so it
// can SSUBSCRIBE again where the slot went. The slots are collected and handled once per
// turn of the event loop (a resharding moves thousands).
import type { Server } from "../server/server.js";
import { keySlot } from "../server/router.js";
import { encodePush } from "../pubsub/pubsub.js";

export class ShardChannelEviction {
  private readonly lost = new Set<number>();
  private scheduled = false;

  constructor(private readonly server: Server) {}

  /** The slot left this node's shard. */
  slotLost(slot: number): void {
    if (this.server.pubsub.shardChannels.size === 0) return;
    this.lost.add(slot);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.run());
  }

  private run(): void {
    this.scheduled = false;
    const lost = new Set(this.lost);
    this.lost.clear();
    const ps = this.server.pubsub;
    for (const [name, subs] of [...ps.shardChannels]) {
      const channel = Buffer.from(name, "latin1");
      if (!lost.has(keySlot(channel))) continue;
      for (const c of [...subs]) {
        ps.unsubscribe(c, "shard", channel);
        c.writePush(encodePush(c.resp >= 3 ? ">" : "*", [Buffer.from("sunsubscribe"), channel, ps.shardSubscriptionCount(c)], c.resp));
      }
    }
  }
}
