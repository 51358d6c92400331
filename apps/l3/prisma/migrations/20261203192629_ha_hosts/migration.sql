-- AlterTable
ALTER TABLE "routers" ADD COLUMN     "ha_vrid" INTEGER;

-- CreateTable
CREATE TABLE "router_ha_hosts" (
    "router_id" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "row" TEXT NOT NULL,
    "ha_port_id" TEXT NOT NULL,
    "ha_state" TEXT,

    CONSTRAINT "router_ha_hosts_pkey" PRIMARY KEY ("router_id","host")
);

-- CreateIndex
CREATE INDEX "router_ha_hosts_host_idx" ON "router_ha_hosts"("host");

-- AddForeignKey
ALTER TABLE "router_ha_hosts" ADD CONSTRAINT "router_ha_hosts_router_id_fkey" FOREIGN KEY ("router_id") REFERENCES "routers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
