-- CreateTable
CREATE TABLE "projection_checkpoints" (
    "name" TEXT NOT NULL,
    "sequence" BIGINT NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "projection_checkpoints_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "instances" (
    "id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "hostname" TEXT NOT NULL,
    "availability_zone" TEXT NOT NULL,
    "public_keys" JSONB NOT NULL,
    "user_data" TEXT,
    "metadata" JSONB NOT NULL,
    "vendor_data" JSONB NOT NULL,
    "revision_number" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "instances_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ipam_networks" (
    "id" TEXT NOT NULL,
    "mtu" INTEGER NOT NULL,

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
    "ipv6_address_mode" TEXT,
    "dns_nameservers" TEXT[],
    "host_routes" JSONB NOT NULL,

    CONSTRAINT "ipam_subnets_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ipam_ports" (
    "id" TEXT NOT NULL,
    "network_id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "mac_address" TEXT NOT NULL,
    "device_owner" TEXT NOT NULL,
    "device_id" TEXT NOT NULL,
    "fixed_ips" JSONB NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ipam_ports_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "routers" (
    "id" TEXT NOT NULL,
    "host" TEXT,
    "row" TEXT,

    CONSTRAINT "routers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "router_interfaces" (
    "port_id" TEXT NOT NULL,
    "router_id" TEXT NOT NULL,
    "network_id" TEXT NOT NULL,

    CONSTRAINT "router_interfaces_pkey" PRIMARY KEY ("port_id")
);

-- CreateTable
CREATE TABLE "floating_ips" (
    "id" TEXT NOT NULL,
    "floating_ip_address" TEXT NOT NULL,
    "port_id" TEXT,
    "fixed_ip_address" TEXT,

    CONSTRAINT "floating_ips_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dhcp_servers" (
    "network_id" TEXT NOT NULL,
    "host" TEXT,
    "row" TEXT,
    "port_id" TEXT,

    CONSTRAINT "dhcp_servers_pkey" PRIMARY KEY ("network_id")
);

-- CreateIndex
CREATE INDEX "instances_project_id_idx" ON "instances"("project_id");

-- CreateIndex
CREATE INDEX "ipam_subnets_network_id_idx" ON "ipam_subnets"("network_id");

-- CreateIndex
CREATE INDEX "ipam_ports_network_id_idx" ON "ipam_ports"("network_id");

-- CreateIndex
CREATE INDEX "ipam_ports_device_id_idx" ON "ipam_ports"("device_id");

-- CreateIndex
CREATE INDEX "router_interfaces_router_id_idx" ON "router_interfaces"("router_id");

-- CreateIndex
CREATE INDEX "router_interfaces_network_id_idx" ON "router_interfaces"("network_id");

-- CreateIndex
CREATE INDEX "floating_ips_port_id_idx" ON "floating_ips"("port_id");
