-- CreateTable
CREATE TABLE "rbac_policies" (
    "id" TEXT NOT NULL,
    "object_type" TEXT NOT NULL,
    "object_id" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target_project" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "network_id" TEXT,
    "subnet_pool_id" TEXT,
    "address_scope_id" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "rbac_policies_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "rbac_policies_object_id_idx" ON "rbac_policies"("object_id");

-- CreateIndex
CREATE INDEX "rbac_policies_project_id_idx" ON "rbac_policies"("project_id");

-- CreateIndex
CREATE INDEX "rbac_policies_target_project_idx" ON "rbac_policies"("target_project");

-- AddForeignKey
ALTER TABLE "rbac_policies" ADD CONSTRAINT "rbac_policies_network_id_fkey" FOREIGN KEY ("network_id") REFERENCES "networks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "rbac_policies" ADD CONSTRAINT "rbac_policies_subnet_pool_id_fkey" FOREIGN KEY ("subnet_pool_id") REFERENCES "subnet_pools"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "rbac_policies" ADD CONSTRAINT "rbac_policies_address_scope_id_fkey" FOREIGN KEY ("address_scope_id") REFERENCES "address_scopes"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Networks, subnet pools and address scopes shared (or external) before this migration have
-- their entries in the event stream only: the ipam projection is rebuilt from the stream.
TRUNCATE port_fixed_ips, ports, subnets, networks, subnet_pool_allocations, subnet_pools, address_scope_claims, address_scopes, segment_reservations, default_subnet_pools, bulk_creates, rbac_policies;
DELETE FROM "projection_checkpoints" WHERE "name" = 'ipam';
