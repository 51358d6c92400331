-- AlterTable
ALTER TABLE "ipam_ports" ADD COLUMN     "created_by_l3" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "router_floating_ips" (
    "floating_ip_id" TEXT NOT NULL,
    "router_id" TEXT NOT NULL,
    "fixed_ip_address" TEXT NOT NULL,
    "subnet_id" TEXT NOT NULL,

    CONSTRAINT "router_floating_ips_pkey" PRIMARY KEY ("floating_ip_id")
);

-- CreateIndex
CREATE INDEX "router_floating_ips_router_id_idx" ON "router_floating_ips"("router_id");

-- CreateIndex
CREATE INDEX "ipam_ports_device_owner_idx" ON "ipam_ports"("device_owner");

-- AddForeignKey
ALTER TABLE "router_floating_ips" ADD CONSTRAINT "router_floating_ips_router_id_fkey" FOREIGN KEY ("router_id") REFERENCES "routers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
