-- CreateTable
CREATE TABLE "projection_checkpoints" (
    "name" TEXT NOT NULL,
    "sequence" BIGINT NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "projection_checkpoints_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "dhcp_servers" (
    "network_id" TEXT NOT NULL,
    "host" TEXT,
    "row" TEXT,
    "pinned" BOOLEAN NOT NULL DEFAULT false,
    "port_id" TEXT,
    "status" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "dhcp_servers_pkey" PRIMARY KEY ("network_id")
);

-- CreateTable
CREATE TABLE "ipam_networks" (
    "id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "mtu" INTEGER NOT NULL,
    "network_type" TEXT NOT NULL,
    "physical_network" TEXT,

    CONSTRAINT "ipam_networks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ipam_subnets" (
    "id" TEXT NOT NULL,
    "network_id" TEXT NOT NULL,
    "ip_version" INTEGER NOT NULL,
    "cidr" TEXT NOT NULL,
    "gateway_ip" TEXT,
    "enable_dhcp" BOOLEAN NOT NULL,
    "ipv6_ra_mode" TEXT,
    "ipv6_address_mode" TEXT,
    "dns_nameservers" TEXT[],
    "host_routes" JSONB NOT NULL,

    CONSTRAINT "ipam_subnets_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ipam_ports" (
    "id" TEXT NOT NULL,
    "network_id" TEXT NOT NULL,
    "mac_address" TEXT NOT NULL,
    "admin_state_up" BOOLEAN NOT NULL,
    "device_owner" TEXT NOT NULL,
    "device_id" TEXT NOT NULL,
    "binding_host_id" TEXT NOT NULL,
    "binding_profile" JSONB NOT NULL,
    "fixed_ips" JSONB NOT NULL,
    "extra_dhcp_opts" JSONB NOT NULL,

    CONSTRAINT "ipam_ports_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "agents" (
    "id" TEXT NOT NULL,
    "row" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "roles" TEXT[],
    "physnets" JSONB NOT NULL,

    CONSTRAINT "agents_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "dhcp_servers_host_idx" ON "dhcp_servers"("host");

-- CreateIndex
CREATE INDEX "ipam_subnets_network_id_idx" ON "ipam_subnets"("network_id");

-- CreateIndex
CREATE INDEX "ipam_ports_network_id_idx" ON "ipam_ports"("network_id");

-- CreateIndex
CREATE INDEX "ipam_ports_device_owner_idx" ON "ipam_ports"("device_owner");

-- CreateIndex
CREATE UNIQUE INDEX "agents_host_key" ON "agents"("host");
