-- CreateTable
CREATE TABLE "projection_checkpoints" (
    "name" TEXT NOT NULL,
    "sequence" BIGINT NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "projection_checkpoints_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "aggregate_snapshots" (
    "subject" TEXT NOT NULL,
    "sequence" BIGINT NOT NULL,
    "version" INTEGER NOT NULL,
    "state" JSONB NOT NULL,
    "saved_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "aggregate_snapshots_pkey" PRIMARY KEY ("subject")
);

-- CreateTable
CREATE TABLE "address_scopes" (
    "id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "ip_version" INTEGER NOT NULL,
    "shared" BOOLEAN NOT NULL,
    "revision_number" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "address_scopes_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "address_scope_claims" (
    "address_scope_id" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "subnet_pool_id" TEXT NOT NULL,
    "claimed_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "address_scope_claims_pkey" PRIMARY KEY ("address_scope_id","prefix")
);

-- CreateTable
CREATE TABLE "subnet_pools" (
    "id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "ip_version" INTEGER NOT NULL,
    "prefixes" TEXT[],
    "default_prefixlen" INTEGER NOT NULL,
    "min_prefixlen" INTEGER NOT NULL,
    "max_prefixlen" INTEGER NOT NULL,
    "default_quota" INTEGER,
    "shared" BOOLEAN NOT NULL,
    "is_default" BOOLEAN NOT NULL,
    "address_scope_id" TEXT,
    "revision_number" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "subnet_pools_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "subnet_pool_allocations" (
    "subnet_id" TEXT NOT NULL,
    "subnet_pool_id" TEXT NOT NULL,
    "network_id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "cidr" TEXT NOT NULL,
    "allocated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "subnet_pool_allocations_pkey" PRIMARY KEY ("subnet_id")
);

-- CreateTable
CREATE TABLE "segment_reservations" (
    "network_id" TEXT NOT NULL,
    "network_type" TEXT NOT NULL,
    "physical_network" TEXT,
    "segmentation_id" INTEGER,
    "reserved_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "segment_reservations_pkey" PRIMARY KEY ("network_id")
);

-- CreateTable
CREATE TABLE "default_subnet_pools" (
    "ip_version" INTEGER NOT NULL,
    "subnet_pool_id" TEXT NOT NULL,
    "claimed_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "default_subnet_pools_pkey" PRIMARY KEY ("ip_version")
);

-- CreateTable
CREATE TABLE "networks" (
    "id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "admin_state_up" BOOLEAN NOT NULL,
    "shared" BOOLEAN NOT NULL,
    "external" BOOLEAN NOT NULL,
    "mtu" INTEGER NOT NULL,
    "port_security_enabled" BOOLEAN NOT NULL,
    "network_type" TEXT NOT NULL,
    "physical_network" TEXT,
    "segmentation_id" INTEGER,
    "status" TEXT NOT NULL,
    "revision_number" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "networks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "subnets" (
    "id" TEXT NOT NULL,
    "network_id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "ip_version" INTEGER NOT NULL,
    "cidr" TEXT NOT NULL,
    "gateway_ip" TEXT,
    "allocation_pools" JSONB NOT NULL,
    "enable_dhcp" BOOLEAN NOT NULL,
    "dns_nameservers" TEXT[],
    "host_routes" JSONB NOT NULL,
    "ipv6_ra_mode" TEXT,
    "ipv6_address_mode" TEXT,
    "subnetpool_id" TEXT,
    "address_scope_id" TEXT,
    "service_types" TEXT[],
    "network_shared" BOOLEAN NOT NULL,
    "revision_number" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "subnets_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ports" (
    "id" TEXT NOT NULL,
    "network_id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "network_project_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "admin_state_up" BOOLEAN NOT NULL,
    "mac_address" TEXT NOT NULL,
    "device_owner" TEXT NOT NULL,
    "device_id" TEXT NOT NULL,
    "binding_host_id" TEXT NOT NULL,
    "binding_profile" JSONB NOT NULL,
    "binding_vnic_type" TEXT NOT NULL,
    "port_security_enabled" BOOLEAN NOT NULL,
    "security_groups" TEXT[],
    "allowed_address_pairs" JSONB NOT NULL,
    "status" TEXT NOT NULL,
    "revision_number" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ports_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "port_fixed_ips" (
    "port_id" TEXT NOT NULL,
    "subnet_id" TEXT NOT NULL,
    "ip_address" TEXT NOT NULL,
    "position" INTEGER NOT NULL,

    CONSTRAINT "port_fixed_ips_pkey" PRIMARY KEY ("port_id","subnet_id","ip_address")
);

-- CreateIndex
CREATE INDEX "address_scopes_project_id_idx" ON "address_scopes"("project_id");

-- CreateIndex
CREATE INDEX "address_scope_claims_subnet_pool_id_idx" ON "address_scope_claims"("subnet_pool_id");

-- CreateIndex
CREATE INDEX "subnet_pools_project_id_idx" ON "subnet_pools"("project_id");

-- CreateIndex
CREATE INDEX "subnet_pool_allocations_subnet_pool_id_idx" ON "subnet_pool_allocations"("subnet_pool_id");

-- CreateIndex
CREATE INDEX "networks_project_id_idx" ON "networks"("project_id");

-- CreateIndex
CREATE INDEX "subnets_network_id_idx" ON "subnets"("network_id");

-- CreateIndex
CREATE INDEX "subnets_project_id_idx" ON "subnets"("project_id");

-- CreateIndex
CREATE INDEX "ports_network_id_idx" ON "ports"("network_id");

-- CreateIndex
CREATE INDEX "ports_project_id_idx" ON "ports"("project_id");

-- CreateIndex
CREATE INDEX "ports_device_id_idx" ON "ports"("device_id");

-- CreateIndex
CREATE UNIQUE INDEX "port_fixed_ips_subnet_id_ip_address_key" ON "port_fixed_ips"("subnet_id", "ip_address");

-- AddForeignKey
ALTER TABLE "subnets" ADD CONSTRAINT "subnets_network_id_fkey" FOREIGN KEY ("network_id") REFERENCES "networks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "port_fixed_ips" ADD CONSTRAINT "port_fixed_ips_port_id_fkey" FOREIGN KEY ("port_id") REFERENCES "ports"("id") ON DELETE CASCADE ON UPDATE CASCADE;
