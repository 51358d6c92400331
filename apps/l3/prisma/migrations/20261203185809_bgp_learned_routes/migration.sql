-- CreateTable
CREATE TABLE "bgp_speakers" (
    "id" TEXT NOT NULL,
    "network_ids" TEXT[],

    CONSTRAINT "bgp_speakers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "bgp_learned_routes" (
    "speaker_id" TEXT NOT NULL,
    "peer_id" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "destination" TEXT NOT NULL,
    "next_hop" TEXT NOT NULL,
    "as_path_length" INTEGER NOT NULL,
    "med" BIGINT,
    "local_pref" BIGINT,

    CONSTRAINT "bgp_learned_routes_pkey" PRIMARY KEY ("speaker_id","peer_id","host","destination","next_hop")
);

-- CreateIndex
CREATE INDEX "bgp_learned_routes_speaker_id_idx" ON "bgp_learned_routes"("speaker_id");

-- L3 learns the speakers' networks and learned routes from BGP's events, those recorded before
-- this migration included: the l3 projection is rebuilt from the stream.
TRUNCATE router_floating_ips, router_interfaces, routers, floating_ips, ipam_networks, ipam_network_rbac, ipam_subnets, ipam_ports, agents, fact_mirror, quota_limits;
DELETE FROM "parked_events" WHERE "projection" = 'l3';
DELETE FROM "projection_checkpoints" WHERE "name" = 'l3';
