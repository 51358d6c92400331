-- CreateTable
CREATE TABLE "ipam_network_rbac" (
    "id" TEXT NOT NULL,
    "network_id" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target_project" TEXT NOT NULL,

    CONSTRAINT "ipam_network_rbac_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ipam_network_rbac_network_id_idx" ON "ipam_network_rbac"("network_id");

-- The mirror learns the entries of networks made before this migration from the stream: the l3
-- projection is rebuilt from it.
TRUNCATE router_floating_ips, router_interfaces, routers, floating_ips, ipam_networks, ipam_network_rbac, ipam_subnets, ipam_ports, agents, fact_mirror, quota_limits;
DELETE FROM "projection_checkpoints" WHERE "name" = 'l3';
