-- AlterTable
ALTER TABLE "ports" ADD COLUMN     "extra_dhcp_opts" JSONB NOT NULL DEFAULT '[]';
