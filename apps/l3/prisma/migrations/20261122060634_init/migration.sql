-- CreateTable
CREATE TABLE "projection_checkpoints" (
    "name" TEXT NOT NULL,
    "sequence" BIGINT NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "projection_checkpoints_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "routers" (
    "id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "admin_state_up" BOOLEAN NOT NULL,
    "status" TEXT NOT NULL,
    "ha" BOOLEAN NOT NULL,
    "distributed" BOOLEAN NOT NULL,
    "nat_exclusions" TEXT[],
    "gateway_network_id" TEXT,
    "gateway_port_id" TEXT,
    "enable_snat" BOOLEAN NOT NULL,
    "gateway_fixed_ips" JSONB NOT NULL,
    "routes" JSONB NOT NULL,
    "host" TEXT,
    "row" TEXT,
    "revision_number" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "routers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "router_interfaces" (
    "port_id" TEXT NOT NULL,
    "router_id" TEXT NOT NULL,
    "network_id" TEXT NOT NULL,
    "fixed_ips" JSONB NOT NULL,

    CONSTRAINT "router_interfaces_pkey" PRIMARY KEY ("port_id")
);

-- CreateTable
CREATE TABLE "floating_ips" (
    "id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "floating_network_id" TEXT NOT NULL,
    "floating_port_id" TEXT NOT NULL,
    "subnet_id" TEXT NOT NULL,
    "floating_ip_address" TEXT NOT NULL,
    "port_id" TEXT,
    "fixed_ip_address" TEXT,
    "router_id" TEXT,
    "status" TEXT NOT NULL,
    "revision_number" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "floating_ips_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ipam_networks" (
    "id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "external" BOOLEAN NOT NULL,
    "shared" BOOLEAN NOT NULL,
    "network_type" TEXT NOT NULL,
    "physical_network" TEXT,

    CONSTRAINT "ipam_networks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ipam_subnets" (
    "id" TEXT NOT NULL,
    "network_id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "ip_version" INTEGER NOT NULL,
    "cidr" TEXT NOT NULL,
    "gateway_ip" TEXT,
    "address_scope_id" TEXT,

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
    "binding_host_id" TEXT NOT NULL,
    "fixed_ips" JSONB NOT NULL,

    CONSTRAINT "ipam_ports_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "agents" (
    "id" TEXT NOT NULL,
    "row" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "roles" TEXT[],
    "tunnel_ip" TEXT NOT NULL,
    "physnets" JSONB NOT NULL,

    CONSTRAINT "agents_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "routers_project_id_idx" ON "routers"("project_id");

-- CreateIndex
CREATE INDEX "routers_host_idx" ON "routers"("host");

-- CreateIndex
CREATE INDEX "router_interfaces_router_id_idx" ON "router_interfaces"("router_id");

-- CreateIndex
CREATE INDEX "floating_ips_project_id_idx" ON "floating_ips"("project_id");

-- CreateIndex
CREATE INDEX "floating_ips_router_id_idx" ON "floating_ips"("router_id");

-- CreateIndex
CREATE INDEX "floating_ips_port_id_idx" ON "floating_ips"("port_id");

-- CreateIndex
CREATE INDEX "ipam_subnets_network_id_idx" ON "ipam_subnets"("network_id");

-- CreateIndex
CREATE INDEX "ipam_ports_network_id_idx" ON "ipam_ports"("network_id");

-- CreateIndex
CREATE INDEX "ipam_ports_device_id_idx" ON "ipam_ports"("device_id");

-- CreateIndex
CREATE UNIQUE INDEX "agents_host_key" ON "agents"("host");

-- AddForeignKey
ALTER TABLE "router_interfaces" ADD CONSTRAINT "router_interfaces_router_id_fkey" FOREIGN KEY ("router_id") REFERENCES "routers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
