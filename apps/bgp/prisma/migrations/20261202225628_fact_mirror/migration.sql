-- CreateTable
CREATE TABLE "fact_mirror" (
    "key" TEXT NOT NULL,
    "state" JSONB NOT NULL,

    CONSTRAINT "fact_mirror_pkey" PRIMARY KEY ("key")
);

-- The mirror rows are made from "fact_mirror" now, which only a replay of the stream fills:
-- the projection starts again from sequence 1 with its tables emptied, as a rebuild does.
TRUNCATE bgp_speakers, bgp_peers, bgp_sessions, ipam_networks, ipam_subnets, routers, router_interfaces, floating_ips, agents;
DELETE FROM "parked_events" WHERE "projection" = 'bgp';
UPDATE "projection_checkpoints" SET "sequence" = 0, "updated_at" = now() WHERE "name" = 'bgp';
