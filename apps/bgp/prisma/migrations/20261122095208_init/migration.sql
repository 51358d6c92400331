-- CreateTable
CREATE TABLE "projection_checkpoints" (
    "name" TEXT NOT NULL,
    "sequence" BIGINT NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "projection_checkpoints_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "bgp_speakers" (
    "id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "local_as" BIGINT NOT NULL,
    "ip_version" INTEGER,
    "advertise_floating_ip_host_routes" BOOLEAN NOT NULL,
    "advertise_tenant_networks" BOOLEAN NOT NULL,
    "peer_ids" TEXT[],
    "network_ids" TEXT[],
    "hosts" JSONB NOT NULL,
    "revision_number" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "bgp_speakers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "bgp_peers" (
    "id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "peer_ip" TEXT NOT NULL,
    "remote_as" BIGINT NOT NULL,
    "auth_type" TEXT NOT NULL,
    "password" TEXT,
    "revision_number" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "bgp_peers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "bgp_sessions" (
    "speaker_id" TEXT NOT NULL,
    "peer_id" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "since" TIMESTAMP(3),
    "prefixes_sent" INTEGER,
    "last_error" TEXT,
    "reported_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "bgp_sessions_pkey" PRIMARY KEY ("speaker_id","peer_id","host")
);

-- CreateTable
CREATE TABLE "ipam_networks" (
    "id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "external" BOOLEAN NOT NULL,

    CONSTRAINT "ipam_networks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ipam_subnets" (
    "id" TEXT NOT NULL,
    "network_id" TEXT NOT NULL,
    "ip_version" INTEGER NOT NULL,
    "cidr" TEXT NOT NULL,
    "address_scope_id" TEXT,

    CONSTRAINT "ipam_subnets_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "routers" (
    "id" TEXT NOT NULL,
    "gateway_network_id" TEXT,
    "gateway_fixed_ips" JSONB NOT NULL,

    CONSTRAINT "routers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "router_interfaces" (
    "port_id" TEXT NOT NULL,
    "router_id" TEXT NOT NULL,
    "fixed_ips" JSONB NOT NULL,

    CONSTRAINT "router_interfaces_pkey" PRIMARY KEY ("port_id")
);

-- CreateTable
CREATE TABLE "floating_ips" (
    "id" TEXT NOT NULL,
    "floating_network_id" TEXT NOT NULL,
    "floating_ip_address" TEXT NOT NULL,
    "fixed_ip_address" TEXT,
    "router_id" TEXT,

    CONSTRAINT "floating_ips_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "agents" (
    "id" TEXT NOT NULL,
    "row" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "roles" TEXT[],
    "tunnel_ip" TEXT NOT NULL,

    CONSTRAINT "agents_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "bgp_speakers_project_id_idx" ON "bgp_speakers"("project_id");

-- CreateIndex
CREATE INDEX "bgp_peers_project_id_idx" ON "bgp_peers"("project_id");

-- CreateIndex
CREATE INDEX "bgp_sessions_peer_id_idx" ON "bgp_sessions"("peer_id");

-- CreateIndex
CREATE INDEX "ipam_subnets_network_id_idx" ON "ipam_subnets"("network_id");

-- CreateIndex
CREATE INDEX "router_interfaces_router_id_idx" ON "router_interfaces"("router_id");

-- CreateIndex
CREATE UNIQUE INDEX "agents_host_key" ON "agents"("host");
