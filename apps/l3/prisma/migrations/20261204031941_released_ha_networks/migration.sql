-- CreateTable
CREATE TABLE "released_ha_networks" (
    "network_id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,

    CONSTRAINT "released_ha_networks_pkey" PRIMARY KEY ("network_id")
);
